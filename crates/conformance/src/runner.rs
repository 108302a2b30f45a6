//! The executor: runs a scenario's actions on arbor one at a time, settles
//! after each, and prints the final tree (docs/otp/oracle.md#oracle-actions, docs/otp/oracle.md#oracle-tree, docs/otp/oracle.md#oracle-execution).
//!
//! Everything runs on one current-thread tokio runtime with paused time:
//! timers (stop delays, shutdown timeouts, `sleep_past_period`) fire when
//! every task is idle, so a scenario never sleeps for real and a run is
//! deterministic.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arbor_process::{Ctx, ExitReason, MonitorRef, Msg, Pid, exit, kill, scope};
use arbor_supervisor::{ChildId, ChildSelector, ChildState, SupervisorRef};

use crate::probe::ProbeMsg;
use crate::reason::{scenario_reason, sup_start_error_term};
use crate::recorder::{Part, ProcKind, Recorder, RecorderGone};
use crate::result::{ErrorTerm, child_entry, childspec_term, counts_term, started_term, unit_term};
use crate::scenario::{Op, OpLine, Scenario, Strategy, Target};
use crate::term::Term;
use crate::world::{Extra, PROBE_CRASH, World};
use arbor_process::Myself;
use arbor_process::Process;

/// An op (with the settle after it) that takes longer than this in virtual
/// time is stuck: exit 3, like the oracle's watchdog.
const WATCHDOG: Duration = Duration::from_secs(3600);

/// Why a run produced no trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RunError {
    /// The exit status the oracle uses: 2 for a malformed or impossible
    /// scenario, 3 for an internal error or a scenario that never finishes.
    pub code: u8,
    /// `line N: <what>` or `internal error: <what>`.
    pub message: String,
    /// The trace up to the failure, if the run got that far.
    pub partial_trace: Option<String>,
}

/// Parses `text` and runs it; see [`run`].
///
/// # Errors
///
/// [`RunError`] with code 2 for a malformed scenario (`line N: <what>`),
/// otherwise as [`run`].
pub fn run_text(text: &str) -> Result<String, RunError> {
    let scn = crate::scenario::parse(text).map_err(|e| RunError {
        code: 2,
        message: e.to_string(),
        partial_trace: None,
    })?;
    run(&scn)
}

/// Runs a parsed scenario on arbor's supervisor and returns its trace
/// (every line ends with `\n`).
///
/// The run owns a current-thread tokio runtime with paused time. The first
/// call installs a panic hook that stays silent for the probes' deliberate
/// start crashes (`start=crash`) and forwards every other panic to the
/// previous hook.
///
/// # Panics
///
/// If called from inside a tokio runtime (it blocks on its own).
///
/// # OTP
///
/// What `oracle.erl` does with OTP's `supervisor` (its `run/1`), with the
/// same probes, recorder and settle algorithm.
///
/// # Errors
///
/// [`RunError`] with code 2 when an op is impossible in the state the
/// scenario reaches (docs/otp/oracle.md#oracle-rejected), 3 for an internal error or a stuck run.
pub fn run(scn: &Scenario) -> Result<String, RunError> {
    quiet_probe_crashes();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| internal(format!("cannot build a runtime: {e}"), None))?;
    let scn = Arc::new(scn.clone());
    rt.block_on(async move {
        let sofo: BTreeSet<String> = scn
            .sups
            .iter()
            .filter(|(_, d)| d.strategy() == Strategy::SimpleOneForOne)
            .map(|(n, _)| n.clone())
            .collect();
        let rec = Recorder::spawn(sofo);
        let world = World::new(scn.clone(), rec.clone());
        let outcome = scope(|ctx: Ctx<()>| async move {
            ctx.trap_exit(true);
            let mut d = Driver {
                me: ctx.pid(),
                ctx,
                w: world,
                tops: Vec::new(),
                next_k: HashMap::new(),
                mark: None,
            };
            d.run_all().await
        })
        .await;
        let result = match outcome {
            Ok(r) => r,
            Err(reason) => Err(Fail::Internal(format!("the runner exited: {reason}"))),
        };
        let partial = rec.dump().await.ok().map(|l| join(&l));
        match result {
            Ok(()) => partial.ok_or_else(|| internal(recorder_failure(&rec), None)),
            Err(Fail::Scenario(line, what)) => Err(RunError {
                code: 2,
                message: format!("line {line}: {what}"),
                partial_trace: partial,
            }),
            Err(Fail::Internal(what)) => Err(internal(what, partial)),
            Err(Fail::Recorder) => Err(internal(recorder_failure(&rec), None)),
        }
    })
}

