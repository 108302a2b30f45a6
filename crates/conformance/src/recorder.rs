//! The recorder: the one process that owns the trace (docs/otp/oracle.md#oracle-recorder).
//!
//! Invariants:
//!
//! 1. Every line comes from one mailbox, in mailbox order. Start reports
//!    are synchronous calls made from inside the supervisor that runs the
//!    start function; deaths arrive as monitor `Down`s, which arbor enqueues
//!    during the dying process's exit processing. So anything a supervisor
//!    does in reaction to a death is recorded after that death.
//! 2. Every process that appears in a trace is registered here with its
//!    kind, id, generation and parent, and monitored by the recorder.
//! 3. While the recorder waits for the orphans of a killed supervisor it
//!    answers nothing else: other messages are deferred and handled
//!    afterwards in arrival order (the oracle's selective receive).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use arbor_process::{Ctx, ExitReason, Msg, Pid, ProcessHandle, ProcessRef, ReplyTo, spawn};
use parking_lot::Mutex;

use crate::reason::reason_term;
use crate::scenario::StartMode;
use crate::term::{PidNames, Term};
use arbor_process::Myself;
use arbor_process::Process;

/// How long the orphans of a killed supervisor may take to die (virtual time).
const ORPHAN_WAIT: Duration = Duration::from_secs(5);
/// Calls into the recorder never time out in practice; the runner's own
/// watchdog ends a stuck scenario.
const FOREVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// Probe or supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcKind {
    Probe,
    Sup,
}

/// What the recorder knows about one process (invariant 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcInfo {
    pub(crate) kind: ProcKind,
    pub(crate) id: String,
    pub(crate) generation: u32,
    /// The supervisor (or runner) that started it.
    pub(crate) parent: Option<Pid>,
}

/// One part of a line: literal text or a term rendered with pid names.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    Text(String),
    Term(Term),
}

pub(crate) enum Req {
    Attempt(String, ReplyTo<u32>),
    SupInit(String, ReplyTo<u32>),
    Started {
        info: ProcInfo,
        handle: ProcessHandle,
        reply: ReplyTo<()>,
    },
    StartFailed(String, u32, StartMode, ReplyTo<()>),
    Line(Vec<Part>, ReplyTo<()>),
    Target(Pid, ReplyTo<()>),
    EndOp(ReplyTo<()>),
    Lookup(String, ReplyTo<Option<(Pid, bool)>>),
    Whois(Pid, ReplyTo<Option<ProcInfo>>),
    Alias(Pid, String, u32, ReplyTo<()>),
    LiveSups(ReplyTo<Vec<Pid>>),
    Dump(ReplyTo<Vec<String>>),
}

/// A handle to the recorder process.
#[derive(Clone)]
pub(crate) struct Recorder {
    proc: ProcessRef<Req>,
    fatal: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("pid", &self.proc.pid())
            .finish()
    }
}

/// The recorder died: an internal error (orphans that never stop); see
/// [`Recorder::fatal`].
#[derive(Debug, Clone)]
pub(crate) struct RecorderGone;

type R<T> = Result<T, RecorderGone>;

impl Recorder {
    /// Spawns the recorder; `sofo` names the simple_one_for_one supervisors.
    pub(crate) fn spawn(sofo: BTreeSet<String>) -> Recorder {
        let fatal = Arc::new(Mutex::new(None));
        let slot = fatal.clone();
        let proc = spawn(move |ctx: Ctx<Req>| async move {
            let mut st = State {
                sofo,
                ..State::default()
            };
            match st.run(ctx).await {
                Ok(()) => ExitReason::Normal,
                Err(msg) => {
                    *slot.lock() = Some(msg);
                    ExitReason::custom("recorder_failed")
                }
            }
        });
        Recorder { proc, fatal }
    }

