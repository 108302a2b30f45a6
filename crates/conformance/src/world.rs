//! The scenario's supervisors and probes on arbor: flags, child specs and
//! the start functions the supervisors call (docs/otp/oracle.md#oracle-declarations, docs/otp/oracle.md#oracle-probe).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use arbor_process::{ExitReason, Pid, ProcessRef, StartError, StartOpts, current};
use arbor_supervisor::{
    AutoShutdown, ChildSpec, ChildTemplate, ChildType, Restart, Shutdown, StartInfo, StartOutcome,
    SupFlags, SupStartError, Supervisor, SupervisorRef,
};
use parking_lot::Mutex;

use crate::probe::{ProbeMsg, spawn_probe};
use crate::reason::sup_start_error_term;
use crate::recorder::{Part, ProcInfo, ProcKind, Recorder};
use crate::scenario::{self, ChildDecl, Kind, ProbeOpts, Scenario, StartMode};
use arbor_process::Process;
use arbor_supervisor::IntoStartOutcome;

/// The panic message of a probe start function in mode `crash`.
pub(crate) const PROBE_CRASH: &str = "probe_crash";

/// The info a probe in mode `ok_info` returns with its pid.
pub(crate) const PROBE_INFO: &str = "probe_info";

/// Extra arguments of a simple_one_for_one `start_child`: the instance
/// number and the probe options that override the template's.
#[derive(Debug, Clone)]
pub(crate) struct Extra {
    pub(crate) k: u64,
    pub(crate) over: ProbeOpts,
}

/// Everything the start functions share with the runner.
#[derive(Clone)]
pub(crate) struct World {
    pub(crate) scn: Arc<Scenario>,
    pub(crate) rec: Recorder,
    pub(crate) probes: Arc<Mutex<HashMap<Pid, ProcessRef<ProbeMsg>>>>,
    pub(crate) sups: Arc<Mutex<HashMap<Pid, SupervisorRef>>>,
    /// Supervisors whose `init` failed and which never had a process
    /// since (see `Driver::api_with`).
    pub(crate) failed_init: Arc<Mutex<BTreeSet<String>>>,
    /// Probes started with `unlink=true`.
    pub(crate) unlinked: Arc<Mutex<BTreeSet<Pid>>>,
    /// Registered name -> the trace name and gen of the supervisor whose
    /// latest `init` started under it (see [`World::taken`]).
    pub(crate) sup_names: Arc<Mutex<HashMap<String, (String, u32)>>>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("rec", &self.rec).finish()
    }
}

impl World {
    pub(crate) fn new(scn: Arc<Scenario>, rec: Recorder) -> World {
        World {
            scn,
            rec,
            probes: Arc::default(),
            sups: Arc::default(),
            failed_init: Arc::default(),
            unlinked: Arc::default(),
            sup_names: Arc::default(),
        }
    }

    /// The flags of `name`; flags the scenario leaves out keep arbor's
    /// defaults, which are OTP's.
    pub(crate) fn flags(&self, name: &str) -> SupFlags {
        let mut f = SupFlags::default();
        let Some(d) = self.scn.sups.get(name) else {
            return f;
        };
        if let Some(s) = d.strategy {
            f = f.strategy(match s {
                scenario::Strategy::OneForOne => arbor_supervisor::Strategy::OneForOne,
                scenario::Strategy::OneForAll => arbor_supervisor::Strategy::OneForAll,
                scenario::Strategy::RestForOne => arbor_supervisor::Strategy::RestForOne,
                scenario::Strategy::SimpleOneForOne => arbor_supervisor::Strategy::SimpleOneForOne,
            });
        }
        if let Some(i) = d.intensity {
            f = f.intensity(i);
        }
        if let Some(p) = d.period {
            f = f.period(Duration::from_secs(u64::from(p)));
        }
        if let Some(a) = d.auto_shutdown {
            f = f.auto_shutdown(match a {
                scenario::AutoShutdown::Never => AutoShutdown::Never,
                scenario::AutoShutdown::AnySignificant => AutoShutdown::AnySignificant,
                scenario::AutoShutdown::AllSignificant => AutoShutdown::AllSignificant,
            });
        }
        f
    }

    /// The child spec of a `child` line (or a non-simple `start_child`).
    /// Only the keys the scenario gives are set.
    pub(crate) fn child_spec(&self, c: &ChildDecl) -> ChildSpec {
        let w = self.clone();
        let id = c.id.clone();
        let spec_id = spec_id(c);
        let spec = match c.kind {
            Kind::Worker => {
                let opts = c.probe.clone();
                ChildSpec::worker(spec_id.as_str(), move || {
                    let (w, id, opts) = (w.clone(), id.clone(), opts.clone());
                    async move { w.start_probe(id, opts, None).await }
                })
            }
            Kind::Supervisor => ChildSpec::supervisor(spec_id.as_str(), move || {
                let (w, id) = (w.clone(), id.clone());
                async move { sup_outcome(w.start_sup(&id, &id).await) }
            }),
        };
        let keys = Keys::of(c);
        keys.apply(
            spec,
            ChildSpec::restart,
            ChildSpec::shutdown,
            ChildSpec::significant,
        )
    }

