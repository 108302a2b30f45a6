//! [`TreeDriver`]: a real supervision tree of probes and the reference
//! [`TreeModel`] run through the same operations, compared after every
//! step; [`check_tree`] runs a whole sequence.
//!
//! Invariants:
//!
//! 1. Every probe worker of the real tree logs into the driver's one
//!    [`LifecycleLog`] under its child id (simple_one_for_one: `t:<n>`),
//!    so a tag names the latest process of that child.
//! 2. After [`TreeDriver::step`] returns, every exit the step caused was
//!    handled: nested supervisors and the root answered a request after
//!    it (or are dead), and no restart retry is pending.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use arbor_process::{ExitReason, Pid, Process, ProcessHandle};
use arbor_supervisor::{
    AutoShutdown, ChildSpec, ChildState, ChildType, IntoSimpleError, SimpleSupervisor,
    StartedChild, Strategy, SupStartError, Supervisor, SupervisorRef,
};
use tokio::runtime::Runtime;

use crate::model::{Action, Op, Reply, SpecConfig, SupConfig, TreeModel, match_log};
use crate::{LifecycleLog, Probe, child_line, hold, paused_runtime, quiet_probe_panics, shape};

/// Why [`check_tree`] or a [`TreeDriver`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeCheckError {
    /// The configuration is outside what the [`model`](crate::model)
    /// covers (nested simple_one_for_one or deeper nesting, auto_shutdown,
    /// a repeated child id).
    #[error("tree not covered by the model: {0}")]
    Unsupported(String),
    /// The real tree did not do what the model predicts.
    #[error("tree and model diverged at step {step} ({action}): {detail}")]
    Diverged {
        /// Operations applied so far, the failing one included (0: the
        /// start).
        step: usize,
        /// The operation as the model resolved it (`{:?}` of [`Action`]).
        action: String,
        /// What differs: expected (the model) and got (the tree).
        detail: String,
    },
}

/// Fails the comparison with both values unless they are equal.
macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($what:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            return Err(format!(
                "{}: expected {:?}, got {:?}",
                format_args!($($what)+),
                want,
                got
            ));
        }
    }};
}

/// Runs the tree `config` of probe workers on a paused clock and applies
/// `ops` to it and to the model one by one; after each, the lifecycle log
/// (every start, exit and stop, in order), the API result, the children of
/// the root and of a nested supervisor with their pids, `count_children`,
/// the restarts in each window and a dead root's exit reason must be what
/// the model predicts: which children restart, with which reasons, and
/// when the root gives up.
///
/// `ops` can be [`Op`]s ([`tree_ops`](crate::tree_ops) generates any) or
/// the `(child index, Crash)` pairs of
/// [`crash_sequence`](crate::crash_sequence). `Op::StartChild` picks from
/// the initial children.
///
/// # Examples
///
/// A property test of a small tree (8 cases unless `ARBOR_MODEL_CASES`
/// says otherwise):
///
/// ```
/// use arbor_supervisor::{Restart::*, Strategy, SupFlags};
/// use arbor_testkit::{check_tree, crash_sequence, model::SupConfig, model_cases};
/// use proptest::prelude::*;
///
/// proptest!(ProptestConfig::with_cases(model_cases(8)), |(crashes in crash_sequence(3, 1..12))| {
///     let tree = SupConfig::new(SupFlags::new(Strategy::RestForOne).intensity(3))
///         .worker("db", Permanent)
///         .worker("cache", Transient)
///         .worker("web", Temporary);
///     check_tree(tree, crashes)?;
/// });
/// ```
///
/// # Errors
///
/// [`TreeCheckError::Unsupported`] for a configuration the model does not
/// cover; [`TreeCheckError::Diverged`] at the first difference.
///
/// # Panics
///
/// If called inside a tokio runtime (it runs its own), or if the runtime
/// cannot be built.
pub fn check_tree<O: Into<Op>>(
    config: SupConfig,
    ops: impl IntoIterator<Item = O>,
) -> Result<(), TreeCheckError> {
    in_scope(&config, true).map_err(TreeCheckError::Unsupported)?;
    let pool = config.children.clone();
    let mut driver = TreeDriver::start(TreeModel::new(config, pool))?;
    for op in ops {
        driver.step(&op.into())?;
    }
    Ok(())
}

