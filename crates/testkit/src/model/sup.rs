//! One supervisor of the model.

use std::time::Duration;

use arbor_process::ExitReason;
use arbor_supervisor::{Restart, Strategy, SupFlags};
use tokio::time::Instant;

use super::config::{SpecConfig, SupConfig};
use super::expect::Expect;

/// A child's predicted state.
#[derive(Debug, Clone)]
pub enum ChildModelState {
    /// Running; for a supervisor child, its own model.
    Running(Option<Box<SupModel>>),
    /// Not running (`undefined`).
    Undefined,
    /// Its restart failed; a retry is queued (docs/otp/supervisor.md#sup-restarting).
    Restarting,
}

/// A static child of the model.
#[derive(Debug, Clone)]
pub struct ChildModel {
    /// Its spec.
    pub spec: SpecConfig,
    /// Running or not.
    pub state: ChildModelState,
    /// How many of its next starts fail (a probe's
    /// [`fail_next`](crate::Probe::fail_next); workers only).
    pub fail: u32,
}

impl ChildModel {
    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        matches!(self.state, ChildModelState::Running(_))
    }
}

/// What happens to a child that exited by itself (docs/otp/supervisor.md#sup-child-exit),
/// written from the table rather than taken from the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnExit {
    Restart,
    /// Not restarted; the spec stays (pid `undefined`).
    Keep,
    /// Not restarted; the spec is deleted.
    Remove,
}

fn on_exit(restart: Restart, reason: &ExitReason) -> OnExit {
    let normal = matches!(
        reason,
        ExitReason::Normal | ExitReason::Shutdown | ExitReason::ShutdownWith(_)
    );
    match (restart, normal) {
        (Restart::Permanent, _) => OnExit::Restart,
        (Restart::Transient, true) => OnExit::Keep,
        (Restart::Transient, false) => OnExit::Restart,
        (Restart::Temporary, _) => OnExit::Remove,
    }
}

/// The model's restart history (docs/otp/supervisor.md#sup-intensity with arbor's decision:
/// exact durations, the window `[now - period, now]` inclusive): giving
/// up when a restart makes more than `intensity` restarts in the window.
#[derive(Debug, Clone)]
pub struct Window {
    intensity: u32,
    period: Duration,
    /// Restart times, oldest first.
    restarts: Vec<Instant>,
}

impl Window {
    fn new(intensity: u32, period: Duration) -> Window {
        Window {
            intensity,
            period,
            restarts: Vec::new(),
        }
    }

    /// Records a restart at `now`; `false` means give up.
    fn allow(&mut self, now: Instant) -> bool {
        let period = self.period;
        self.restarts.retain(|t| now.duration_since(*t) <= period);
        self.restarts.push(now);
        self.restarts.len() <= self.intensity as usize
    }

    /// Restarts in the window ending at `now`.
    pub fn count(&self, now: Instant) -> usize {
        self.restarts
            .iter()
            .filter(|t| now.duration_since(**t) <= self.period)
            .count()
    }
}

/// What a supervisor does after handling an exit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Flow {
    Continue,
    /// It terminated its children and exits with this reason.
    Exit(ExitReason),
}

/// The model of one supervisor: static children in start order, or the
/// dynamic children of a simple_one_for_one supervisor (tags, in start
/// order), and its restart window.
#[derive(Debug, Clone)]
pub struct SupModel {
    /// Its flags.
    pub flags: SupFlags,
    /// Static children, in start order.
    pub children: Vec<ChildModel>,
    /// simple_one_for_one: the template's restart type.
    pub template: Option<Restart>,
    /// simple_one_for_one children (their tags), in start order.
    pub dynamic: Vec<String>,
    /// Its restart history.
    pub window: Window,
    /// The static child whose retry is queued, if any.
    pub pending: Option<String>,
}

impl SupModel {
    /// Starts a supervisor: its static children left to right.
    pub(crate) fn start(config: &SupConfig, log: &mut Vec<Expect>) -> SupModel {
        let mut sup = SupModel {
            flags: config.flags,
            children: Vec::new(),
            template: config.template,
            dynamic: Vec::new(),
            window: Window::new(config.flags.intensity, config.flags.period),
            pending: None,
        };
        if config.template.is_none() {
            for spec in &config.children {
                let state = start_spec(spec, log);
                sup.children.push(ChildModel {
                    spec: spec.clone(),
                    state,
                    fail: 0,
                });
            }
        }
        sup
    }

    /// Whether it is simple_one_for_one.
    pub fn is_simple(&self) -> bool {
        self.flags.strategy == Strategy::SimpleOneForOne
    }

    /// Restarts in the window ending at `now`.
    pub fn restarts_in_window(&self, now: Instant) -> usize {
        self.window.count(now)
    }

