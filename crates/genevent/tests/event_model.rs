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

#[path = "event_model/model.rs"]
mod model;
mod support;

use std::time::Duration;

use arbor_genevent::{
    AddError, AddOpts, EventManager, EventManagerRef, EventStream, HandlerCallError, HandlerExit,
    HandlerId, Owner, RemoveError, StreamOpts, SwapError,
};
use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Msg, ProcessRef};
use futures::{FutureExt, StreamExt};
use model::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use support::{Ev, Init, Log, Probe, drain, id};
use tokio::sync::mpsc;

fn cases() -> u32 {
    std::env::var("ARBOR_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
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
