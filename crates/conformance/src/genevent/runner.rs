//! The executor (docs/otp/genevent-oracle.md#gev-execution): runs a gen_event
//! scenario's actions on arbor's event manager one at a time, through its
//! public API, settles after each, and prints the final state.
//!
//! One current-thread tokio runtime with paused time. The only real time
//! is a rule's `delay`: the callback blocks the thread, so in a scenario
//! with delays every `call` waits for its reply on a thread of its own
//! (with its own runtime and real-time timeout), as OTP's caller is a
//! process of its own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arbor_genevent::{AddOpts, EventManager, EventManagerName, EventManagerRef, Owner};
use arbor_process::{Ctx, ExitReason, Msg, ProcessRef, StartError, StartOpts, scope};

use super::owner::{OwnerMsg, spawn_owner};
use super::probe::{Probe, World, handler_id, quiet_probe_panics};
use super::recorder::Recorder;
use super::render::{
    add_error_term, call_error_term, exit_reason, handler_call_error_term, reason_term,
    remove_error_term, stop_error_term, swap_error_term,
};
use super::scenario::{Op, OpLine, Scenario, Target};
use crate::runner::RunError;
use crate::term::Term;
use arbor_process::Myself;
use arbor_process::Process;

/// An op (with its settle) that takes longer than this in virtual time is
/// stuck: exit 3.
const WATCHDOG: Duration = Duration::from_secs(3600);
/// OTP's default `gen_event:call` timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Parses `text` and runs it; see [`run`].
///
/// # Errors
///
/// [`RunError`] with code 2 for a malformed scenario, otherwise as [`run`].
pub fn run_text(text: &str) -> Result<String, RunError> {
    let scn = super::parser::parse(text).map_err(|e| RunError {
        code: 2,
        message: e.to_string(),
        partial_trace: None,
    })?;
    run(&scn)
}

/// Runs a parsed gen_event scenario on arbor's event manager and returns
/// its trace (every line ends with `\n`).
///
/// # Panics
///
/// If called from inside a tokio runtime (it blocks on its own).
///
/// # Errors
///
/// [`RunError`] with code 2 when an op is impossible in the state the scenario
/// reaches (docs/otp/genevent-oracle.md#gev-actions), 3 for an internal error
/// or a stuck run.
pub fn run(scn: &Scenario) -> Result<String, RunError> {
    quiet_probe_panics();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| internal(format!("cannot build a runtime: {e}"), None))?;
    rt.block_on(async {
        let rec = Recorder::spawn();
        let w = Arc::new(World {
            scn: scn.clone(),
            rec: rec.clone(),
        });
        let outcome = scope(|ctx: Ctx<()>| async move {
            ctx.trap_exit(true);
            let mut d = Driver::new(ctx, w).await;
            d.run_all().await
        })
        .await;
        let result =
            outcome.unwrap_or_else(|r| Err(Fail::Internal(format!("the runner exited: {r}"))));
        let trace = rec.dump();
        match result {
            Ok(()) => Ok(trace),
            Err(Fail::Scenario(line, what)) => Err(RunError {
                code: 2,
                message: format!("line {line}: {what}"),
                partial_trace: Some(trace),
            }),
            Err(Fail::Internal(what)) => Err(internal(what, Some(trace))),
        }
    })
}

fn internal(what: String, partial: Option<String>) -> RunError {
    RunError {
        code: 3,
        message: format!("internal error: {what}"),
        partial_trace: partial,
    }
}

enum Fail {
    Scenario(usize, String),
    Internal(String),
}

/// A runtime error of the current op (exit 2), before its line is known.
struct OpFail(String);

type OpResult<T> = Result<T, OpFail>;

fn runtime<T>(msg: impl Into<String>) -> OpResult<T> {
    Err(OpFail(msg.into()))
}

/// A name no other run in this OS process uses (tests run in parallel).
fn fresh_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "conformance_event_manager_{}",
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// How API ops reach the manager (docs/otp/genevent-oracle.md#gev-actions): by
/// name, or the latest pid.
enum Api {
    Ref(EventManagerRef<Term>),
    /// Named, and nobody holds the name.
    Unregistered,
}