    async fn call<T: 'static>(&self, make: impl FnOnce(ReplyTo<T>) -> Req) -> R<T> {
        self.proc
            .call_timeout(make, FOREVER)
            .await
            .map_err(|_| RecorderGone)
    }

    /// Counts a start attempt of `id`; returns its generation.
    pub(crate) async fn attempt(&self, id: &str) -> R<u32> {
        self.call(|r| Req::Attempt(id.to_owned(), r)).await
    }

    /// A supervisor begins `init`: counts it and prints `sup_start`.
    pub(crate) async fn sup_init(&self, name: &str) -> R<u32> {
        self.call(|r| Req::SupInit(name.to_owned(), r)).await
    }

    /// Registers and monitors a started process; prints `start` for probes.
    pub(crate) async fn started(&self, info: ProcInfo, handle: ProcessHandle) -> R<()> {
        self.call(|reply| Req::Started {
            info,
            handle,
            reply,
        })
        .await
    }

    /// Prints `start <id> gen=<n> result=<mode>`.
    pub(crate) async fn start_failed(&self, id: &str, generation: u32, mode: StartMode) -> R<()> {
        self.call(|r| Req::StartFailed(id.to_owned(), generation, mode, r))
            .await
    }

    /// Prints a line.
    pub(crate) async fn line(&self, parts: Vec<Part>) -> R<()> {
        self.call(|r| Req::Line(parts, r)).await
    }

    /// Prints `= <term>`.
    pub(crate) async fn result(&self, t: Term) -> R<()> {
        self.line(vec![Part::Text("= ".into()), Part::Term(t)])
            .await
    }

    /// Marks `pid` as the direct target of the running op.
    pub(crate) async fn target(&self, pid: Pid) -> R<()> {
        self.call(|r| Req::Target(pid, r)).await
    }

    /// Ends an op: releases held stops, forgets the targets.
    pub(crate) async fn end_op(&self) -> R<()> {
        self.call(Req::EndOp).await
    }

    /// The latest process of `id` and whether it is alive.
    pub(crate) async fn lookup(&self, id: &str) -> R<Option<(Pid, bool)>> {
        self.call(|r| Req::Lookup(id.to_owned(), r)).await
    }

    /// What the recorder knows about `pid`.
    pub(crate) async fn whois(&self, pid: Pid) -> R<Option<ProcInfo>> {
        self.call(|r| Req::Whois(pid, r)).await
    }

    /// Names `pid` `<id>/gen=<n>` in terms until it is registered: a
    /// supervisor still in its `init` (arbor hands out its pid only when
    /// the start returns) that holds a registered name another start finds
    /// taken.
    pub(crate) async fn alias(&self, pid: Pid, id: &str, generation: u32) -> R<()> {
        self.call(|r| Req::Alias(pid, id.to_owned(), generation, r))
            .await
    }

    /// Live supervisors, deepest first.
    pub(crate) async fn live_sups(&self) -> R<Vec<Pid>> {
        self.call(Req::LiveSups).await
    }

    /// The trace so far.
    pub(crate) async fn dump(&self) -> R<Vec<String>> {
        self.call(Req::Dump).await
    }

    /// The fatal error, if the recorder gave up.
    pub(crate) fn fatal(&self) -> Option<String> {
        self.fatal.lock().clone()
    }
}

#[derive(Default)]
struct State {
    lines: Vec<String>,
    gens: HashMap<String, u32>,
    procs: HashMap<Pid, ProcInfo>,
    aliases: HashMap<Pid, (String, u32)>,
    handles: HashMap<Pid, ProcessHandle>,
    live: BTreeSet<Pid>,
    current: HashMap<String, Pid>,
    targets: BTreeSet<Pid>,
    held: BTreeMap<Pid, Vec<String>>,
    sofo: BTreeSet<String>,
    deferred: VecDeque<Msg<Req>>,
}

impl PidNames for State {
    fn name_of(&self, pid: Pid) -> Option<(String, u32)> {
        self.procs
            .get(&pid)
            .map(|p| (p.id.clone(), p.generation))
            .or_else(|| self.aliases.get(&pid).cloned())
    }
}