fn recorder_failure(rec: &Recorder) -> String {
    rec.fatal()
        .unwrap_or_else(|| "the recorder stopped".to_owned())
}

fn internal(what: String, partial: Option<String>) -> RunError {
    RunError {
        code: 3,
        message: format!("internal error: {what}"),
        partial_trace: partial,
    }
}

fn join(lines: &[String]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// The default panic hook prints every probe start crash; keep stderr for
/// real panics.
fn quiet_probe_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&PROBE_CRASH) {
                prev(info);
            }
        }));
    });
}

enum Fail {
    /// Exit 2: an op impossible in the reached state.
    Scenario(usize, String),
    /// Exit 3.
    Internal(String),
    /// Exit 3, message from the recorder.
    Recorder,
}

impl From<RecorderGone> for Fail {
    fn from(_: RecorderGone) -> Fail {
        Fail::Recorder
    }
}

/// A runtime error of the current op, before its line is known.
struct OpFail(Fail);

impl From<RecorderGone> for OpFail {
    fn from(_: RecorderGone) -> OpFail {
        OpFail(Fail::Recorder)
    }
}

fn runtime(msg: String) -> OpFail {
    OpFail(Fail::Scenario(0, msg))
}

type OpResult = Result<(), OpFail>;

async fn watchdog(f: impl std::future::Future<Output = OpResult>) -> OpResult {
    match tokio::time::timeout(WATCHDOG, f).await {
        Ok(r) => r,
        Err(_) => Err(OpFail(Fail::Internal(format!(
            "an op did not finish within {} s of virtual time (a stop that never ends?)",
            WATCHDOG.as_secs()
        )))),
    }
}

struct Driver {
    me: Pid,
    ctx: Ctx<()>,
    w: World,
    /// Top-level supervisors in order of their first `start`.
    tops: Vec<String>,
    /// simple_one_for_one instance counters per supervisor.
    next_k: HashMap<String, u64>,
    /// (v2) The latest `mark`.
    mark: Option<tokio::time::Instant>,
}

impl Driver {
    async fn run_all(&mut self) -> Result<(), Fail> {
        let ops = self.w.scn.ops.clone();
        for op in &ops {
            self.step(op).await?;
        }
        watchdog(self.settle()).await.map_err(|f| f.0)?;
        self.print_tree().await
    }

    async fn step(&mut self, op: &OpLine) -> Result<(), Fail> {
        self.w
            .rec
            .line(vec![Part::Text(format!("> {}", op.echo))])
            .await?;
        let restarting_ok = matches!(op.op, Op::RestartingOk(_));
        let res = watchdog(async {
            self.exec(&op.op).await?;
            self.settle_mode(restarting_ok).await
        })
        .await;
        match res {
            Ok(()) => {}
            Err(OpFail(Fail::Scenario(_, msg))) => return Err(Fail::Scenario(op.line, msg)),
            Err(OpFail(f)) => return Err(f),
        }
        self.w.rec.end_op().await?;
        while self.ctx.try_recv().is_some() {}
        Ok(())
    }

    // ===== ops =====

