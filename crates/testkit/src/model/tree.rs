//! The model of a whole tree: a root supervisor, at most one level of
//! nested supervisors, and the predicted effects of each operation.

use std::time::Duration;

use arbor_process::ExitReason;
use arbor_supervisor::{ChildCounts, Restart};
use tokio::time::Instant;

use super::config::{SpecConfig, SupConfig};
use super::expect::{Expect, Reply};
use super::op::{Action, ApiCall, Op};
use super::sup::{ChildModel, ChildModelState, Flow, SupModel, shutdown, start_spec};
use crate::Crash;

/// Where a running probe is.
#[derive(Debug, Clone, Copy)]
enum Loc {
    Root(usize),
    Nested(usize, usize),
    Dyn(usize),
}

/// The model of a tree, and the predicted effects of the last operation.
#[derive(Debug, Clone)]
pub struct TreeModel {
    /// The root's configuration.
    pub config: SupConfig,
    /// Specs `start_child` may add (by index), besides the initial ones.
    pub pool: Vec<SpecConfig>,
    /// The root supervisor.
    pub root: SupModel,
    /// Whether the root is alive (it dies by giving up).
    pub alive: bool,
    /// Time since the start.
    pub now: Duration,
    base: Instant,
    next_arg: u32,
    /// The last operation, resolved.
    pub action: Action,
    /// The last API call's result.
    pub reply: Reply,
    /// The log lines the last operation produces (for a new model: the
    /// initial starts).
    pub log: Vec<Expect>,
}

impl TreeModel {
    /// Starts the root with `config`; `pool` lists the specs
    /// `Op::StartChild` may use (ids may repeat initial ones).
    pub fn new(config: SupConfig, pool: Vec<SpecConfig>) -> TreeModel {
        let mut log = Vec::new();
        let root = SupModel::start(&config, &mut log);
        TreeModel {
            config,
            pool,
            root,
            alive: true,
            now: Duration::ZERO,
            base: Instant::now(),
            next_arg: 0,
            action: Action::Noop,
            reply: Reply::None,
            log,
        }
    }

    fn instant(&self) -> Instant {
        self.base + self.now
    }

    /// Running probes: root workers, nested workers, dynamic children.
    fn running(&self) -> Vec<(Loc, String)> {
        let mut out = Vec::new();
        for (i, c) in self.root.children.iter().enumerate() {
            if let ChildModelState::Running(None) = &c.state {
                out.push((Loc::Root(i), c.spec.id.clone()));
            }
        }
        for (n, c) in self.root.children.iter().enumerate() {
            if let ChildModelState::Running(Some(sup)) = &c.state {
                for (i, w) in sup.children.iter().enumerate() {
                    if w.is_running() {
                        out.push((Loc::Nested(n, i), w.spec.id.clone()));
                    }
                }
            }
        }
        for (i, t) in self.root.dynamic.iter().enumerate() {
            out.push((Loc::Dyn(i), t.clone()));
        }
        out
    }

    /// The first running nested supervisor: its index and model.
    pub fn nested(&self) -> Option<(usize, &SupModel)> {
        self.root
            .children
            .iter()
            .enumerate()
            .find_map(|(i, c)| match &c.state {
                ChildModelState::Running(Some(s)) => Some((i, &**s)),
                _ => None,
            })
    }

    fn root_exit(&mut self, flow: Flow) {
        if let Flow::Exit(_) = flow {
            self.alive = false;
        }
    }

    /// Applies `op`, setting [`action`](Self::action),
    /// [`reply`](Self::reply) and [`log`](Self::log).
    pub fn apply(&mut self, op: &Op) {
        self.action = Action::Noop;
        self.reply = Reply::None;
        let mut log = Vec::new();
        self.step(op, &mut log);
        // Queued retries run after the step's requests (the test lets them
        // finish before it looks).
        if self.alive {
            let now = self.instant();
            let flow = self.root.run_retries(now, &mut log);
            self.root_exit(flow);
        }
        self.log = log;
    }