impl State {
    async fn run(&mut self, mut ctx: Ctx<Req>) -> Result<(), String> {
        loop {
            let msg = match self.deferred.pop_front() {
                Some(m) => m,
                None => ctx.recv().await,
            };
            match msg {
                Msg::Message(req) => self.request(req, &mut ctx),
                Msg::Down(d) => self.down(d.pid, d.reason, &mut ctx).await?,
                Msg::Exit(_) => {}
            }
        }
    }

    fn request(&mut self, req: Req, ctx: &mut Ctx<Req>) {
        match req {
            Req::Attempt(id, r) => {
                r.reply(self.bump(&id));
            }
            Req::SupInit(name, r) => {
                let n = self.bump(&name);
                self.lines.push(format!("sup_start {name} gen={n}"));
                r.reply(n);
            }
            Req::Started {
                info,
                handle,
                reply,
            } => {
                let pid = handle.pid();
                ctx.monitor(pid);
                if info.kind == ProcKind::Probe {
                    self.lines
                        .push(format!("start {} gen={}", info.id, info.generation));
                }
                self.live.insert(pid);
                self.current.insert(info.id.clone(), pid);
                self.procs.insert(pid, info);
                self.handles.insert(pid, handle);
                reply.reply(());
            }
            Req::Alias(pid, id, n, r) => {
                self.aliases.insert(pid, (id, n));
                r.reply(());
            }
            Req::StartFailed(id, n, mode, r) => {
                self.lines
                    .push(format!("start {id} gen={n} result={}", mode.name()));
                r.reply(());
            }
            Req::Line(parts, r) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        Part::Text(t) => s.push_str(&t),
                        Part::Term(t) => s.push_str(&t.render(self)),
                    }
                }
                self.lines.push(s);
                r.reply(());
            }
            Req::Target(pid, r) => {
                self.targets.insert(pid);
                r.reply(());
            }
            Req::EndOp(r) => {
                let sups: Vec<Pid> = self.held.keys().copied().collect();
                for s in sups {
                    self.release(s);
                }
                self.targets.clear();
                r.reply(());
            }
            Req::Lookup(id, r) => {
                r.reply(self.current.get(&id).map(|p| (*p, self.live.contains(p))));
            }
            Req::Whois(pid, r) => {
                r.reply(self.procs.get(&pid).cloned());
            }
            Req::LiveSups(r) => {
                let mut sups: Vec<(usize, Pid)> = self
                    .live
                    .iter()
                    .filter(|p| self.procs.get(p).is_some_and(|i| i.kind == ProcKind::Sup))
                    .map(|p| (self.depth(*p), *p))
                    .collect();
                sups.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                r.reply(sups.into_iter().map(|(_, p)| p).collect());
            }
            Req::Dump(r) => {
                r.reply(self.lines.clone());
            }
        }
    }

    fn bump(&mut self, id: &str) -> u32 {
        let n = self.gens.entry(id.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    fn depth(&self, pid: Pid) -> usize {
        let mut d = 0;
        let mut cur = Some(pid);
        while let Some(p) = cur {
            match self.procs.get(&p) {
                Some(info) => {
                    d += 1;
                    cur = info.parent;
                }
                None => break,
            }
            if d > 10_000 {
                break;
            }
        }
        d
    }

    /// The real exit reason: a monitor set on an already dead process says
    /// `noproc`, the handle still knows the truth.
    fn real_reason(&self, pid: Pid, reason: ExitReason) -> ExitReason {
        match reason {
            ExitReason::NoProc => self
                .handles
                .get(&pid)
                .and_then(ProcessHandle::exit_reason)
                .unwrap_or(ExitReason::NoProc),
            r => r,
        }
    }

    fn exit_line(&self, pid: Pid, reason: &ExitReason) -> String {
        let Some(info) = self.procs.get(&pid) else {
            return String::new();
        };
        let tag = match info.kind {
            ProcKind::Probe => "stop",
            ProcKind::Sup => "sup_exit",
        };
        format!(
            "{tag} {} gen={} reason={}",
            info.id,
            info.generation,
            reason_term(reason).render(self)
        )
    }

    fn is_sofo_pid(&self, pid: Pid) -> bool {
        self.procs
            .get(&pid)
            .is_some_and(|i| i.kind == ProcKind::Sup && self.sofo.contains(&i.id))
    }

    async fn down(
        &mut self,
        pid: Pid,
        reason: ExitReason,
        ctx: &mut Ctx<Req>,
    ) -> Result<(), String> {
        let Some(info) = self.procs.get(&pid).cloned() else {
            return Ok(());
        };
        if !self.live.remove(&pid) {
            return Ok(());
        }
        let reason = self.real_reason(pid, reason);
        let line = self.exit_line(pid, &reason);
        // A child of a live simple_one_for_one supervisor (a probe, or (v2)
        // an instance of a supervisor template) waits for its group.
        let hold = info.parent.filter(|parent| {
            self.live.contains(parent) && !self.targets.contains(&pid) && self.is_sofo_pid(*parent)
        });
        if info.kind == ProcKind::Sup {
            self.release(pid);
        }
        match hold {
            Some(parent) => self.held.entry(parent).or_default().push(line),
            None => self.lines.push(line),
        }
        if info.kind == ProcKind::Sup {
            self.orphans(pid, ctx).await?;
        }
        Ok(())
    }

    fn release(&mut self, sup: Pid) {
        if let Some(lines) = self.held.remove(&sup) {
            self.group("parallel_stop", sup, lines);
        }
    }

    fn group(&mut self, kind: &str, sup: Pid, mut lines: Vec<String>) {
        let name = self
            .procs
            .get(&sup)
            .map(|i| i.id.clone())
            .unwrap_or_default();
        lines.sort();
        self.lines.push(format!("begin {kind} {name}"));
        self.lines.extend(lines);
        self.lines.push(format!("end {kind} {name}"));
    }

    fn descends(&self, pid: Pid, sup: Pid) -> bool {
        let mut cur = self.procs.get(&pid).and_then(|i| i.parent);
        let mut steps = 0;
        while let Some(p) = cur {
            if p == sup {
                return true;
            }
            steps += 1;
            if steps > 10_000 {
                return false;
            }
            cur = self.procs.get(&p).and_then(|i| i.parent);
        }
        false
    }

    /// Invariant 3: wait for every live descendant of the killed `sup`.
    async fn orphans(&mut self, sup: Pid, ctx: &mut Ctx<Req>) -> Result<(), String> {
        let mut set: BTreeSet<Pid> = self
            .live
            .iter()
            .copied()
            .filter(|p| self.descends(*p, sup))
            .collect();
        if set.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        // Downs already deferred come first: they are older.
        let mut keep = VecDeque::new();
        while let Some(m) = self.deferred.pop_front() {
            match m {
                Msg::Down(d) if set.contains(&d.pid) => {
                    set.remove(&d.pid);
                    self.live.remove(&d.pid);
                    let r = self.real_reason(d.pid, d.reason);
                    lines.push(self.exit_line(d.pid, &r));
                }
                other => keep.push_back(other),
            }
        }
        self.deferred = keep;
        let deadline = tokio::time::Instant::now() + ORPHAN_WAIT;
        while !set.is_empty() {
            let msg = match tokio::time::timeout_at(deadline, ctx.recv()).await {
                Ok(m) => m,
                Err(_) => {
                    let mut partial = self.lines.join("\n");
                    partial.push('\n');
                    return Err(format!(
                        "orphans of a killed supervisor did not stop within {} ms\npartial trace:\n{partial}",
                        ORPHAN_WAIT.as_millis()
                    ));
                }
            };
            match msg {
                Msg::Down(d) if set.contains(&d.pid) => {
                    set.remove(&d.pid);
                    self.live.remove(&d.pid);
                    let r = self.real_reason(d.pid, d.reason);
                    lines.push(self.exit_line(d.pid, &r));
                }
                other => self.deferred.push_back(other),
            }
        }
        self.group("orphans", sup, lines);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