    async fn exec(&mut self, op: &Op) -> OpResult {
        let rec = self.w.rec.clone();
        match op {
            Op::Start(sup) => {
                if let Some((_, true)) = rec.lookup(sup).await? {
                    return Err(runtime(format!("start: '{sup}' is already running")));
                }
                let res = self.w.start_sup(sup, sup).await;
                let t = match &res {
                    Ok(Some(s)) => Term::ok(Term::Pid(s.pid())),
                    Ok(None) => Term::atom("ignore"),
                    Err(e) => Term::error(sup_start_error_term(e)),
                };
                rec.result(t).await?;
                if !self.tops.contains(sup) {
                    self.tops.push(sup.clone());
                }
            }
            Op::Stop(sup) => {
                let pid = self.alive(sup).await?;
                let top = rec
                    .whois(pid)
                    .await?
                    .is_some_and(|i| i.kind == ProcKind::Sup && i.parent == Some(self.me));
                if !top {
                    return Err(runtime(format!(
                        "stop: '{sup}' is not a top-level supervisor (use terminate_child)"
                    )));
                }
                let m = self.ctx.monitor(pid);
                exit(pid, ExitReason::Shutdown);
                self.wait_down(m).await;
            }
            Op::Crash(id, reason) => {
                let pid = self.alive(id).await?;
                self.not_unlinked("crash", id, pid)?;
                if rec
                    .whois(pid)
                    .await?
                    .is_some_and(|i| i.kind == ProcKind::Sup)
                {
                    return Err(runtime(format!(
                        "crash: '{id}' is a supervisor (use kill or exit_signal)"
                    )));
                }
                rec.target(pid).await?;
                let m = self.ctx.monitor(pid);
                let probe = self.w.probes.lock().get(&pid).cloned();
                if let Some(p) = probe {
                    let _ = p.send(ProbeMsg::Crash(scenario_reason(reason)));
                }
                self.wait_down(m).await;
            }
            Op::Kill(id) => {
                let pid = self.alive(id).await?;
                self.not_unlinked("kill", id, pid)?;
                rec.target(pid).await?;
                let m = self.ctx.monitor(pid);
                kill(pid);
                self.wait_down(m).await;
            }
            Op::ExitSignal(id, reason) => {
                let pid = self.alive(id).await?;
                self.not_unlinked("exit_signal", id, pid)?;
                rec.target(pid).await?;
                let m = self.ctx.monitor(pid);
                exit(pid, scenario_reason(reason));
                // Wait until the target has handled the signal: it died, or
                // it answers a request sent after the signal.
                let handled = match rec.whois(pid).await?.map(|i| i.kind) {
                    Some(ProcKind::Sup) => match self.sup_ref(pid) {
                        Some(s) => s.count_children().await.is_ok(),
                        None => false,
                    },
                    _ => {
                        let probe = self.w.probes.lock().get(&pid).cloned();
                        match probe {
                            Some(p) => p.call_timeout(ProbeMsg::Ping, Duration::MAX).await.is_ok(),
                            None => false,
                        }
                    }
                };
                if handled {
                    self.ctx.demonitor(m);
                } else {
                    self.wait_down(m).await;
                }
            }
            Op::Settle => {}
            Op::RestartingOk(inner) => Box::pin(self.exec(inner)).await?,
            Op::Whereis(name) => {
                let t = match arbor_process::whereis(name) {
                    Some(pid) => Term::Pid(pid),
                    None => Term::atom("undefined"),
                };
                rec.result(t).await?;
            }
            Op::Mark => self.mark = Some(tokio::time::Instant::now()),
            Op::Elapsed(lo, hi) => {
                let since = self.mark.map(|m| m.elapsed()).unwrap_or_default();
                let ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
                let t = if ms < *lo {
                    Term::tuple([
                        Term::atom("too_fast"),
                        Term::Int(i64::try_from(ms).unwrap_or(i64::MAX)),
                    ])
                } else if ms >= *hi {
                    Term::tuple([
                        Term::atom("too_slow"),
                        Term::Int(i64::try_from(ms).unwrap_or(i64::MAX)),
                    ])
                } else {
                    Term::atom("ok")
                };
                rec.result(t).await?;
            }
            Op::AwaitRestarted(id) => {
                self.settle().await?;
                let t = match rec.lookup(id).await? {
                    Some((pid, true)) => Term::Pid(pid),
                    _ => Term::atom("undefined"),
                };
                rec.result(t).await?;
            }
            Op::SleepPastPeriod(sup) => {
                let secs = self.w.scn.sups.get(sup).and_then(|d| d.period).unwrap_or(5);
                tokio::time::sleep(Duration::from_millis(u64::from(secs) * 1000 + 1100)).await;
            }
            Op::StartChild(sup, decl) => {
                let t = match self.api(sup).await? {
                    Err(t) => t,
                    Ok(s) => started_term(&s.start_child(self.w.child_spec(decl)).await),
                };
                rec.result(t).await?;
            }
            Op::StartChildExtra(sup, over) => {
                let k = self.next_k.get(sup).copied().unwrap_or(0) + 1;
                self.next_k.insert(sup.clone(), k);
                let t = match self.api(sup).await? {
                    Err(t) => t,
                    Ok(s) => {
                        let extra = Extra {
                            k,
                            over: over.clone(),
                        };
                        match s.into_simple::<Extra>().await {
                            Ok(s) => started_term(&s.start_child(extra).await),
                            Err(e) => e.error_term(),
                        }
                    }
                };
                rec.result(t).await?;
            }
            Op::TerminateChild(sup, target) => {
                let t = match self.api_with(sup, target).await? {
                    Err(t) => t,
                    Ok(s) => unit_term(&s.terminate_child(self.resolve(target).await?).await),
                };
                rec.result(t).await?;
            }
            Op::RestartChild(sup, target) => {
                let t = match self.api_with(sup, target).await? {
                    Err(t) => t,
                    Ok(s) => started_term(&s.restart_child(self.resolve_id(target).await?).await),
                };
                rec.result(t).await?;
            }
            Op::DeleteChild(sup, target) => {
                let t = match self.api_with(sup, target).await? {
                    Err(t) => t,
                    Ok(s) => unit_term(&s.delete_child(self.resolve_id(target).await?).await),
                };
                rec.result(t).await?;
            }
            Op::GetChildspec(sup, target) => {
                let t = match self.api_with(sup, target).await? {
                    Err(t) => t,
                    Ok(s) => childspec_term(&s.get_childspec(self.resolve(target).await?).await),
                };
                rec.result(t).await?;
            }
            Op::WhichChildren(sup) => {
                let t = match self.api(sup).await? {
                    Err(t) => t,
                    Ok(s) => match self.children(sup, &s).await? {
                        Ok(list) => Term::List(list.iter().map(child_entry).collect()),
                        Err(t) => t,
                    },
                };
                rec.result(t).await?;
            }
            Op::CountChildren(sup) => {
                let t = match self.api(sup).await? {
                    Err(t) => t,
                    Ok(s) => counts_term(&s.count_children().await),
                };
                rec.result(t).await?;
            }
        }
        Ok(())
    }