    fn step(&mut self, op: &Op, log: &mut Vec<Expect>) {
        let now = self.instant();
        match op {
            Op::Advance(d) => {
                self.now += *d;
                self.action = Action::Advance(*d);
            }
            _ if !self.alive => self.dead_api(op),
            Op::Crash { target, crash } => {
                let running = self.running();
                if running.is_empty() {
                    return;
                }
                let (loc, tag) = running[target % running.len()].clone();
                let reason = crash.reason();
                match crash {
                    Crash::Kill => {}
                    Crash::Panic => log.push(Expect::Line(format!("panic {tag}"))),
                    _ => log.push(Expect::Line(format!("exit {tag} {reason}"))),
                }
                self.action = Action::Crash { tag, crash: *crash };
                let flow = match loc {
                    Loc::Root(i) => self.root.child_exited(i, &reason, now, log),
                    Loc::Dyn(i) => self.root.dynamic_exited(i, &reason, now, log),
                    Loc::Nested(n, i) => {
                        let inner = match &mut self.root.children[n].state {
                            ChildModelState::Running(Some(sup)) => {
                                sup.child_exited(i, &reason, now, log)
                            }
                            _ => Flow::Continue,
                        };
                        match inner {
                            Flow::Continue => Flow::Continue,
                            Flow::Exit(r) => self.root.child_exited(n, &r, now, log),
                        }
                    }
                };
                self.root_exit(flow);
            }
            Op::KillNested => {
                let Some((n, sup)) = self.nested() else {
                    return;
                };
                let workers: Vec<String> = sup
                    .children
                    .iter()
                    .filter(|c| c.is_running())
                    .map(|c| c.spec.id.clone())
                    .collect();
                if !workers.is_empty() {
                    log.push(Expect::Unordered(
                        workers.iter().map(|w| format!("stop {w} killed")).collect(),
                    ));
                }
                self.action = Action::KillNested {
                    id: self.root.children[n].spec.id.clone(),
                    workers,
                };
                let flow = self.root.child_exited(n, &ExitReason::Killed, now, log);
                self.root_exit(flow);
            }
            Op::StartChild { id, restart } => {
                let Some(spec) = self.pool_spec(*id) else {
                    return;
                };
                let action = Action::StartChild(SpecConfig {
                    restart: *restart,
                    ..spec
                });
                self.reply = self.api(&action, log);
                self.action = action;
            }
            Op::TerminateChild { id } => {
                let Some(id) = self.pool_id(*id) else { return };
                let action = Action::TerminateChild(id);
                self.reply = self.api(&action, log);
                self.action = action;
            }
            Op::RestartChild { id } => {
                let Some(id) = self.pool_id(*id) else { return };
                let action = Action::RestartChild(id);
                self.reply = self.api(&action, log);
                self.action = action;
            }
            Op::DeleteChild { id } => {
                let Some(id) = self.pool_id(*id) else { return };
                let action = Action::DeleteChild(id);
                self.reply = self.api(&action, log);
                self.action = action;
            }
            Op::SofoStart => {
                let n = self.next_arg;
                self.next_arg += 1;
                self.action = Action::SofoStart(n);
                self.reply = if self.root.is_simple() {
                    let tag = format!("t:{n}");
                    log.push(Expect::Line(format!("start {tag}")));
                    self.root.dynamic.push(tag);
                    Reply::Started
                } else {
                    Reply::err("not_simple_one_for_one")
                };
            }
            Op::SofoTerminate { target } => {
                if self.root.dynamic.is_empty() {
                    return;
                }
                let tag = self.root.dynamic.remove(target % self.root.dynamic.len());
                log.push(Expect::Line(format!("stop {tag} shutdown")));
                self.action = Action::SofoTerminate(tag);
                self.reply = Reply::Ok;
            }
            Op::FailNext { target, n } => {
                let workers: Vec<usize> = (0..self.root.children.len())
                    .filter(|i| self.root.children[*i].spec.nested.is_none())
                    .collect();
                if workers.is_empty() {
                    return;
                }
                let i = workers[target % workers.len()];
                self.root.children[i].fail = *n;
                self.action = Action::FailNext(self.root.children[i].spec.id.clone(), *n);
            }
            Op::TerminatePid { target } => {
                if self.root.is_simple() {
                    // Every `t:<n>` below `next_arg` was started (the root
                    // is alive, so it always was).
                    if self.next_arg == 0 {
                        return;
                    }
                    let tag = format!("t:{}", *target as u32 % self.next_arg);
                    if let Some(i) = self.root.dynamic.iter().position(|t| *t == tag) {
                        self.root.dynamic.remove(i);
                        log.push(Expect::Line(format!("stop {tag} shutdown")));
                    }
                    self.action = Action::TerminatePid(tag);
                    self.reply = Reply::Ok;
                } else {
                    let running = self.running();
                    if running.is_empty() {
                        return;
                    }
                    let (_, tag) = running[target % running.len()].clone();
                    self.action = Action::TerminatePid(tag);
                    self.reply = Reply::err("not_found");
                }
            }
            Op::CrashAndCall {
                target,
                crash,
                call,
            } => {
                let workers: Vec<usize> = (0..self.root.children.len())
                    .filter(|i| {
                        let c = &self.root.children[*i];
                        c.spec.nested.is_none() && c.is_running()
                    })
                    .collect();
                if workers.is_empty() {
                    return;
                }
                let i = workers[target % workers.len()];
                let spec = self.root.children[i].spec.clone();
                let reason = crash.reason();
                match crash {
                    Crash::Kill => {}
                    Crash::Panic => log.push(Expect::Line(format!("panic {}", spec.id))),
                    _ => log.push(Expect::Line(format!("exit {} {reason}", spec.id))),
                }
                let flow = self.root.child_exited(i, &reason, now, log);
                self.root_exit(flow);
                let api = match call {
                    ApiCall::Start(restart) => Action::StartChild(SpecConfig {
                        restart: *restart,
                        ..spec.clone()
                    }),
                    ApiCall::Terminate => Action::TerminateChild(spec.id.clone()),
                    ApiCall::Restart => Action::RestartChild(spec.id.clone()),
                    ApiCall::Delete => Action::DeleteChild(spec.id.clone()),
                };
                self.reply = if self.alive {
                    self.api(&api, log)
                } else {
                    Reply::err("call")
                };
                self.action = Action::CrashAndCall {
                    tag: spec.id,
                    crash: *crash,
                    call: Box::new(api),
                };
            }
        }
    }

