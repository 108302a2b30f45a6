//! W3 event_sync_notify: an event manager with H handlers, each adding the
//! event's `u64` to its own counter; N sequential `sync_notify`.
//! W4 event_notify: the same manager, N `notify` then one `sync_notify` to
//! drain. Both verify every handler's sum afterwards.

use arbor::genevent::{
    EventHandler, EventManager, EventManagerRef, HandlerCtx, HandlerError, HandlerId, HandlerReply,
    Payload, Step,
};
use tokio::sync::{mpsc, oneshot};

use crate::suite::harness::{Sample, check_eq, fail, ns_per, ok, timed};
use arbor::process::Process;

/// The sum of the events 1..=n.
fn expected_sum(n: u64) -> u64 {
    n * (n + 1) / 2
}

fn event_sample(elapsed: std::time::Duration, n: u64, h: u64) -> Sample {
    let ns = ns_per(elapsed, n);
    Sample::new()
        .with("ns_per_event", ns)
        .with("invocations_per_s", h as f64 * 1e9 / ns.max(1e-9))
}

// ===== arbor =====

/// Adds every event to its counter; a call returns the counter.
struct Sum(u64);

impl EventHandler<u64> for Sum {
    fn handle_event(
        &mut self,
        n: &u64,
        _: &HandlerCtx<'_, u64>,
    ) -> Result<Step<u64>, HandlerError> {
        self.0 += n;
        Ok(Step::Keep)
    }

    fn handle_call(
        &mut self,
        _request: Payload,
        _: &HandlerCtx<'_, u64>,
    ) -> Result<HandlerReply<u64>, HandlerError> {
        Ok(HandlerReply::keep(self.0))
    }
}

fn sum_id(i: u64) -> HandlerId {
    HandlerId::of::<Sum>().tag(i.to_string())
}

async fn start_manager(what: &str, h: u64) -> EventManagerRef<u64> {
    let mgr = ok(what, EventManager::<u64>::start().await);
    for i in 0..h {
        ok(what, mgr.add_handler(sum_id(i), Sum(0)).await);
    }
    mgr
}

async fn verify_sums(what: &str, mgr: &EventManagerRef<u64>, h: u64, want: u64) {
    for i in 0..h {
        let got: u64 = ok(what, mgr.call(&sum_id(i), ()).await);
        check_eq(what, got, want);
    }
    ok(what, mgr.stop().await);
}

pub(crate) async fn sync_notify_arbor(n: u64, h: u64) -> Sample {
    let what = "event_sync_notify arbor";
    let mgr = start_manager(what, h).await;
    let (elapsed, ()) = timed(async {
        for e in 1..=n {
            ok(what, mgr.sync_notify(e).await);
        }
    })
    .await;
    verify_sums(what, &mgr, h, expected_sum(n)).await;
    event_sample(elapsed, n, h)
}

pub(crate) async fn notify_arbor(n: u64, h: u64) -> Sample {
    let what = "event_notify arbor";
    let mgr = start_manager(what, h).await;
    let (elapsed, ()) = timed(async {
        for e in 1..=n {
            mgr.notify(e);
        }
        ok(what, mgr.sync_notify(0).await);
    })
    .await;
    check_eq(what, mgr.dropped_notifies(), 0);
    verify_sums(what, &mgr, h, expected_sum(n)).await;
    event_sample(elapsed, n, h)
}

// ===== raw tokio: a task owning a list of boxed handlers =====

trait RawHandler: Send {
    fn handle(&mut self, event: &u64);
    fn value(&self) -> u64;
}

struct RawSum(u64);

impl RawHandler for RawSum {
    fn handle(&mut self, event: &u64) {
        self.0 += event;
    }
    fn value(&self) -> u64 {
        self.0
    }
}

enum RawEventMsg {
    Notify(u64),
    SyncNotify(u64, oneshot::Sender<()>),
    Sums(oneshot::Sender<Vec<u64>>),
}

fn spawn_raw_manager(h: u64) -> mpsc::UnboundedSender<RawEventMsg> {
    let (tx, mut rx) = mpsc::unbounded_channel::<RawEventMsg>();
    tokio::spawn(async move {
        let mut handlers: Vec<Box<dyn RawHandler>> = (0..h)
            .map(|_| Box::new(RawSum(0)) as Box<dyn RawHandler>)
            .collect();
        while let Some(msg) = rx.recv().await {
            match msg {
                RawEventMsg::Notify(e) => handlers.iter_mut().for_each(|h| h.handle(&e)),
                RawEventMsg::SyncNotify(e, reply) => {
                    handlers.iter_mut().for_each(|h| h.handle(&e));
                    let _ = reply.send(());
                }
                RawEventMsg::Sums(reply) => {
                    let _ = reply.send(handlers.iter().map(|h| h.value()).collect());
                }
            }
        }
    });
    tx
}

async fn raw_sync_notify(tx: &mpsc::UnboundedSender<RawEventMsg>, e: u64) {
    let (rtx, rrx) = oneshot::channel();
    if tx.send(RawEventMsg::SyncNotify(e, rtx)).is_err() {
        fail("raw manager gone");
    }
    ok("raw sync_notify", rrx.await);
}

async fn raw_verify(what: &str, tx: &mpsc::UnboundedSender<RawEventMsg>, h: u64, want: u64) {
    let (rtx, rrx) = oneshot::channel();
    if tx.send(RawEventMsg::Sums(rtx)).is_err() {
        fail(&format!("{what}: raw manager gone"));
    }
    let sums = ok(what, rrx.await);
    check_eq(what, sums, vec![want; h as usize]);
}

pub(crate) async fn sync_notify_raw(n: u64, h: u64) -> Sample {
    let tx = spawn_raw_manager(h);
    let (elapsed, ()) = timed(async {
        for e in 1..=n {
            raw_sync_notify(&tx, e).await;
        }
    })
    .await;
    raw_verify("event_sync_notify raw", &tx, h, expected_sum(n)).await;
    event_sample(elapsed, n, h)
}

pub(crate) async fn notify_raw(n: u64, h: u64) -> Sample {
    let tx = spawn_raw_manager(h);
    let (elapsed, ()) = timed(async {
        for e in 1..=n {
            let _ = tx.send(RawEventMsg::Notify(e));
        }
        raw_sync_notify(&tx, 0).await;
    })
    .await;
    raw_verify("event_notify raw", &tx, h, expected_sum(n)).await;
    event_sample(elapsed, n, h)
}
