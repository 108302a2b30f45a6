//! Model test of the event manager: random sequences of add / remove /
//! swap (API and callback), handler crashes (panic, error, remove) in
//! events and calls, notify / sync_notify, info messages, owner death (killed or exiting by itself, and
//! adds naming a dead owner), event streams (subscribe, drop, removed or
//! swapped out) and a final stop or kill, checked after every step against
//! a pure model: every handler callback in order, what every stream
//! yields, the notices every owner gets, each API result and
//! `which_handlers` (docs/otp/gen_event.md#ev-overview, arbor decisions: registration
//! order, duplicate ids rejected, the manager watches owners).
//!
//! 64 cases by default; set `ARBOR_MODEL_CASES` for long runs:
//!
//! ```text
//! ARBOR_MODEL_CASES=10000 cargo test --release -p arbor-genevent --test event_model
//! ```

mod support;

use std::time::Duration;

use arbor_genevent::{
    AddError, AddOpts, EventManager, EventManagerRef, EventStream, HandlerCallError, HandlerExit,
    HandlerId, Owner, RemoveError, StreamOpts, SwapError,
};
use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Msg, ProcessRef};
use futures::{FutureExt, StreamExt};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use support::{Ev, Init, Log, Probe, drain, id};
use tokio::sync::mpsc;

const NAMES: [&str; 4] = ["h0", "h1", "h2", "h3"];
const STREAMS: usize = 2;
const OWNERS: usize = 2;