    /// The child API on a live root (docs/otp/supervisor.md#sup-api, with docs/otp/supervisor.md#sup-restarting for a restarting
    /// child).
    fn api(&mut self, action: &Action, log: &mut Vec<Expect>) -> Reply {
        if self.root.is_simple() {
            return Reply::err("simple_one_for_one");
        }
        let id = match action {
            Action::StartChild(spec) => &spec.id,
            Action::TerminateChild(id) | Action::RestartChild(id) | Action::DeleteChild(id) => id,
            _ => return Reply::None,
        };
        let Some(i) = self.root.position(id) else {
            return match action {
                Action::StartChild(spec) => {
                    let state = start_spec(spec, log);
                    self.root.children.push(ChildModel {
                        spec: spec.clone(),
                        state,
                        fail: 0,
                    });
                    Reply::Started
                }
                _ => Reply::err("not_found"),
            };
        };
        let state = match self.root.children[i].state {
            ChildModelState::Running(_) => "running",
            ChildModelState::Restarting => "restarting",
            ChildModelState::Undefined => "undefined",
        };
        match (action, state) {
            (Action::StartChild(_), "running") => Reply::err("already_started"),
            (Action::StartChild(_), _) => Reply::err("already_present"),
            (Action::TerminateChild(_), _) => {
                // A restarting child's queued retry is dropped.
                shutdown(&mut self.root.children[i], log);
                if self.root.children[i].spec.restart == Restart::Temporary {
                    self.root.children.remove(i);
                }
                Reply::Ok
            }
            (Action::RestartChild(_) | Action::DeleteChild(_), "running" | "restarting") => {
                Reply::err(state)
            }
            (Action::RestartChild(_), _) => {
                if self.root.start_at(i, log) {
                    Reply::Started
                } else {
                    // No retry for an API start (docs/otp/supervisor.md#sup-api: `{error,R}`).
                    Reply::err("start_failed:start_failed")
                }
            }
            (Action::DeleteChild(_), _) => {
                self.root.children.remove(i);
                Reply::Ok
            }
            _ => Reply::None,
        }
    }