    /// Index of the static child `id`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.children.iter().position(|c| c.spec.id == id)
    }

    /// Supervisor termination: static children one at a time in reverse
    /// start order; dynamic children all at once (unordered).
    pub(crate) fn terminate_children(&mut self, log: &mut Vec<Expect>) {
        if self.is_simple() {
            let stops = self
                .dynamic
                .drain(..)
                .map(|t| format!("stop {t} shutdown"))
                .collect::<Vec<_>>();
            if !stops.is_empty() {
                log.push(Expect::Unordered(stops));
            }
            return;
        }
        for child in self.children.iter_mut().rev() {
            shutdown(child, log);
        }
    }

    /// A static child exited by itself with `reason` (docs/otp/supervisor.md#sup-child-exit to docs/otp/supervisor.md#sup-strategies).
    pub(crate) fn child_exited(
        &mut self,
        idx: usize,
        reason: &ExitReason,
        now: Instant,
        log: &mut Vec<Expect>,
    ) -> Flow {
        let Some(child) = self.children.get_mut(idx) else {
            return Flow::Continue;
        };
        child.state = ChildModelState::Undefined;
        match on_exit(child.spec.restart, reason) {
            OnExit::Keep => Flow::Continue,
            OnExit::Remove => {
                self.children.remove(idx);
                Flow::Continue
            }
            OnExit::Restart => {
                if !self.window.allow(now) {
                    self.terminate_children(log);
                    return Flow::Exit(ExitReason::Shutdown);
                }
                self.restart_static(idx, log)
            }
        }
    }

    /// A simple_one_for_one child exited by itself.
    pub(crate) fn dynamic_exited(
        &mut self,
        idx: usize,
        reason: &ExitReason,
        now: Instant,
        log: &mut Vec<Expect>,
    ) -> Flow {
        let Some(restart) = self.template else {
            return Flow::Continue;
        };
        if idx >= self.dynamic.len() {
            return Flow::Continue;
        }
        match on_exit(restart, reason) {
            OnExit::Keep | OnExit::Remove => {
                self.dynamic.remove(idx);
                Flow::Continue
            }
            OnExit::Restart => {
                if !self.window.allow(now) {
                    self.dynamic.remove(idx);
                    self.terminate_children(log);
                    return Flow::Exit(ExitReason::Shutdown);
                }
                log.push(Expect::Line(format!("start {}", self.dynamic[idx])));
                Flow::Continue
            }
        }
    }

    /// The strategy's restart of child `idx` (docs/otp/supervisor.md#sup-strategies). A failed start marks
    /// the child restarting and queues a retry (docs/otp/supervisor.md#sup-restarting), which runs after
    /// the requests already queued: see [`run_retries`](Self::run_retries).
    fn restart_static(&mut self, idx: usize, log: &mut Vec<Expect>) -> Flow {
        if let Some(failed) = self.restart_once(idx, log) {
            self.mark_restarting(&failed);
        }
        Flow::Continue
    }

    fn mark_restarting(&mut self, id: &str) {
        if let Some(i) = self.position(id) {
            self.children[i].state = ChildModelState::Restarting;
            self.pending = Some(id.to_string());
        }
    }

    /// Runs the queued retries until none is left: each retry of a child
    /// that is still restarting first goes through the intensity check,
    /// then restarts with the strategy, and may queue the next retry.
    pub(crate) fn run_retries(&mut self, now: Instant, log: &mut Vec<Expect>) -> Flow {
        while let Some(id) = self.pending.take() {
            let Some(idx) = self.position(&id) else {
                continue;
            };
            if !matches!(self.children[idx].state, ChildModelState::Restarting) {
                continue; // e.g. terminated meanwhile: the retry is dropped
            }
            if !self.window.allow(now) {
                self.terminate_children(log);
                return Flow::Exit(ExitReason::Shutdown);
            }
            if let Some(failed) = self.restart_once(idx, log) {
                self.mark_restarting(&failed);
            }
        }
        Flow::Continue
    }

    /// One restart attempt; the id of the child whose start failed (it
    /// stays not running, later ones are not started).
    fn restart_once(&mut self, idx: usize, log: &mut Vec<Expect>) -> Option<String> {
        let (first, last) = match self.flags.strategy {
            Strategy::OneForOne => (idx, idx + 1),
            Strategy::OneForAll => {
                self.terminate_range(0, log);
                (0, self.children.len())
            }
            Strategy::RestForOne => {
                self.terminate_range(idx + 1, log);
                (idx, self.children.len())
            }
            Strategy::SimpleOneForOne => return None,
        };
        for i in first..last.min(self.children.len()) {
            if !self.children[i].is_running() && !self.start_at(i, log) {
                return Some(self.children[i].spec.id.clone());
            }
        }
        None
    }

    /// Starts child `i`; `false` if its start fails (logged `failed id`).
    pub(crate) fn start_at(&mut self, i: usize, log: &mut Vec<Expect>) -> bool {
        let child = &mut self.children[i];
        if child.fail > 0 {
            child.fail -= 1;
            log.push(Expect::Line(format!("failed {}", child.spec.id)));
            return false;
        }
        child.state = start_spec(&child.spec, log);
        true
    }

    /// Stops children `from..` in reverse start order and drops the
    /// temporary ones among them.
    fn terminate_range(&mut self, from: usize, log: &mut Vec<Expect>) {
        let from = from.min(self.children.len());
        for child in self.children[from..].iter_mut().rev() {
            shutdown(child, log);
        }
        let mut i = from;
        while i < self.children.len() {
            if self.children[i].spec.restart == Restart::Temporary {
                self.children.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

/// Starts one spec: a worker logs `start id`; a supervisor starts its
/// children.
pub(crate) fn start_spec(spec: &SpecConfig, log: &mut Vec<Expect>) -> ChildModelState {
    match &spec.nested {
        None => {
            log.push(Expect::Line(format!("start {}", spec.id)));
            ChildModelState::Running(None)
        }
        Some(cfg) => ChildModelState::Running(Some(Box::new(SupModel::start(cfg, log)))),
    }
}

/// Stops one running child with the shutdown protocol (a probe traps
/// exits and logs `stop id shutdown`; a supervisor stops its children).
pub(crate) fn shutdown(child: &mut ChildModel, log: &mut Vec<Expect>) {
    match std::mem::replace(&mut child.state, ChildModelState::Undefined) {
        ChildModelState::Running(None) => {
            log.push(Expect::Line(format!("stop {} shutdown", child.spec.id)));
        }
        ChildModelState::Running(Some(mut sup)) => sup.terminate_children(log),
        ChildModelState::Undefined | ChildModelState::Restarting => {}
    }
}