struct Driver {
    ctx: Ctx<()>,
    w: Arc<World>,
    owners: BTreeMap<String, ProcessRef<OwnerMsg>>,
    /// The latest manager process and its gen.
    mgr: Option<(EventManagerRef<Term>, u32)>,
    gens: u32,
    named: bool,
    name: String,
}

impl Driver {
    async fn new(ctx: Ctx<()>, w: Arc<World>) -> Driver {
        w.rec.label(ctx.pid(), "runner");
        let mut owners = BTreeMap::new();
        for o in &w.scn.owners {
            let r = spawn_owner(&o.name, o.trap, &w.rec);
            w.rec.label(r.pid(), &o.name);
            let _ = w.rec.watch(r.pid(), &o.name, true).await;
            owners.insert(o.name.clone(), r);
        }
        Driver {
            ctx,
            w,
            owners,
            mgr: None,
            gens: 0,
            named: false,
            name: fresh_name(),
        }
    }

    fn rec(&self) -> &Recorder {
        &self.w.rec
    }

    async fn run_all(&mut self) -> Result<(), Fail> {
        let ops = self.w.scn.ops.clone();
        for op in &ops {
            self.step(op).await?;
        }
        self.settle().await;
        self.rec().end_op();
        self.print_end().await;
        Ok(())
    }

    async fn step(&mut self, op: &OpLine) -> Result<(), Fail> {
        self.rec().line(format!("> {}", op.echo));
        while self.ctx.try_recv().is_some() {}
        // Calls in a scenario with delays wait on another thread (module
        // docs): virtual time must not run out under them.
        let real_time = matches!(op.op, Op::Call { .. }) && self.w.scn.has_delays();
        let res = if real_time {
            Some(self.exec(&op.op).await)
        } else {
            tokio::time::timeout(WATCHDOG, self.exec(&op.op)).await.ok()
        };
        let result = match res {
            None => {
                return Err(Fail::Internal(
                    "an op did not finish (virtual time ran out)".into(),
                ));
            }
            Some(Err(OpFail(msg))) => return Err(Fail::Scenario(op.line, msg)),
            Some(Ok(r)) => r,
        };
        self.settle().await;
        self.rec().set_swap_owner(None);
        self.rec().end_op();
        if let Some(t) = result {
            self.rec().line(format!("= {t}"));
        }
        Ok(())
    }

    /// The latest manager, or the op's exit 2 before any start.
    fn latest(&self) -> OpResult<&EventManagerRef<Term>> {
        match &self.mgr {
            Some((r, _)) => Ok(r),
            None => runtime("no manager was started yet"),
        }
    }

    fn api(&self) -> OpResult<Api> {
        let r = self.latest()?;
        Ok(if self.named {
            match EventManagerName::<Term>::new(self.name.as_str()).resolve() {
                Some(r) => Api::Ref(r),
                None => Api::Unregistered,
            }
        } else {
            Api::Ref(r.clone())
        })
    }

    fn owner(&self, o: &str) -> OpResult<ProcessRef<OwnerMsg>> {
        match self.owners.get(o) {
            Some(r) if r.is_alive() => Ok(r.clone()),
            _ => runtime(format!("owner '{o}' is not running")),
        }
    }

    fn alive_target(&self, t: &Target) -> OpResult<arbor_process::Pid> {
        match t {
            Target::Mgr => {
                let r = self.latest()?;
                if r.is_alive() {
                    Ok(r.pid())
                } else {
                    runtime("the manager is not running")
                }
            }
            Target::Owner(o) => Ok(self.owner(o)?.pid()),
        }
    }

    fn opts(&self, owner: Option<&String>) -> OpResult<AddOpts> {
        Ok(match owner {
            Some(o) => AddOpts::new().owner(Owner::process(&self.owner(o)?)),
            None => AddOpts::new(),
        })
    }

    async fn wait_down(&mut self, pid: arbor_process::Pid) {
        let m = self.ctx.monitor(pid);
        loop {
            if let Msg::Down(d) = self.ctx.recv().await
                && d.monitor == m
            {
                return;
            }
        }
    }