    fn sup_ref(&self, pid: Pid) -> Option<SupervisorRef> {
        self.w.sups.lock().get(&pid).cloned()
    }

    /// The supervisor's latest process, or the `{EXIT,noproc}` result.
    async fn api(&self, sup: &str) -> Result<Result<SupervisorRef, Term>, OpFail> {
        let noproc = || arbor_process::CallError::NoProcess.error_term();
        Ok(match self.w.rec.lookup(sup).await? {
            None => Err(noproc()),
            Some((pid, _)) => self.sup_ref(pid).ok_or_else(noproc),
        })
    }

    /// [`Driver::api`] for ops with a target. The oracle resolves `@id`
    /// whenever the supervisor ever had a process, including one whose
    /// `init` failed (arbor never hands out that pid): then an unknown
    /// `@id` is a scenario error before the call answers `noproc`.
    async fn api_with(
        &self,
        sup: &str,
        target: &Target,
    ) -> Result<Result<SupervisorRef, Term>, OpFail> {
        let r = self.api(sup).await?;
        if r.is_err() && self.w.failed_init.lock().contains(sup) {
            self.resolve(target).await?;
        }
        Ok(r)
    }

    async fn resolve(&self, t: &Target) -> Result<ChildSelector, OpFail> {
        match t {
            Target::Id(id) => Ok(ChildSelector::from(id.as_str())),
            Target::Pid(id) => match self.w.rec.lookup(id).await? {
                Some((pid, _)) => {
                    self.w.rec.target(pid).await?;
                    Ok(ChildSelector::from(pid))
                }
                // A supervisor whose init failed had a process in OTP, and
                // `@id` is that dead pid; arbor never hands it out. Any pid
                // that is no child answers the same (`not_found`): the
                // anonymous pid, which is never a process.
                None if self.w.failed_init.lock().contains(id.as_str()) => {
                    Ok(ChildSelector::from(Pid::ANONYMOUS))
                }
                None => Err(runtime(format!(
                    "@{id}: no process was ever started for it"
                ))),
            },
        }
    }