/// The number of proptest cases for a model test: `ARBOR_MODEL_CASES` if
/// set to a number, else `default`. Keep `default` small for CI and set
/// the variable for long runs.
pub fn model_cases(default: u32) -> u32 {
    std::env::var("ARBOR_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Probes of the root's static workers, by id (to make their next starts
/// fail).
type Probes = RefCell<HashMap<String, Probe>>;

/// A real supervision tree of [`Probe`]s on its own paused-clock runtime,
/// driven in step with a [`TreeModel`]; every step is compared (see
/// [`check_tree`], which is a loop over [`TreeDriver::step`]).
///
/// Use it directly to keep a model of one's own (for example as the
/// system under test of `proptest-state-machine`, with the model as the
/// reference machine) or to look at the tree between steps.
///
/// The root is stopped when the driver is dropped.
///
/// # Examples
///
/// ```
/// use arbor_supervisor::{Restart, Strategy, SupFlags};
/// use arbor_testkit::model::{Op, SupConfig, TreeModel};
/// use arbor_testkit::{Crash, TreeDriver};
///
/// let tree = SupConfig::new(SupFlags::new(Strategy::OneForAll)).worker("a", Restart::Permanent);
/// let mut driver = TreeDriver::start(TreeModel::new(tree, Vec::new())).unwrap();
/// driver.step(&Op::Crash { target: 0, crash: Crash::Custom }).unwrap();
/// driver.step(&Op::Crash { target: 0, crash: Crash::Custom }).unwrap(); // gives up
/// assert!(!driver.model().alive && !driver.root_alive());
/// ```
#[must_use = "dropping the driver stops its tree"]
pub struct TreeDriver {
    rt: Runtime,
    model: TreeModel,
    log: LifecycleLog,
    root: SupervisorRef,
    probes: Probes,
    /// Log index where the current step's lines start.
    cursor: usize,
    steps: usize,
}

// ===== impl TreeDriver =====

impl TreeDriver {
    /// Starts the tree of `model.config` and checks its starts against
    /// the model's.
    ///
    /// # Errors
    ///
    /// [`TreeCheckError::Unsupported`] for a configuration the model does
    /// not cover; [`TreeCheckError::Diverged`] (step 0) if the root fails
    /// to start or starts otherwise than predicted.
    ///
    /// # Panics
    ///
    /// If called inside a tokio runtime, or if the runtime cannot be built.
    pub fn start(model: TreeModel) -> Result<TreeDriver, TreeCheckError> {
        in_scope(&model.config, true).map_err(TreeCheckError::Unsupported)?;
        for spec in &model.pool {
            spec_in_scope(spec).map_err(TreeCheckError::Unsupported)?;
        }
        quiet_probe_panics();
        let rt = paused_runtime();
        let log = LifecycleLog::new();
        let probes = Probes::default();
        let root = match rt.block_on(build_sup(&log, &model.config, Some(&probes)).start()) {
            Ok(root) => root,
            Err(e) => {
                return Err(TreeCheckError::Diverged {
                    step: 0,
                    action: format!("{:?}", model.action),
                    detail: format!("the root failed to start: {e}"),
                });
            }
        };
        let mut driver = TreeDriver {
            rt,
            model,
            log,
            root,
            probes,
            cursor: 0,
            steps: 0,
        };
        let checked = driver.rt.block_on(async {
            match_log(&driver.model.log, &driver.log.lines_from(0))?;
            compare(&driver).await
        });
        driver.finish(checked)?;
        Ok(driver)
    }

    /// Applies `op` to the model, performs what it resolved to on the
    /// real tree, waits until the tree has handled every exit it caused,
    /// and compares.
    ///
    /// # Errors
    ///
    /// [`TreeCheckError::Diverged`] at the first difference (the driver
    /// can still be inspected, but further steps compare against a model
    /// that no longer describes the tree).
    pub fn step(&mut self, op: &Op) -> Result<(), TreeCheckError> {
        self.model.apply(op);
        self.steps += 1;
        let checked = self.rt.block_on(async {
            let nested = nested_refs(&self.root).await;
            let reply = perform(self, &self.model.action).await?;
            settle(&self.root, nested).await;
            match_log(&self.model.log, &self.log.lines_from(self.cursor))?;
            ensure_eq!(reply, self.model.reply, "reply");
            compare(self).await
        });
        self.finish(checked)
    }

    /// The model, after the last step (its [`action`](TreeModel::action)
    /// is what the step did).
    pub fn model(&self) -> &TreeModel {
        &self.model
    }

    /// The lifecycle log of every probe of the tree.
    pub fn log(&self) -> &LifecycleLog {
        &self.log
    }

    /// The root supervisor (alive unless it gave up). Calls on it need
    /// the driver's runtime: make them through [`TreeDriver::block_on`].
    pub fn root(&self) -> &SupervisorRef {
        &self.root
    }

    /// Whether the real root is alive.
    pub fn root_alive(&self) -> bool {
        self.root.is_alive()
    }

    /// Steps applied so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Runs `fut` on the driver's runtime (paused clock), for looking at
    /// the tree between steps.
    ///
    /// # Panics
    ///
    /// If called inside a tokio runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    /// Moves the log cursor past this step and names the step in an error.
    fn finish(&mut self, checked: Result<(), String>) -> Result<(), TreeCheckError> {
        self.cursor = self.log.len();
        checked.map_err(|detail| TreeCheckError::Diverged {
            step: self.steps,
            action: format!("{:?}", self.model.action),
            detail,
        })
    }
}

impl Drop for TreeDriver {
    fn drop(&mut self) {
        if self.root.is_alive() {
            let root = &self.root;
            self.rt.block_on(async {
                let _ = root.stop_with(ExitReason::Shutdown, Duration::MAX).await;
            });
        }
    }
}

impl fmt::Debug for TreeDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreeDriver")
            .field("root", &self.root.pid())
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

// ===== scope =====

/// Whether `cfg` is a tree the model covers; `root`: it may nest.
fn in_scope(cfg: &SupConfig, root: bool) -> Result<(), String> {
    if cfg.flags.auto_shutdown != AutoShutdown::Never {
        return Err("auto_shutdown must be never".into());
    }
    let simple = cfg.flags.strategy == Strategy::SimpleOneForOne;
    if simple != cfg.template.is_some() {
        return Err("a template goes with simple_one_for_one, and only with it".into());
    }
    if simple && !(root && cfg.children.is_empty()) {
        return Err("simple_one_for_one only at the root, without static children".into());
    }
    let mut ids = HashSet::new();
    for spec in &cfg.children {
        if !ids.insert(spec.id.as_str()) {
            return Err(format!("child id {} repeated", spec.id));
        }
        match &spec.nested {
            Some(_) if !root => return Err("supervisors nest one level deep".into()),
            Some(nested) => in_scope(nested, false)?,
            None => {}
        }
    }
    Ok(())
}

/// Whether a spec `Op::StartChild` may add is one the model covers.
fn spec_in_scope(spec: &SpecConfig) -> Result<(), String> {
    spec.nested
        .as_deref()
        .map_or(Ok(()), |n| in_scope(n, false))
}

// ===== building the real tree =====

/// Builds a supervisor; its workers' probes go into `probes` if given.
fn build_sup(log: &LifecycleLog, cfg: &SupConfig, probes: Option<&Probes>) -> Built {
    match cfg.template {
        Some(r) => Built::Simple(Supervisor::simple(
            cfg.flags,
            Probe::new(log, "t").template().restart(r),
        )),
        None => Built::Static(
            Supervisor::new(cfg.flags).children(
                cfg.children
                    .iter()
                    .map(|s| build_spec(log, s, probes))
                    .collect::<Vec<_>>(),
            ),
        ),
    }
}

/// A supervisor to start: static, or simple_one_for_one over `u32`s.
enum Built {
    Static(Supervisor),
    Simple(SimpleSupervisor<u32>),
}

impl Built {
    fn into_child_spec(self, id: &str) -> ChildSpec {
        match self {
            Built::Static(s) => s.into_child_spec(id),
            Built::Simple(s) => s.into_child_spec(id),
        }
    }

    async fn start(self) -> Result<SupervisorRef, SupStartError> {
        match self {
            Built::Static(s) => s.start().await,
            Built::Simple(s) => s.start().await.map(SupervisorRef::from),
        }
    }
}

fn build_spec(log: &LifecycleLog, spec: &SpecConfig, probes: Option<&Probes>) -> ChildSpec {
    match &spec.nested {
        None => {
            let probe = Probe::new(log, &spec.id);
            if let Some(p) = probes {
                p.borrow_mut().insert(spec.id.clone(), probe.clone());
            }
            probe.spec().restart(spec.restart)
        }
        Some(cfg) => build_sup(log, cfg, None)
            .into_child_spec(spec.id.as_str())
            .restart(spec.restart),
    }
}

/// The model's reply to a result, read from the error's text, which is
/// OTP's term (`not_found`, `{already_started, <0.7>}`, ...).
fn reply_of<T, E: std::fmt::Display>(r: Result<T, E>, ok: impl FnOnce(T) -> Reply) -> Reply {
    let text = match r {
        Ok(v) => return ok(v),
        Err(e) => e.to_string(),
    };
    Reply::Err(if text.starts_with("{already_started") {
        "already_started".to_owned()
    } else if let Some(reason) = text.strip_prefix("start failed: ") {
        format!("start_failed:{reason}")
    } else if text.starts_with("supervisor call failed") {
        "call".to_owned()
    } else {
        text
    })
}

fn started(s: StartedChild) -> Reply {
    match s {
        StartedChild::Started(_, None) => Reply::Started,
        other => Reply::Err(format!("unexpected {other:?}")),
    }
}

/// The latest process of the probe `tag` (invariant 1).
fn pid_of(log: &LifecycleLog, tag: &str) -> Result<Pid, String> {
    log.last_pid(tag)
        .ok_or_else(|| format!("no start of {tag} in the log"))
}

/// The pid of the running child `id` of `sup`.
async fn child_pid(sup: &SupervisorRef, id: &str) -> Result<Pid, String> {
    let child = sup
        .which_child(id)
        .await
        .map_err(|e| format!("which_child({id}): {e}"))?;
    child
        .state
        .pid()
        .ok_or_else(|| format!("child {id} is not running"))
}

type Performed<'a> = Pin<Box<dyn Future<Output = Result<Reply, String>> + 'a>>;

/// [`perform_one`], boxed: a crash-and-call performs its call recursively.
fn perform<'a>(d: &'a TreeDriver, action: &'a Action) -> Performed<'a> {
    Box::pin(perform_one(d, action))
}

async fn perform_one(d: &TreeDriver, action: &Action) -> Result<Reply, String> {
    let root = &d.root;
    let log = &d.log;
    let reply = match action {
        Action::Noop => Reply::None,
        Action::Advance(by) => {
            tokio::time::advance(*by).await;
            Reply::None
        }
        Action::Crash { tag, crash } => {
            let pid = pid_of(log, tag)?;
            crash
                .inflict_pid(pid)
                .await
                .map_err(|e| format!("crash {tag} ({crash}): {e}"))?;
            Reply::None
        }
        Action::KillNested { id, workers } => {
            let sup = ProcessHandle::lookup(child_pid(root, id).await?)
                .ok_or_else(|| format!("nested supervisor {id} is dead"))?;
            let mut handles = Vec::new();
            for w in workers {
                handles.extend(ProcessHandle::lookup(pid_of(log, w)?));
            }
            // Hold the root so that the old workers' deaths are logged
            // before it restarts the nested supervisor.
            let held = hold(root).await;
            sup.kill();
            sup.wait().await;
            for w in &handles {
                w.wait().await;
            }
            held.release().await;
            Reply::None
        }
        Action::StartChild(spec) => {
            let new = Probes::default();
            let got = root.start_child(build_spec(log, spec, Some(&new))).await;
            if got.is_ok() {
                d.probes.borrow_mut().extend(new.into_inner());
            }
            reply_of(got, started)
        }
        Action::CrashAndCall { tag, crash, call } => {
            if !root.is_alive() {
                return Err("the root is dead".into());
            }
            // Hold the root so that the exit and then the call queue up
            // behind each other: a retry the exit queues comes after the
            // call.
            let held = hold(root).await;
            let pid = pid_of(log, tag)?;
            crash
                .inflict_pid(pid)
                .await
                .map_err(|e| format!("crash {tag} ({crash}): {e}"))?;
            let mut reply = perform(d, call);
            if futures::poll!(&mut reply).is_ready() {
                return Err("the call did not wait for the held root".into());
            }
            held.release().await;
            reply.await?
        }
        Action::FailNext(id, n) => {
            let probe = d.probes.borrow().get(id).cloned();
            let probe = probe.ok_or_else(|| format!("no probe {id}"))?;
            let _ = probe.fail_next(*n);
            Reply::None
        }
        Action::TerminateChild(id) => {
            reply_of(root.terminate_child(id.as_str()).await, |_| Reply::Ok)
        }
        Action::RestartChild(id) => reply_of(root.restart_child(id.as_str()).await, started),
        Action::DeleteChild(id) => reply_of(root.delete_child(id.as_str()).await, |_| Reply::Ok),
        Action::SofoStart(n) => match root.clone().into_simple::<u32>().await {
            Ok(sofo) => reply_of(sofo.start_child(*n).await, started),
            Err(IntoSimpleError::NotSimpleOneForOne) => {
                Reply::Err("not_simple_one_for_one".to_owned())
            }
            Err(e) => reply_of(Err::<StartedChild, _>(e), started),
        },
        Action::SofoTerminate(tag) | Action::TerminatePid(tag) => {
            reply_of(root.terminate_child(pid_of(log, tag)?).await, |_| Reply::Ok)
        }
    };
    Ok(reply)
}

// ===== waiting and comparing =====

/// Running supervisor children of `root` (to settle them after a step).
async fn nested_refs(root: &SupervisorRef) -> Vec<SupervisorRef> {
    let Ok(children) = root.which_children().await else {
        return Vec::new();
    };
    children
        .iter()
        .filter(|c| c.child_type == ChildType::Supervisor)
        .filter_map(|c| c.state.pid())
        .filter_map(SupervisorRef::from_pid)
        .collect()
}

/// Waits until every exit caused by the step was handled (invariant 2):
/// nested supervisors answer (or are dead and their exit is queued at the
/// root), then the root answers (or is dead).
async fn settle(root: &SupervisorRef, nested: Vec<SupervisorRef>) {
    for n in nested {
        if n.which_children().await.is_err() {
            n.wait().await;
        }
    }
    // A failed restart queued a retry behind this call: let the retries
    // run until none is pending (docs/otp/supervisor.md#sup-restarting).
    loop {
        match root.which_children().await {
            Err(_) => {
                root.wait().await;
                return;
            }
            Ok(c) if c.iter().any(|c| c.state == ChildState::Restarting) => {}
            Ok(_) => return,
        }
    }
}

/// Compares the live tree with the model (the log was compared already).
async fn compare(d: &TreeDriver) -> Result<(), String> {
    let (root, log, model) = (&d.root, &d.log, &d.model);
    let Some(expected) = model.which_children() else {
        if root.which_children().await.is_ok() {
            return Err("the root should have given up, it is alive".into());
        }
        // Giving up is a `shutdown` exit (docs/otp/supervisor.md#sup-intensity step 3).
        ensure_eq!(root.wait().await, ExitReason::Shutdown, "root exit reason");
        return Ok(());
    };
    let children = root
        .which_children()
        .await
        .map_err(|e| format!("the root should be alive: {e}"))?;
    let lines: Vec<String> = children.iter().map(child_line).collect();
    ensure_eq!(lines, expected, "root which_children");
    // Pids: every running probe is the one its latest start logged.
    if model.root.is_simple() {
        for (c, tag) in children.iter().zip(model.root.dynamic.iter().rev()) {
            ensure_eq!(
                c.state,
                ChildState::Running(pid_of(log, tag)?),
                "pid of {tag}"
            );
        }
    } else {
        for (c, m) in children.iter().zip(model.root.children.iter().rev()) {
            if m.spec.nested.is_none() && m.is_running() {
                let id = &m.spec.id;
                ensure_eq!(
                    c.state,
                    ChildState::Running(pid_of(log, id)?),
                    "pid of {id}"
                );
            }
        }
    }
    let counts = root
        .count_children()
        .await
        .map_err(|e| format!("count_children: {e}"))?;
    ensure_eq!(counts, model.count_children(), "count_children");
    let tree = root.tree().await.map_err(|e| format!("tree: {e}"))?;
    let (root_restarts, nested_restarts) = model.restarts_in_window();
    ensure_eq!(
        tree.restarts_in_window,
        Some(root_restarts),
        "root restarts in window"
    );
    let (Some((id, expected)), Some((_, model_nested))) = (model.nested_children(), model.nested())
    else {
        return Ok(());
    };
    let nested = SupervisorRef::from_pid(child_pid(root, &id).await?)
        .ok_or_else(|| format!("nested supervisor {id} is dead"))?;
    let lines = shape(&nested)
        .await
        .map_err(|e| format!("nested which_children: {e}"))?;
    ensure_eq!(lines, expected, "nested which_children");
    let children = nested
        .which_children()
        .await
        .map_err(|e| format!("nested which_children: {e}"))?;
    for (c, m) in children.iter().zip(model_nested.children.iter().rev()) {
        if m.is_running() {
            let id = &m.spec.id;
            let pid = pid_of(log, id)?;
            ensure_eq!(c.state, ChildState::Running(pid), "pid of nested {id}");
        }
    }
    let node = tree
        .find(&id)
        .ok_or_else(|| format!("no {id} in the root's tree"))?;
    ensure_eq!(
        node.restarts_in_window,
        nested_restarts,
        "nested restarts in window"
    );
    Ok(())
}