    /// Runs one op; its result term, if it has one.
    async fn exec(&mut self, op: &Op) -> OpResult<Option<Term>> {
        let noproc = || call_error_term(&arbor_process::CallError::NoProcess);
        Ok(Some(match op {
            Op::Start { named, link } => return self.start(*named, *link).await.map(Some),
            Op::Stop(reason) => match self.api()? {
                Api::Unregistered => noproc(),
                Api::Ref(r) => {
                    let reason = reason.as_ref().map_or(ExitReason::Normal, exit_reason);
                    match r.stop_with(reason, Duration::MAX).await {
                        Ok(()) => Term::atom("ok"),
                        Err(e) => stop_error_term(&e),
                    }
                }
            },
            Op::Kill(t) => {
                let pid = self.alive_target(t)?;
                let m = self.ctx.monitor(pid);
                arbor_process::kill(pid);
                self.ctx.demonitor(m);
                self.wait_down(pid).await;
                return Ok(None);
            }
            Op::Crash(o, reason) => {
                let r = self.owner(o)?;
                let _ = r.send(OwnerMsg::Crash(exit_reason(reason)));
                self.wait_down(r.pid()).await;
                return Ok(None);
            }
            Op::ExitSignal {
                target,
                reason,
                from,
            } => {
                let pid = self.alive_target(target)?;
                let reason = exit_reason(reason);
                match from {
                    None => arbor_process::exit(pid, reason),
                    Some(o) => {
                        let r = self.owner(o)?;
                        let sent = r
                            .call_timeout(
                                |reply| OwnerMsg::Signal(pid, reason, reply),
                                Duration::MAX,
                            )
                            .await;
                        if sent.is_err() {
                            return runtime("owner died during the op");
                        }
                    }
                }
                if let Target::Owner(o) = target
                    && let Some(r) = self.owners.get(o)
                {
                    let _ = r.call_timeout(OwnerMsg::Ping, Duration::MAX).await;
                }
                return Ok(None);
            }
            Op::Add { hid, arg, owner } => {
                let api = self.api()?;
                let opts = self.opts(owner.as_ref())?;
                match api {
                    Api::Unregistered => noproc(),
                    Api::Ref(r) => {
                        let probe = Probe::new(hid.clone(), arg.clone(), self.w.clone());
                        match r.add_handler_opts(handler_id(hid), probe, opts).await {
                            Ok(()) => Term::atom("ok"),
                            Err(e) => add_error_term(&e),
                        }
                    }
                }
            }
            Op::Remove(hid) => match self.api()? {
                Api::Unregistered => noproc(),
                Api::Ref(r) => match r.remove_handler(&handler_id(hid)).await {
                    Ok(v) => v.downcast::<Term>().unwrap_or_else(|_| Term::atom("ok")),
                    Err(e) => remove_error_term(&e),
                },
            },
            Op::Swap {
                old,
                new,
                arg,
                owner,
            } => {
                let api = self.api()?;
                let opts = self.opts(owner.as_ref())?;
                self.rec().set_swap_owner(owner.clone());
                match api {
                    Api::Unregistered => noproc(),
                    Api::Ref(r) => {
                        let probe = Probe::new(new.clone(), arg.clone(), self.w.clone());
                        let res = r
                            .swap_handler_opts(&handler_id(old), handler_id(new), probe, opts)
                            .await;
                        match res {
                            Ok(()) => Term::atom("ok"),
                            Err(e) => swap_error_term(&e),
                        }
                    }
                }
            }
            Op::Notify(e) => {
                match self.api()? {
                    Api::Ref(r) => r.notify(e.clone()),
                    // arbor's notify to a name nobody holds drops the event.
                    Api::Unregistered => {
                        EventManagerName::<Term>::new(self.name.as_str()).notify(e.clone())
                    }
                }
                Term::atom("ok")
            }
            Op::SyncNotify(e) => match self.api()? {
                Api::Unregistered => noproc(),
                Api::Ref(r) => match r.sync_notify(e.clone()).await {
                    Ok(()) => Term::atom("ok"),
                    Err(e) => call_error_term(&e),
                },
            },
            Op::Call {
                hid,
                request,
                timeout,
            } => match self.api()? {
                Api::Unregistered => noproc(),
                Api::Ref(r) => {
                    let t = timeout.map_or(CALL_TIMEOUT, Duration::from_millis);
                    self.call(r, handler_id(hid), request.clone(), t).await
                }
            },
            Op::Info(m) => {
                self.latest()?.send_info(m.clone());
                return Ok(None);
            }
            Op::WhichHandlers => match self.api()? {
                Api::Unregistered => noproc(),
                Api::Ref(r) => match r.which_handlers().await {
                    Ok(ids) => sorted_ids(&ids),
                    Err(e) => call_error_term(&e),
                },
            },
        }))
    }