    /// The template of a simple_one_for_one supervisor's `child` line: its
    /// children get the [`Extra`] of their `start_child`.
    fn template(&self, c: &ChildDecl) -> ChildTemplate<Extra> {
        let w = self.clone();
        let id = c.id.clone();
        // OTP checks the template's id like any spec's.
        let spec_id = spec_id(c);
        let template = match c.kind {
            Kind::Worker => {
                let opts = c.probe.clone();
                ChildSpec::template(spec_id.as_str(), move |extra: Extra| {
                    let (w, id, opts) = (w.clone(), id.clone(), opts.clone());
                    async move { w.start_probe(id, opts, Some(extra)).await }
                })
            }
            Kind::Supervisor => ChildSpec::template(spec_id.as_str(), move |x: Extra| {
                let (w, id) = (w.clone(), id.clone());
                async move { sup_outcome(w.start_sup(&id, &format!("{id}#{}", x.k)).await) }
            })
            .child_type(ChildType::Supervisor)
            .shutdown(Shutdown::Infinity),
        };
        let keys = Keys::of(c);
        keys.apply(
            template,
            ChildTemplate::restart,
            ChildTemplate::shutdown,
            ChildTemplate::significant,
        )
    }

    /// Starts supervisor `name` linked to the calling process (the runner
    /// for a top-level supervisor, the parent supervisor otherwise).
    /// `name` is the declaration, `display` the id in the trace (`name`,
    /// or `<name>#<k>` for an instance of a supervisor template). `Ok(None)`
    /// is `init=ignore`: arbor's start function does not start it.
    pub(crate) async fn start_sup(
        &self,
        name: &str,
        display: &str,
    ) -> Result<Option<SupervisorRef>, SupStartError> {
        let decl = self.scn.sups.get(name);
        let reg = decl.and_then(|d| d.reg_name.clone());
        // A taken name fails before init: no sup_start, no gen.
        if let Some(r) = &reg
            && let Some(holder) = arbor_process::whereis(r)
        {
            self.taken(holder, r).await;
            return Err(SupStartError::AlreadyStarted(holder));
        }
        // A failed recorder ends the run with exit 3; the value is moot.
        let generation = self.rec.sup_init(display).await.unwrap_or(0);
        if let Some(r) = &reg {
            self.sup_names
                .lock()
                .insert(r.clone(), (display.to_owned(), generation));
        }
        if decl.is_some_and(|d| d.init_ignore) {
            self.failed_init.lock().insert(display.to_owned());
            let _ = self
                .rec
                .line(vec![Part::Text(format!(
                    "sup_exit {display} gen={generation} reason=normal"
                ))])
                .await;
            return Ok(None);
        }
        let opts = match &reg {
            Some(r) => StartOpts::new().link().name(r.as_str()),
            None => StartOpts::new().link(),
        };
        let specs: Vec<ChildSpec> = self
            .scn
            .children
            .iter()
            .filter(|c| c.parent == name)
            .map(|c| self.child_spec(c))
            .collect();
        let parent = current();
        let flags = self.flags(name);
        let decls: Vec<&ChildDecl> = self
            .scn
            .children
            .iter()
            .filter(|c| c.parent == name)
            .collect();
        let started = match decls.as_slice() {
            [template] if flags.strategy == arbor_supervisor::Strategy::SimpleOneForOne => {
                Supervisor::simple(flags, self.template(template))
                    .start_opts(opts)
                    .await
                    .map(SupervisorRef::from)
            }
            _ => {
                Supervisor::new(flags)
                    .children(specs)
                    .start_opts(opts)
                    .await
            }
        };
        match started {
            Ok(sup) => {
                self.sups.lock().insert(sup.pid(), sup.clone());
                self.failed_init.lock().remove(display);
                let info = ProcInfo {
                    kind: ProcKind::Sup,
                    id: display.to_owned(),
                    generation,
                    parent,
                };
                let _ = self.rec.started(info, sup.handle().clone()).await;
                Ok(Some(sup))
            }
            Err(e) => {
                self.failed_init.lock().insert(display.to_owned());
                // arbor returns the error after the supervisor has exited
                // (OTP 26+); OTP's exit reason is the error itself.
                let _ = self
                    .rec
                    .line(vec![
                        Part::Text(format!("sup_exit {display} gen={generation} reason=")),
                        Part::Term(sup_start_error_term(&e)),
                    ])
                    .await;
                Err(e)
            }
        }
    }

