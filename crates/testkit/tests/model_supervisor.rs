//! Model-based test of the supervisor: a real tree and the pure
//! [`TreeModel`] run the same generated operations (crashes with every
//! kind of reason, the child API, simple_one_for_one starts and stops,
//! `terminate_child` by a pid that is gone or not a child, failing starts
//! (restart retries through the intensity check), an API call queued right
//! behind a crash (so it meets a child left restarting, §2.9),
//! paused-clock advances, killing a nested supervisor); after every step
//! the log, the
//! API result, `which_children` of the root and of the nested supervisor
//! (with pids checked against the log), `count_children`, the restart
//! windows and a dead root's exit reason must agree.
//!
//! 32 cases by default; `ARBOR_MODEL_CASES=10000` for a long run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use arbor_process::Process;
use arbor_process::{ExitReason, Pid, ProcessHandle, kill};
use arbor_supervisor::{
    ChildSpec, ChildState, IntoSimpleError, SimpleSupervisor, StartedChild, SupStartError,
    Supervisor, SupervisorRef,
};
use arbor_testkit::model::{
    Action, ApiCall, Op, Reply, SpecConfig, SupConfig, TreeModel, match_log,
};
use arbor_testkit::{
    LifecycleLog, Probe, any_strategy, crash, hold, pause, paused_runtime, quiet_probe_panics,
    restart_type, shape, static_strategy, sup_flags,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use tokio::runtime::Runtime;

fn cases() -> u32 {
    std::env::var("ARBOR_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

// ===== the reference machine =====

struct Model;

fn worker(id: &str, restart: arbor_supervisor::Restart) -> SpecConfig {
    SpecConfig {
        id: id.to_string(),
        restart,
        nested: None,
    }
}

fn nested_config() -> impl Strategy<Value = SpecConfig> {
    (
        static_strategy().prop_flat_map(sup_flags),
        proptest::collection::vec(restart_type(), 1..=3),
        restart_type(),
    )
        .prop_map(|(flags, restarts, restart)| SpecConfig {
            id: "n".to_string(),
            restart,
            nested: Some(Box::new(SupConfig {
                flags,
                children: restarts
                    .iter()
                    .enumerate()
                    .map(|(i, r)| worker(&format!("n{}", i + 1), *r))
                    .collect(),
                template: None,
            })),
        })
}

fn api_call() -> impl Strategy<Value = ApiCall> {
    prop_oneof![
        restart_type().prop_map(ApiCall::Start),
        Just(ApiCall::Terminate),
        Just(ApiCall::Restart),
        Just(ApiCall::Delete),
    ]
}

fn tree_config() -> impl Strategy<Value = TreeModel> {
    (
        any_strategy().prop_flat_map(sup_flags),
        proptest::collection::vec(restart_type(), 1..=3),
        nested_config(),
        proptest::option::of(0usize..4),
        restart_type(),
    )
        .prop_map(|(flags, restarts, nested, nested_at, template)| {
            let simple = flags.strategy == arbor_supervisor::Strategy::SimpleOneForOne;
            let mut children: Vec<SpecConfig> = restarts
                .iter()
                .zip(["a", "b", "c"])
                .map(|(r, id)| worker(id, *r))
                .collect();
            if let Some(at) = nested_at {
                children.insert(at.min(children.len()), nested.clone());
            }
            let config = SupConfig {
                flags,
                children: if simple { Vec::new() } else { children },
                template: simple.then_some(template),
            };
            let permanent = arbor_supervisor::Restart::Permanent;
            let pool = vec![
                worker("a", permanent),
                worker("b", permanent),
                worker("c", permanent),
                worker("d", permanent),
                worker("e", permanent),
                nested,
            ];
            TreeModel::new(config, pool)
        })
}

impl ReferenceStateMachine for Model {
    type State = TreeModel;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<TreeModel> {
        tree_config().boxed()
    }

    fn transitions(state: &TreeModel) -> BoxedStrategy<Op> {
        let simple = state.root.is_simple();
        let sofo = if simple { 4 } else { 1 };
        prop_oneof![
            6 => (0usize..16, crash()).prop_map(|(target, crash)| Op::Crash { target, crash }),
            2 => (0usize..6, restart_type()).prop_map(|(id, restart)| Op::StartChild { id, restart }),
            2 => (0usize..6).prop_map(|id| Op::TerminateChild { id }),
            2 => (0usize..6).prop_map(|id| Op::RestartChild { id }),
            1 => (0usize..6).prop_map(|id| Op::DeleteChild { id }),
            sofo => Just(Op::SofoStart),
            sofo => (0usize..16).prop_map(|target| Op::SofoTerminate { target }),
            1 => (0usize..16).prop_map(|target| Op::TerminatePid { target }),
            1 => (0usize..8, 1u32..=3).prop_map(|(target, n)| Op::FailNext { target, n }),
            2 => (0usize..8, crash(), api_call())
                .prop_map(|(target, crash, call)| Op::CrashAndCall { target, crash, call }),
            3 => pause().prop_map(Op::Advance),
            1 => Just(Op::KillNested),
        ]
        .boxed()
    }

    fn apply(mut state: TreeModel, op: &Op) -> TreeModel {
        state.apply(op);
        state
    }
}

// ===== the system under test =====

/// The probes of the root's static workers, by id (to make their next
/// starts fail).
type Probes = RefCell<HashMap<String, Probe>>;

struct Sut {
    rt: Runtime,
    probes: Probes,
    /// Log index where the current step's lines start.
    cursor: usize,
    log: LifecycleLog,
    root: SupervisorRef,
}

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

/// Running supervisor children of `root` (to settle them after a step).
async fn nested_refs(root: &SupervisorRef) -> Vec<SupervisorRef> {
    let Ok(children) = root.which_children().await else {
        return Vec::new();
    };
    children
        .iter()
        .filter(|c| c.child_type == arbor_supervisor::ChildType::Supervisor)
        .filter_map(|c| c.state.pid())
        .filter_map(SupervisorRef::from_pid)
        .collect()
}

fn pid_of(log: &LifecycleLog, tag: &str) -> Pid {
    log.last_pid(tag)
        .unwrap_or_else(|| panic!("no start of {tag} in the log"))
}

fn perform<'a>(
    sut: &'a Sut,
    action: &'a Action,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + 'a>> {
    Box::pin(perform_one(sut, action))
}

async fn perform_one(sut: &Sut, action: &Action) -> Reply {
    let root = &sut.root;
    let log = &sut.log;
    match action {
        Action::Noop => Reply::None,
        Action::Advance(d) => {
            tokio::time::advance(*d).await;
            Reply::None
        }
        Action::Crash { tag, crash } => {
            crash.inflict_pid(pid_of(log, tag)).await.unwrap();
            Reply::None
        }
        Action::KillNested { id, workers } => {
            let pid = root
                .which_child(id.as_str())
                .await
                .unwrap()
                .state
                .pid()
                .unwrap();
            let sup = ProcessHandle::lookup(pid).unwrap();
            let workers: Vec<ProcessHandle> = workers
                .iter()
                .filter_map(|w| ProcessHandle::lookup(pid_of(log, w)))
                .collect();
            // Hold the root so that the old workers' deaths are logged
            // before it restarts the nested supervisor.
            let held = hold(root).await;
            kill(pid);
            sup.wait().await;
            for w in &workers {
                w.wait().await;
            }
            held.release().await;
            Reply::None
        }
        Action::StartChild(spec) => {
            let new = Probes::default();
            let got = root.start_child(build_spec(log, spec, Some(&new))).await;
            if got.is_ok() {
                sut.probes.borrow_mut().extend(new.into_inner());
            }
            reply_of(got, started)
        }
        Action::CrashAndCall { tag, crash, call } => {
            // Hold the root so that the exit and then the call queue up
            // behind each other: a retry the exit queues comes after the
            // call.
            let held = hold(root).await;
            crash.inflict_pid(pid_of(log, tag)).await.unwrap();
            let mut reply = perform(sut, call);
            assert!(
                futures::poll!(&mut reply).is_pending(),
                "the call waits for the held root"
            );
            held.release().await;
            reply.await
        }
        Action::FailNext(id, n) => {
            let probe = sut.probes.borrow()[id].clone();
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
            reply_of(root.terminate_child(pid_of(log, tag)).await, |_| Reply::Ok)
        }
    }
}

/// Waits until every exit caused by the step was handled: nested
/// supervisors answer (or are dead and their exit is queued at the root),
/// then the root answers (or is dead).
async fn settle(root: &SupervisorRef, nested: Vec<SupervisorRef>) {
    for n in nested {
        if n.which_children().await.is_err() {
            n.wait().await;
        }
    }
    // A failed restart queued a retry behind this call: let the retries
    // run until none is pending (§2.9).
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

/// Compares the live tree with the model (log already compared).
async fn compare(sut: &Sut, model: &TreeModel) {
    let root = &sut.root;
    let log = &sut.log;
    let Some(expected) = model.which_children() else {
        assert!(root.which_children().await.is_err(), "root should be dead");
        assert!(!root.is_alive(), "root should be dead");
        // Giving up is a `shutdown` exit (§2.7 step 3).
        assert_eq!(root.wait().await, ExitReason::Shutdown, "root exit reason");
        return;
    };
    let children = root.which_children().await.expect("root alive");
    let lines: Vec<String> = children.iter().map(arbor_testkit::child_line).collect();
    assert_eq!(lines, expected, "root which_children");
    // Pids: every running probe is the one its latest start logged.
    if model.root.is_simple() {
        let tags = model.root.dynamic.iter().rev();
        for (c, tag) in children.iter().zip(tags) {
            assert_eq!(
                c.state,
                ChildState::Running(pid_of(log, tag)),
                "pid of {tag}"
            );
        }
    } else {
        for (c, m) in children.iter().zip(model.root.children.iter().rev()) {
            if m.spec.nested.is_none() && m.is_running() {
                assert_eq!(c.state, ChildState::Running(pid_of(log, &m.spec.id)));
            }
        }
    }
    assert_eq!(
        root.count_children().await.unwrap(),
        model.count_children(),
        "count_children"
    );
    let tree = root.tree().await.unwrap();
    let (root_restarts, nested_restarts) = model.restarts_in_window();
    assert_eq!(
        tree.restarts_in_window,
        Some(root_restarts),
        "root restarts in window"
    );
    if let Some((id, expected)) = model.nested_children() {
        let pid = root
            .which_child(id.as_str())
            .await
            .unwrap()
            .state
            .pid()
            .unwrap();
        let nested = SupervisorRef::from_pid(pid).unwrap();
        assert_eq!(
            shape(&nested).await.unwrap(),
            expected,
            "nested which_children"
        );
        let (_, model_nested) = model.nested().unwrap();
        let children = nested.which_children().await.unwrap();
        for (c, m) in children.iter().zip(model_nested.children.iter().rev()) {
            if m.is_running() {
                assert_eq!(
                    c.state,
                    ChildState::Running(pid_of(log, &m.spec.id)),
                    "pid of nested {}",
                    m.spec.id
                );
            }
        }
        let node = tree.find(&id).unwrap();
        assert_eq!(
            node.restarts_in_window, nested_restarts,
            "nested restarts in window"
        );
    }
}

struct SupervisorTest;

impl StateMachineTest for SupervisorTest {
    type SystemUnderTest = Sut;
    type Reference = Model;

    fn init_test(model: &TreeModel) -> Sut {
        quiet_probe_panics();
        let rt = paused_runtime();
        let log = LifecycleLog::new();
        let probes = Probes::default();
        let root = rt
            .block_on(build_sup(&log, &model.config, Some(&probes)).start())
            .expect("root starts");
        let mut sut = Sut {
            rt,
            probes,
            cursor: 0,
            log,
            root,
        };
        match_log(&model.log, &sut.log.lines_from(0)).unwrap();
        sut.cursor = sut.log.len();
        sut.rt.block_on(compare(&sut, model));
        sut
    }

    fn apply(mut sut: Sut, model: &TreeModel, _op: Op) -> Sut {
        sut.rt.block_on(async {
            let nested = nested_refs(&sut.root).await;
            let reply = perform(&sut, &model.action).await;
            settle(&sut.root, nested).await;
            let lines = sut.log.lines_from(sut.cursor);
            if let Err(e) = match_log(&model.log, &lines) {
                panic!("after {:?}: {e}", model.action);
            }
            assert_eq!(reply, model.reply, "reply to {:?}", model.action);
            compare(&sut, model).await;
        });
        sut.cursor = sut.log.len();
        sut
    }

    fn teardown(sut: Sut) {
        sut.rt.block_on(async {
            if sut.root.is_alive() {
                let _ = sut
                    .root
                    .stop_with(ExitReason::Shutdown, Duration::MAX)
                    .await;
            }
        });
    }
}

prop_state_machine! {
    #![proptest_config(Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/model_supervisor.proptest-regressions",
        ))),
        max_shrink_iters: 4096,
        .. Config::default()
    })]

    #[test]
    fn supervisor_matches_model(sequential 1..30 => SupervisorTest);
}