    async fn start(&mut self, named: bool, link: bool) -> OpResult<Term> {
        if let Some((r, _)) = &self.mgr
            && r.is_alive()
            && !(named && self.named)
        {
            return runtime(
                "start: the manager is running (a second start is only allowed for a named manager, to see already_started)",
            );
        }
        let mut opts = StartOpts::new();
        if named {
            opts = opts.name(self.name.as_str());
        }
        if link {
            opts = opts.link();
        }
        Ok(match EventManager::<Term>::start_opts(opts).await {
            Ok(r) => {
                self.gens += 1;
                let label = format!("mgr/gen={}", self.gens);
                self.rec().label(r.pid(), &label);
                let _ = self.rec().watch(r.pid(), &label, false).await;
                let t = Term::ok(Term::atom(&label));
                self.mgr = Some((r, self.gens));
                self.named = named;
                t
            }
            Err(StartError::AlreadyStarted(pid)) => Term::error(Term::tuple([
                Term::atom("already_started"),
                Term::atom(&self.rec().label_of(pid)),
            ])),
            Err(StartError::Init(r) | StartError::Exited(r)) => Term::error(reason_term(&r)),
        })
    }

    /// `call`: on this thread, or (with delays) on a thread of its own.
    async fn call(
        &self,
        r: EventManagerRef<Term>,
        id: arbor_genevent::HandlerId,
        q: Term,
        t: Duration,
    ) -> Term {
        let answer = if self.w.scn.has_delays() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build();
                if let Ok(rt) = rt {
                    let _ = tx.send(rt.block_on(r.call_timeout::<Term>(&id, q, t)));
                }
            });
            match rx.await {
                Ok(a) => a,
                Err(_) => return Term::atom("call_thread_failed"),
            }
        } else {
            r.call_timeout::<Term>(&id, q, t).await
        };
        match answer {
            Ok(v) => v,
            Err(e) => handler_call_error_term(&e),
        }
    }

    /// Quiescence (docs/otp/genevent-oracle.md#gev-execution).
    async fn settle(&mut self) {
        if let Some((r, _)) = &self.mgr {
            loop {
                let c0 = self.w.rec.count();
                match r.which_handlers().await {
                    Ok(_) if self.w.rec.count() == c0 => break,
                    Ok(_) => {}
                    Err(_) => {
                        r.wait().await;
                        break;
                    }
                }
            }
        }
        for o in self.owners.values() {
            let _ = o.call_timeout(OwnerMsg::Ping, Duration::MAX).await;
        }
        let _ = self.w.rec.sync().await;
    }

    async fn print_end(&mut self) {
        let line = match &self.mgr {
            None => "end mgr none".to_owned(),
            Some((r, g)) => match r.which_handlers().await {
                Ok(ids) => format!("end mgr/gen={g} handlers={}", sorted_ids(&ids)),
                Err(_) => format!("end mgr/gen={g} dead"),
            },
        };
        self.rec().line(line);
        for (name, o) in &self.owners {
            let state = if o.is_alive() { "alive" } else { "dead" };
            self.rec().line(format!("end {name} {state}"));
        }
    }
}

/// `which_handlers`: the ids sorted by their printed form
/// (docs/otp/genevent-oracle.md#gev-actions).
fn sorted_ids(ids: &[arbor_genevent::HandlerId]) -> Term {
    let mut texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
    texts.sort();
    Term::List(texts.iter().map(|t| Term::atom(t)).collect())
}
