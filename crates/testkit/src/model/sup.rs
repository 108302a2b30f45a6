//! One supervisor of the model.

use arbor_process::ExitReason;
use arbor_supervisor::{ExitAction, Restart, RestartWindow, Strategy, SupFlags, exit_action};
use tokio::time::Instant;

use super::tree::{Expect, SpecConfig, SupConfig};

/// A child's predicted state.
#[derive(Debug, Clone)]
pub enum ChildModelState {
    /// Running; for a supervisor child, its own model.
    Running(Option<Box<SupModel>>),
    /// Not running (`undefined`).
    Undefined,
}

/// A static child of the model.
#[derive(Debug, Clone)]
pub struct ChildModel {
    /// Its spec.
    pub spec: SpecConfig,
    /// Running or not.
    pub state: ChildModelState,
}

impl ChildModel {
    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        matches!(self.state, ChildModelState::Running(_))
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
    pub window: RestartWindow,
}

impl SupModel {
    /// Starts a supervisor: its static children left to right.
    pub(crate) fn start(config: &SupConfig, log: &mut Vec<Expect>) -> SupModel {
        let mut sup = SupModel {
            flags: config.flags,
            children: Vec::new(),
            template: config.template,
            dynamic: Vec::new(),
            window: RestartWindow::new(config.flags.intensity, config.flags.period),
        };
        if config.template.is_none() {
            for spec in &config.children {
                let state = start_spec(spec, log);
                sup.children.push(ChildModel {
                    spec: spec.clone(),
                    state,
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

    /// A static child exited by itself with `reason` (§2.6–§2.8).
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
        match exit_action(child.spec.restart, reason) {
            ExitAction::Keep => Flow::Continue,
            ExitAction::Remove => {
                self.children.remove(idx);
                Flow::Continue
            }
            ExitAction::Restart => {
                if self.window.record(now).is_err() {
                    self.terminate_children(log);
                    return Flow::Exit(ExitReason::Shutdown);
                }
                self.restart_static(idx, log);
                Flow::Continue
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
        match exit_action(restart, reason) {
            ExitAction::Keep | ExitAction::Remove => {
                self.dynamic.remove(idx);
                Flow::Continue
            }
            ExitAction::Restart => {
                if self.window.record(now).is_err() {
                    self.dynamic.remove(idx);
                    self.terminate_children(log);
                    return Flow::Exit(ExitReason::Shutdown);
                }
                log.push(Expect::Line(format!("start {}", self.dynamic[idx])));
                Flow::Continue
            }
        }
    }

    fn restart_static(&mut self, idx: usize, log: &mut Vec<Expect>) {
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
            Strategy::SimpleOneForOne => return,
        };
        for i in first..last.min(self.children.len()) {
            if !self.children[i].is_running() {
                let state = start_spec(&self.children[i].spec, log);
                self.children[i].state = state;
            }
        }
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
        ChildModelState::Undefined => {}
    }
}