fn cases() -> u32 {
    std::env::var("ARBOR_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

// ===== operations =====

#[derive(Clone, Copy, Debug)]
enum EvKind {
    N,
    Panic,
    Fail,
    Remove,
    Swap,
}

#[derive(Clone, Copy, Debug)]
enum CallKind {
    Double(u32),
    Remove,
    Panic,
    Bad,
}

/// Handler targets (`Remove`, `Swap`'s old id) are `0..6`: `0..4` name a
/// probe, `4..6` the stream in that slot (a probe name if the slot is empty).
#[derive(Clone, Debug)]
enum Op {
    Add {
        h: usize,
        owner: Option<usize>,
        fail_init: bool,
    },
    Remove {
        target: usize,
    },
    Swap {
        old: usize,
        new: usize,
        owner: Option<usize>,
        fail_init: bool,
    },
    Event {
        kind: EvKind,
        a: usize,
        b: usize,
        sync: bool,
    },
    /// `call` to a target: `Double(n)` replies `2n`; the others make the
    /// probe remove itself (`remove`), panic (`panic`) or fail (`bad`).
    Call {
        target: usize,
        kind: CallKind,
    },
    /// A plain message to the manager: every handler's `handle_info`.
    Info,
    Subscribe(usize),
    Unsubscribe(usize),
    /// Owner `k` dies (killed, or exits with `owner_gone`) if alive, or a
    /// new owner process takes slot `k` if dead.
    Owner {
        k: usize,
        kill: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let owner = proptest::option::weighted(0.4, 0..OWNERS);
    let kind = prop_oneof![
        4 => Just(EvKind::N),
        1 => Just(EvKind::Panic),
        1 => Just(EvKind::Fail),
        1 => Just(EvKind::Remove),
        2 => Just(EvKind::Swap),
    ];
    prop_oneof![
        4 => (0..4usize, owner.clone(), proptest::bool::weighted(0.1))
            .prop_map(|(h, owner, fail_init)| Op::Add { h, owner, fail_init }),
        1 => (0..6usize).prop_map(|target| Op::Remove { target }),
        2 => (0..6usize, 0..4usize, owner, proptest::bool::weighted(0.1))
            .prop_map(|(old, new, owner, fail_init)| Op::Swap { old, new, owner, fail_init }),
        5 => (kind, 0..4usize, 0..4usize, any::<bool>())
            .prop_map(|(kind, a, b, sync)| Op::Event { kind, a, b, sync }),
        2 => (0..6usize, prop_oneof![
            3 => (0..100u32).prop_map(CallKind::Double),
            1 => Just(CallKind::Remove),
            1 => Just(CallKind::Panic),
            1 => Just(CallKind::Bad),
        ])
            .prop_map(|(target, kind)| Op::Call { target, kind }),
        1 => Just(Op::Info),
        1 => (0..STREAMS).prop_map(Op::Subscribe),
        1 => (0..STREAMS).prop_map(Op::Unsubscribe),
        1 => (0..OWNERS, any::<bool>()).prop_map(|(k, kill)| Op::Owner { k, kill }),
    ]
}

// ===== the model =====

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Probe(&'static str),
    Stream(usize),
}

#[derive(Clone, Debug)]
struct Entry {
    who: Who,
    id: HandlerId,
    owner: Option<usize>,
}

/// What one step makes observable.
#[derive(Debug, Default, PartialEq)]
struct Out {
    reply: String,
    /// Probe callbacks, in order.
    log: Vec<String>,
    /// Items each stream yields (`Debug` of the event, `err:..`, `end`).
    streams: [Vec<String>; STREAMS],
    /// Removal notices each owner gets (`id:reason`).
    notices: [Vec<String>; OWNERS],
}

/// Handlers in registration order, active streams and live owners.
#[derive(Debug, Default)]
struct Model {
    entries: Vec<Entry>,
    streams: [Option<HandlerId>; STREAMS],
    owners_alive: [bool; OWNERS],
    next: u32,
}

impl Model {
    fn new() -> Model {
        Model {
            owners_alive: [true; OWNERS],
            ..Model::default()
        }
    }

    fn position(&self, id: &HandlerId) -> Option<usize> {
        self.entries.iter().position(|e| &e.id == id)
    }

    /// The handler id a target index names.
    fn target(&self, t: usize) -> HandlerId {
        match t
            .checked_sub(NAMES.len())
            .and_then(|k| self.streams[k].clone())
        {
            Some(stream) => stream,
            None => id(NAMES[t % NAMES.len()]),
        }
    }

    /// Removes the entry at `i` with `reason` (not for a swap): the probe's
    /// terminate, the stream's end, the owner's notice.
    fn remove_at(&mut self, i: usize, reason: &str, out: &mut Out) {
        let e = self.entries.remove(i);
        match e.who {
            Who::Probe(name) => out.log.push(format!("{name}:terminate:{reason}")),
            Who::Stream(k) => {
                out.streams[k].push("end".into());
                self.streams[k] = None;
            }
        }
        if let Some(o) = e.owner
            && !reason.starts_with("{stop,")
        {
            out.notices[o].push(format!("{}:{reason}", e.id));
        }
    }

    /// A handler just installed with a dead owner is removed at once when
    /// the manager's monitor reports `noproc`.
    fn dead_owner_check(&mut self, out: &mut Out) {
        if let Some(e) = self.entries.last()
            && let Some(o) = e.owner
            && !self.owners_alive[o]
        {
            self.remove_at(self.entries.len() - 1, "{stop,noproc}", out);
        }
    }

    fn add(&mut self, name: &'static str, owner: Option<usize>, fail_init: bool) -> Out {
        let mut out = Out::default();
        if self.position(&id(name)).is_some() {
            out.reply = "already_present".into();
            return out;
        }
        out.log.push(format!("{name}:init"));
        if fail_init {
            out.reply = "init:init_failed".into();
            return out;
        }
        self.entries.push(Entry {
            who: Who::Probe(name),
            id: id(name),
            owner,
        });
        out.reply = "ok".into();
        self.dead_owner_check(&mut out);
        out
    }

    fn remove(&mut self, target: &HandlerId) -> Out {
        let mut out = Out::default();
        match self.position(target) {
            None => out.reply = "not_found".into(),
            Some(i) => {
                out.reply = match self.entries[i].who {
                    Who::Probe(name) => format!("ok:{name}-state"),
                    Who::Stream(_) => "ok:?".into(),
                };
                self.remove_at(i, "deleted", &mut out);
            }
        }
        out
    }

    /// The API swap (docs/otp/gen_event.md#ev-api): the old handler is removed first; the new one
    /// is appended and inherits the old owner unless one is given.
    fn swap(
        &mut self,
        old: &HandlerId,
        new: &'static str,
        owner: Option<usize>,
        fail_init: bool,
    ) -> Out {
        let mut out = Out::default();
        let reason = format!("{{swapped,{new}}}");
        let mut previous = "none".to_string();
        let mut inherited = None;
        if let Some(i) = self.position(old) {
            let e = self.entries.remove(i);
            match e.who {
                Who::Probe(name) => {
                    out.log.push(format!("{name}:terminate:{reason}"));
                    previous = format!("{name}-state");
                }
                Who::Stream(k) => {
                    out.streams[k].push(format!("err:stream handler removed: {reason}"));
                    out.streams[k].push("end".into());
                    self.streams[k] = None;
                    previous = "?".into();
                }
            }
            if let Some(o) = e.owner {
                out.notices[o].push(format!("{}:{reason}", e.id));
            }
            inherited = e.owner;
        }
        if self.position(&id(new)).is_some() {
            out.reply = "already_present".into();
            return out;
        }
        out.log.push(format!("{new}:init_swapped:{previous}"));
        if fail_init {
            out.reply = "init:init_failed".into();
            return out;
        }
        self.entries.push(Entry {
            who: Who::Probe(new),
            id: id(new),
            owner: owner.or(inherited),
        });
        out.reply = "ok".into();
        self.dead_owner_check(&mut out);
        out
    }

    /// One dispatch pass in registration order (docs/otp/gen_event.md#ev-callbacks).
    fn dispatch(&mut self, ev: &Ev) -> Out {
        let mut out = Out::default();
        let mut i = 0;
        while i < self.entries.len() {
            let name = match self.entries[i].who {
                Who::Stream(k) => {
                    out.streams[k].push(format!("{ev:?}"));
                    i += 1;
                    continue;
                }
                Who::Probe(name) => name,
            };
            out.log.push(format!("{name}:{ev:?}"));
            match *ev {
                Ev::Panic(w) if w == name => self.remove_at(i, "{panic,\"boom\"}", &mut out),
                Ev::Fail(w) if w == name => self.remove_at(i, "{error,\"bad\"}", &mut out),
                Ev::Remove(w) if w == name => self.remove_at(i, "remove_handler", &mut out),
                Ev::Swap(w, new) if w == name => {
                    let reason = format!("{{swapped,{new}}}");
                    out.log.push(format!("{name}:terminate:{reason}"));
                    if let Some(o) = self.entries[i].owner {
                        out.notices[o].push(format!("{name}:{reason}"));
                    }
                    if new != name && self.position(&id(new)).is_some() {
                        // The swapped-in handler cannot init: it disappears.
                        self.entries.remove(i);
                    } else {
                        out.log.push(format!("{new}:init_swapped:{name}-state"));
                        let e = &mut self.entries[i];
                        e.who = Who::Probe(new);
                        e.id = id(new);
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        out
    }

    /// `call` (docs/otp/gen_event.md#ev-api): a stream's handler answers no call and is removed.
    fn call(&mut self, target: &HandlerId, kind: CallKind) -> Out {
        let mut out = Out::default();
        let Some(i) = self.position(target) else {
            out.reply = "not_found".into();
            return out;
        };
        let failed = |reason: &str| format!("failed:{reason}");
        let (reply, removal) = match (self.entries[i].who, kind) {
            (Who::Stream(_), _) => (failed("{error,\"bad_call\"}"), Some("{error,\"bad_call\"}")),
            (Who::Probe(_), CallKind::Double(n)) => (format!("ok:{}", 2 * n), None),
            (Who::Probe(_), CallKind::Remove) => ("ok:bye".into(), Some("remove_handler")),
            (Who::Probe(_), CallKind::Panic) => (
                failed("{panic,\"call_panic\"}"),
                Some("{panic,\"call_panic\"}"),
            ),
            (Who::Probe(_), CallKind::Bad) => (
                failed("{error,\"bad_request\"}"),
                Some("{error,\"bad_request\"}"),
            ),
        };
        out.reply = reply;
        if let Some(reason) = removal {
            if let Who::Stream(k) = self.entries[i].who {
                out.streams[k].push(format!("err:stream handler removed: {reason}"));
            }
            self.remove_at(i, reason, &mut out);
        }
        out
    }

    fn info(&self) -> Out {
        let mut out = Out::default();
        for e in &self.entries {
            if let Who::Probe(name) = e.who {
                out.log.push(format!("{name}:info:ping"));
            }
        }
        out
    }

    fn owner_dies(&mut self, k: usize, reason: &str) -> Out {
        let mut out = Out::default();
        self.owners_alive[k] = false;
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].owner == Some(k) {
                self.remove_at(i, &format!("{{stop,{reason}}}"), &mut out);
            } else {
                i += 1;
            }
        }
        out
    }

    fn ids(&self) -> Vec<HandlerId> {
        self.entries.iter().map(|e| e.id.clone()).collect()
    }
}

// ===== the system under test =====

struct Sut {
    mgr: EventManagerRef<Ev>,
    log: Log,
    rx: mpsc::UnboundedReceiver<String>,
    streams: [Option<EventStream<Ev>>; STREAMS],
    owners: [ProcessRef<ExitReason>; OWNERS],
    notice_tx: [mpsc::UnboundedSender<HandlerExit>; OWNERS],
    notice_rx: [mpsc::UnboundedReceiver<HandlerExit>; OWNERS],
}

/// An owner process: exits with the reason it is sent (or is killed).
fn owner_process() -> ProcessRef<ExitReason> {
    arbor_process::spawn(|mut ctx: Ctx<ExitReason>| async move {
        match ctx.recv().await {
            Msg::Message(reason) => reason,
            _ => ExitReason::Normal,
        }
    })
}

fn item(item: Option<Result<Ev, arbor_genevent::StreamError>>) -> String {
    match item {
        Some(Ok(ev)) => format!("{ev:?}"),
        Some(Err(e)) => format!("err:{e}"),
        None => "end".into(),
    }
}

/// Everything a stream has buffered; drops it once it ended.
fn drain_stream(slot: &mut Option<EventStream<Ev>>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(s) = slot.as_mut() {
        match s.next().now_or_never() {
            Some(x) => {
                if x.is_none() {
                    *slot = None;
                }
                out.push(item(x));
            }
            None => break,
        }
    }
    out
}

impl Sut {
    async fn start() -> Sut {
        let (log, rx) = support::log();
        let (t0, r0) = mpsc::unbounded_channel();
        let (t1, r1) = mpsc::unbounded_channel();
        Sut {
            mgr: EventManager::<Ev>::start().await.unwrap(),
            log,
            rx,
            streams: [None, None],
            owners: [owner_process(), owner_process()],
            notice_tx: [t0, t1],
            notice_rx: [r0, r1],
        }
    }

    fn opts(&self, owner: Option<usize>) -> AddOpts {
        match owner {
            None => AddOpts::new(),
            Some(k) => AddOpts::new().owner(Owner::channel(
                self.owners[k].pid(),
                self.notice_tx[k].clone(),
            )),
        }
    }

    fn probe(&self, name: &'static str, fail_init: bool) -> Probe {
        let init = if fail_init { Init::Fail } else { Init::Ok };
        Probe::failing_init(name, &self.log, init)
    }

    /// `sync_notify` while consuming every stream (the manager waits for
    /// each consumer to take the event and ask for the next one).
    async fn sync_notify(&mut self, ev: Ev) -> [Vec<String>; STREAMS] {
        let Sut { mgr, streams, .. } = self;
        let consume = async {
            let mut got: [Vec<String>; STREAMS] = Default::default();
            for (k, slot) in streams.iter_mut().enumerate() {
                let Some(s) = slot.as_mut() else { continue };
                loop {
                    let x = s.next().await;
                    let done = match &x {
                        Some(Ok(e)) => *e == ev,
                        Some(Err(_)) => false,
                        None => true,
                    };
                    got[k].push(item(x));
                    if done {
                        break;
                    }
                }
                if got[k].last().is_some_and(|l| l == "end") {
                    *slot = None;
                }
            }
            // Asking for the next item acknowledges the event.
            for (k, slot) in streams.iter_mut().enumerate() {
                got[k].extend(drain_stream(slot));
            }
            got
        };
        let (res, got) = tokio::join!(mgr.sync_notify(ev.clone()), consume);
        res.unwrap();
        got
    }

    /// A sync point (`which_handlers` is answered after everything sent
    /// before it was handled), then what the step made observable.
    async fn observe(
        &mut self,
        reply: String,
        streams: [Vec<String>; STREAMS],
    ) -> (Out, Vec<HandlerId>) {
        let handlers = self.mgr.which_handlers().await.unwrap();
        let mut out = Out {
            reply,
            log: drain(&mut self.rx),
            streams,
            notices: Default::default(),
        };
        for (k, slot) in self.streams.iter_mut().enumerate() {
            out.streams[k].extend(drain_stream(slot));
        }
        for k in 0..OWNERS {
            out.notices[k] = self.notices(k);
        }
        (out, handlers)
    }

    fn notices(&mut self, k: usize) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(x) = self.notice_rx[k].try_recv() {
            assert_eq!(x.manager, self.mgr.pid(), "notice from another manager");
            out.push(format!("{}:{}", x.id, x.reason));
        }
        out
    }
}

fn add_reply(r: Result<(), AddError>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(AddError::AlreadyPresent(_)) => "already_present".into(),
        Err(AddError::Init(e)) => format!("init:{e}"),
        Err(e) => format!("unexpected:{e}"),
    }
}

fn swap_reply(r: Result<(), SwapError>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(SwapError::AlreadyPresent(_)) => "already_present".into(),
        Err(SwapError::Init(e)) => format!("init:{e}"),
        Err(e) => format!("unexpected:{e}"),
    }
}

fn remove_reply(r: Result<arbor_genevent::Payload, RemoveError>) -> String {
    match r {
        Ok(p) => format!(
            "ok:{}",
            p.downcast::<String>().unwrap_or_else(|_| "?".into())
        ),
        Err(RemoveError::NotFound) => "not_found".into(),
        Err(e) => format!("unexpected:{e}"),
    }
}

fn call_reply(r: Result<String, HandlerCallError>) -> String {
    match r {
        Ok(v) => format!("ok:{v}"),
        Err(HandlerCallError::NotFound) => "not_found".into(),
        Err(HandlerCallError::Failed(reason)) => format!("failed:{reason}"),
        Err(e) => format!("unexpected:{e}"),
    }
}

async fn run(ops: Vec<Op>, kill_at_end: bool) {
    let mut sut = Sut::start().await;
    let mut model = Model::new();
    for (step, op) in ops.iter().enumerate() {
        let mut streams: [Vec<String>; STREAMS] = Default::default();
        let (reply, expected) = match *op {
            Op::Add {
                h,
                owner,
                fail_init,
            } => {
                let name = NAMES[h];
                let probe = sut.probe(name, fail_init);
                let got = sut
                    .mgr
                    .add_handler_opts(id(name), probe, sut.opts(owner))
                    .await;
                (add_reply(got), model.add(name, owner, fail_init))
            }
            Op::Remove { target } => {
                let target = model.target(target);
                let got = sut.mgr.remove_handler(&target).await;
                (remove_reply(got), model.remove(&target))
            }
            Op::Swap {
                old,
                new,
                owner,
                fail_init,
            } => {
                let old = model.target(old);
                let new = NAMES[new];
                let probe = sut.probe(new, fail_init);
                let got = sut
                    .mgr
                    .swap_handler_opts(&old, id(new), probe, sut.opts(owner))
                    .await;
                (swap_reply(got), model.swap(&old, new, owner, fail_init))
            }
            Op::Event { kind, a, b, sync } => {
                let (a, b) = (NAMES[a], NAMES[b]);
                let ev = match kind {
                    EvKind::N => {
                        model.next += 1;
                        Ev::N(model.next)
                    }
                    EvKind::Panic => Ev::Panic(a),
                    EvKind::Fail => Ev::Fail(a),
                    EvKind::Remove => Ev::Remove(a),
                    EvKind::Swap => Ev::Swap(a, b),
                };
                if sync {
                    streams = sut.sync_notify(ev.clone()).await;
                } else {
                    sut.mgr.notify(ev.clone());
                }
                (String::new(), model.dispatch(&ev))
            }
            Op::Call { target, kind } => {
                let target = model.target(target);
                let got = match kind {
                    CallKind::Double(n) => {
                        sut.mgr.call::<u32>(&target, n).await.map(|r| r.to_string())
                    }
                    CallKind::Remove => sut
                        .mgr
                        .call::<&str>(&target, "remove")
                        .await
                        .map(str::to_string),
                    CallKind::Panic => sut
                        .mgr
                        .call::<&str>(&target, "panic")
                        .await
                        .map(str::to_string),
                    CallKind::Bad => sut
                        .mgr
                        .call::<&str>(&target, "bad")
                        .await
                        .map(str::to_string),
                };
                (call_reply(got), model.call(&target, kind))
            }
            Op::Info => {
                sut.mgr.send_info("ping");
                (String::new(), model.info())
            }
            Op::Subscribe(k) => {
                if model.streams[k].is_none() {
                    let s = sut.mgr.stream(StreamOpts::default()).await.unwrap();
                    model.streams[k] = Some(s.id().clone());
                    model.entries.push(Entry {
                        who: Who::Stream(k),
                        id: s.id().clone(),
                        owner: None,
                    });
                    sut.streams[k] = Some(s);
                }
                (String::new(), Out::default())
            }
            Op::Unsubscribe(k) => {
                if let Some(stream) = model.streams[k].take() {
                    // Dropping the stream removes its handler, silently.
                    sut.streams[k] = None;
                    let i = model.position(&stream).expect("active stream is installed");
                    model.entries.remove(i);
                }
                (String::new(), Out::default())
            }
            Op::Owner { k, kill } => {
                if model.owners_alive[k] {
                    let owner = sut.owners[k].clone();
                    let reason = if kill {
                        arbor_process::kill(owner.pid());
                        "killed"
                    } else {
                        owner.send(ExitReason::custom("owner_gone")).unwrap();
                        "owner_gone"
                    };
                    // Monitors fire before waiters wake: the manager has
                    // the owner's DOWN queued when this returns.
                    owner.wait().await;
                    (String::new(), model.owner_dies(k, reason))
                } else {
                    sut.owners[k] = owner_process();
                    model.owners_alive[k] = true;
                    (String::new(), Out::default())
                }
            }
        };
        let (got, handlers) = sut.observe(reply, streams).await;
        assert_eq!(got, expected, "step {step}: {op:?}");
        assert_eq!(
            handlers,
            model.ids(),
            "which_handlers after step {step}: {op:?}"
        );
    }
    // The end: a stop terminates every handler in order, tells the owners
    // and ends the streams; a kill only ends the streams with its reason.
    let mut want = Out::default();
    if kill_at_end {
        arbor_process::kill(sut.mgr.pid());
        sut.mgr.wait().await;
    } else {
        sut.mgr.stop().await.unwrap();
    }
    for e in &model.entries {
        match (e.who, kill_at_end) {
            (Who::Stream(k), true) => {
                want.streams[k].push("err:event manager exited: killed".into());
                want.streams[k].push("end".into());
            }
            (Who::Stream(k), false) => want.streams[k].push("end".into()),
            (Who::Probe(_), true) => {}
            (Who::Probe(name), false) => {
                want.log.push(format!("{name}:terminate:stop"));
                if let Some(o) = e.owner {
                    want.notices[o].push(format!("{name}:stop"));
                }
            }
        }
    }
    let mut got = Out {
        log: drain(&mut sut.rx),
        ..Out::default()
    };
    for (k, slot) in sut.streams.iter_mut().enumerate() {
        if let Some(s) = slot.take() {
            // Bounded so that a stream that never ends fails the test.
            let items = tokio::time::timeout(Duration::from_secs(10), s.collect::<Vec<_>>())
                .await
                .expect("the stream ends with its manager");
            got.streams[k] = items.into_iter().map(Some).map(item).collect();
            got.streams[k].push("end".into());
        }
    }
    for k in 0..OWNERS {
        got.notices[k] = sut.notices(k);
        arbor_process::kill(sut.owners[k].pid());
    }
    assert_eq!(
        got,
        want,
        "after the final {}",
        if kill_at_end { "kill" } else { "stop" }
    );
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/event_model.proptest-regressions",
        ))),
        max_shrink_iters: 4096,
        ..Config::default()
    })]

    #[test]
    fn manager_matches_model(ops in proptest::collection::vec(op(), 1..40), kill_at_end in any::<bool>()) {
        quiet_boom();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops, kill_at_end));
    }
}

/// The fixture's `boom` panics are expected: do not print them.
fn quiet_boom() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let expected = matches!(
                info.payload().downcast_ref::<&str>(),
                Some(&"boom" | &"call_panic")
            );
            if !expected {
                default(info);
            }
        }));
    });
}