    /// For `restart_child`/`delete_child`, which take an id: OTP looks the
    /// pid term up among the ids, where it can never match. The pid's text
    /// is an id no child has, so arbor answers the same way.
    async fn resolve_id(&self, t: &Target) -> Result<ChildId, OpFail> {
        Ok(match self.resolve(t).await? {
            ChildSelector::Id(id) => id,
            ChildSelector::Pid(pid) => ChildId::from(format!("{pid}")),
        })
    }

    /// A probe started with `unlink=true` may only be stopped by its
    /// supervisor (docs/otp/oracle.md, 1.11).
    fn not_unlinked(&self, op: &str, id: &str, pid: Pid) -> Result<(), OpFail> {
        if self.w.unlinked.lock().contains(&pid) {
            return Err(runtime(format!(
                "{op}: '{id}' unlinked itself from its supervisor (only its supervisor may stop it)"
            )));
        }
        Ok(())
    }

    async fn alive(&self, id: &str) -> Result<Pid, OpFail> {
        match self.w.rec.lookup(id).await? {
            Some((pid, true)) => Ok(pid),
            _ => Err(runtime(format!("'{id}' is not running"))),
        }
    }

    async fn wait_down(&mut self, m: MonitorRef) {
        loop {
            if let Msg::Down(d) = self.ctx.recv().await
                && d.monitor == m
            {
                return;
            }
        }
    }

    /// `which_children`, simple_one_for_one entries sorted by instance
    /// number then gen, entries without a live pid last (docs/otp/oracle.md#oracle-terms).
    async fn children(
        &self,
        sup: &str,
        s: &SupervisorRef,
    ) -> Result<Result<Vec<arbor_supervisor::ChildInfo>, Term>, OpFail> {
        let list = match s.which_children().await {
            Ok(l) => l,
            Err(e) => return Ok(Err(e.error_term())),
        };
        let sofo = self
            .w
            .scn
            .sups
            .get(sup)
            .is_some_and(|d| d.strategy() == Strategy::SimpleOneForOne);
        if !sofo {
            return Ok(Ok(list));
        }
        let mut keyed = Vec::with_capacity(list.len());
        for c in list {
            let key = match &c.state {
                ChildState::Running(p) => match self.w.rec.whois(*p).await? {
                    Some(info) => {
                        let k = info
                            .id
                            .split_once('#')
                            .and_then(|(_, k)| k.parse::<u64>().ok())
                            .unwrap_or(0);
                        (0, k, info.generation)
                    }
                    None => (1, 0, 0),
                },
                _ => (2, 0, 0),
            };
            keyed.push((key, c));
        }
        keyed.sort_by_key(|(k, _)| *k);
        Ok(Ok(keyed.into_iter().map(|(_, c)| c).collect()))
    }

    /// Quiescence (docs/otp/oracle.md#oracle-settle): every live supervisor, deepest first,
    /// answers `which_children` with no child `restarting`, and a whole
    /// pass sees the same supervisors.
    async fn settle(&mut self) -> OpResult {
        self.settle_mode(false).await
    }

    /// [`Driver::settle`]; with `restarting_ok` (v2) a child in state
    /// `restarting` does not count.
    async fn settle_mode(&mut self, restarting_ok: bool) -> OpResult {
        loop {
            let sups = self.w.rec.live_sups().await?;
            let mut quiet = true;
            for pid in &sups {
                let ok = match self.sup_ref(*pid) {
                    Some(s) => match s.which_children().await {
                        Ok(l) => {
                            restarting_ok || !l.iter().any(|c| c.state == ChildState::Restarting)
                        }
                        Err(_) => false,
                    },
                    None => false,
                };
                quiet &= ok;
            }
            if quiet && self.w.rec.live_sups().await? == sups {
                return Ok(());
            }
            // Let a pending retry or exit run before the next pass.
            tokio::task::yield_now().await;
        }
    }
}

mod tree;