    /// Name `name` is taken by `holder`. A supervisor still in its `init`
    /// (an ancestor of the start that found the name taken) is not known to
    /// the recorder yet; the name tells which one it is.
    async fn taken(&self, holder: Pid, name: &str) {
        if self.sups.lock().contains_key(&holder) || self.probes.lock().contains_key(&holder) {
            return;
        }
        let sup = self.sup_names.lock().get(name).cloned();
        if let Some((id, generation)) = sup {
            let _ = self.rec.alias(holder, &id, generation).await;
        }
    }

    /// A probe's start function (docs/otp/oracle.md#oracle-probe). Runs inside the supervisor.
    async fn start_probe(&self, id: String, opts: ProbeOpts, extra: Option<Extra>) -> StartOutcome {
        let (id, opts) = match &extra {
            Some(x) => (format!("{id}#{}", x.k), opts.merged(&x.over)),
            None => (id, opts),
        };
        if let Some(ms) = opts.start_delay {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let generation = self.rec.attempt(&id).await.unwrap_or(0);
        match opts.mode_for(generation) {
            mode @ (StartMode::Ok | StartMode::OkInfo) => {
                if let Some((name, holder)) = opts
                    .name
                    .as_deref()
                    .and_then(|r| arbor_process::whereis(r).map(|h| (r, h)))
                {
                    self.taken(holder, name).await;
                    let _ = self
                        .rec
                        .line(vec![Part::Text(format!(
                            "start {id} gen={generation} result=already_started"
                        ))])
                        .await;
                    return StartError::AlreadyStarted(holder).into();
                }
                let p = match spawn_probe(&opts) {
                    Ok(p) => p,
                    Err(e) => return e.into(),
                };
                self.probes.lock().insert(p.pid(), p.clone());
                if opts.unlink == Some(true) {
                    self.unlinked.lock().insert(p.pid());
                }
                let info = ProcInfo {
                    kind: ProcKind::Probe,
                    id,
                    generation,
                    parent: current(),
                };
                let _ = self.rec.started(info, p.handle().clone()).await;
                let info = (mode == StartMode::OkInfo).then(|| StartInfo::new(PROBE_INFO));
                StartOutcome::Started(p.handle().clone(), info)
            }
            mode => {
                let _ = self.rec.start_failed(&id, generation, mode).await;
                match mode {
                    StartMode::Ignore => StartOutcome::Ignore,
                    StartMode::Error => StartOutcome::Error(ExitReason::custom("probe_error")),
                    // OTP treats the bare value V as the error V.
                    StartMode::Bad => StartOutcome::Error(ExitReason::custom("probe_bad")),
                    // OTP: the start function raises; the supervisor catches it.
                    _ => std::panic::panic_any(PROBE_CRASH),
                }
            }
        }
    }
}

/// A supervisor child's start outcome: `init=ignore` is an ignored child.
fn sup_outcome(r: Result<Option<SupervisorRef>, SupStartError>) -> StartOutcome {
    match r {
        Ok(Some(sup)) => Ok::<_, ExitReason>(sup).into_start_outcome(),
        Ok(None) => StartOutcome::Ignore,
        Err(e) => StartOutcome::from(e),
    }
}

/// The spec keys a `child` line gives, set on a spec or a template alike.
struct Keys {
    restart: Option<Restart>,
    shutdown: Option<Shutdown>,
    significant: Option<bool>,
}

impl Keys {
    fn of(c: &ChildDecl) -> Keys {
        Keys {
            restart: c.restart.map(|r| match r {
                scenario::Restart::Permanent => Restart::Permanent,
                scenario::Restart::Transient => Restart::Transient,
                scenario::Restart::Temporary => Restart::Temporary,
            }),
            shutdown: c.shutdown.map(|s| match s {
                scenario::Shutdown::BrutalKill => Shutdown::BrutalKill,
                scenario::Shutdown::Infinity => Shutdown::Infinity,
                scenario::Shutdown::Ms(ms) => Shutdown::Timeout(Duration::from_millis(ms)),
            }),
            significant: c.significant,
        }
    }

    fn apply<T>(
        self,
        mut spec: T,
        restart: fn(T, Restart) -> T,
        shutdown: fn(T, Shutdown) -> T,
        significant: fn(T, bool) -> T,
    ) -> T {
        if let Some(r) = self.restart {
            spec = restart(spec, r);
        }
        if let Some(s) = self.shutdown {
            spec = shutdown(spec, s);
        }
        if let Some(b) = self.significant {
            spec = significant(spec, b);
        }
        spec
    }
}

/// The id a `child` line's spec gets: its id, or the empty id that is
/// arbor's form of a spec without one (`missing_id=true`).
fn spec_id(c: &ChildDecl) -> String {
    if c.missing_id {
        String::new()
    } else {
        c.id.clone()
    }
}