    /// API calls on a dead root fail with `call`; crashes are no-ops.
    fn dead_api(&mut self, op: &Op) {
        let action = match op {
            Op::StartChild { id, restart } => match self.pool_spec(*id) {
                Some(spec) => Action::StartChild(SpecConfig {
                    restart: *restart,
                    ..spec
                }),
                None => return,
            },
            Op::TerminateChild { id } => match self.pool_id(*id) {
                Some(id) => Action::TerminateChild(id),
                None => return,
            },
            Op::RestartChild { id } => match self.pool_id(*id) {
                Some(id) => Action::RestartChild(id),
                None => return,
            },
            Op::DeleteChild { id } => match self.pool_id(*id) {
                Some(id) => Action::DeleteChild(id),
                None => return,
            },
            Op::SofoStart => {
                let n = self.next_arg;
                self.next_arg += 1;
                Action::SofoStart(n)
            }
            _ => return,
        };
        self.action = action;
        self.reply = Reply::err("call");
    }

    fn pool_spec(&self, i: usize) -> Option<SpecConfig> {
        if self.pool.is_empty() {
            return None;
        }
        Some(self.pool[i % self.pool.len()].clone())
    }

    fn pool_id(&self, i: usize) -> Option<String> {
        self.pool_spec(i).map(|s| s.id)
    }

    /// The root's `which_children` without pids (see
    /// [`child_line`](crate::child_line)), newest first; `None` if dead.
    pub fn which_children(&self) -> Option<Vec<String>> {
        self.alive.then(|| lines(&self.root))
    }

    /// The first running nested supervisor's id and children lines.
    pub fn nested_children(&self) -> Option<(String, Vec<String>)> {
        let (n, sup) = self.nested()?;
        Some((self.root.children[n].spec.id.clone(), lines(sup)))
    }

    /// The root's `count_children`.
    pub fn count_children(&self) -> ChildCounts {
        if self.root.is_simple() {
            let n = self.root.dynamic.len();
            return ChildCounts {
                specs: 1,
                active: n,
                supervisors: 0,
                workers: n,
            };
        }
        let c = &self.root.children;
        let supervisors = c.iter().filter(|c| c.spec.nested.is_some()).count();
        ChildCounts {
            specs: c.len(),
            active: c.iter().filter(|c| c.is_running()).count(),
            supervisors,
            workers: c.len() - supervisors,
        }
    }

    /// Restarts in the current window: root, and the first running nested
    /// supervisor.
    pub fn restarts_in_window(&self) -> (usize, Option<usize>) {
        let now = self.instant();
        (
            self.root.restarts_in_window(now),
            self.nested().map(|(_, s)| s.restarts_in_window(now)),
        )
    }
}

fn lines(sup: &SupModel) -> Vec<String> {
    if sup.is_simple() {
        return sup
            .dynamic
            .iter()
            .map(|_| "-=running".to_string())
            .collect();
    }
    sup.children
        .iter()
        .rev()
        .map(|c| {
            let state = match c.state {
                ChildModelState::Running(_) => "running",
                ChildModelState::Restarting => "restarting",
                ChildModelState::Undefined => "undefined",
            };
            format!("{}={state}", c.spec.id)
        })
        .collect()
}
