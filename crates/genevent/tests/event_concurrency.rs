//! Many senders at once on the multi-thread runtime: per-sender order,
//! sync_notify from several tasks, streams and crashes under load.

mod support;

use std::collections::HashMap;

use arbor_genevent::{
    Delivery, EventHandler, EventManager, HandlerCtx, HandlerError, HandlerId, HandlerReply,
    Payload, Step, StreamOpts,
};
use arbor_process::Process;
use futures::StreamExt;

/// Records `(sender, seq)` pairs; a call returns them.
#[derive(Default)]
struct Seen(Vec<(u32, u32)>);

impl EventHandler<(u32, u32)> for Seen {
    fn handle_event(
        &mut self,
        e: &(u32, u32),
        _: &HandlerCtx<'_, (u32, u32)>,
    ) -> Result<Step<(u32, u32)>, HandlerError> {
        self.0.push(*e);
        Ok(Step::Keep)
    }

    fn handle_call(
        &mut self,
        _: Payload,
        _: &HandlerCtx<'_, (u32, u32)>,
    ) -> Result<HandlerReply<(u32, u32)>, HandlerError> {
        Ok(HandlerReply::keep(std::mem::take(&mut self.0)))
    }
}

/// Events from one sender are processed in send order, whatever the other
/// senders do; every event reaches the handler exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_sender_order_with_concurrent_senders() {
    let mgr = EventManager::<(u32, u32)>::start().await.unwrap();
    let id = HandlerId::of::<Seen>();
    mgr.add_handler(id.clone(), Seen::default()).await.unwrap();
    let senders: Vec<_> = (0..4u32)
        .map(|s| {
            let mgr = mgr.clone();
            tokio::spawn(async move {
                for n in 0..500u32 {
                    if n % 50 == 0 {
                        mgr.sync_notify((s, n)).await.unwrap();
                    } else {
                        mgr.notify((s, n));
                    }
                }
                mgr.sync_notify((s, 500)).await.unwrap();
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let seen: Vec<(u32, u32)> = mgr.call(&id, ()).await.unwrap();
    assert_eq!(seen.len(), 4 * 501);
    let mut per: HashMap<u32, Vec<u32>> = HashMap::new();
    for (s, n) in seen {
        per.entry(s).or_default().push(n);
    }
    for s in 0..4 {
        assert_eq!(per[&s], (0..=500).collect::<Vec<_>>(), "sender {s}");
    }
}

/// Several streams consumed on other tasks while events and crashes flow:
/// each stream sees every event in dispatch order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_see_all_events_under_load() {
    let (log, _rx) = support::log();
    let mgr = EventManager::<support::Ev>::start().await.unwrap();
    mgr.add_handler(support::id("a"), support::Probe::new("a", &log))
        .await
        .unwrap();
    let mut consumers = Vec::new();
    for _ in 0..3 {
        let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(Ok(e)) = s.next().await {
                got.push(e);
            }
            got
        }));
    }
    let mut sent = Vec::new();
    for n in 0..300 {
        let e = if n == 150 {
            support::Ev::Panic("a")
        } else {
            support::Ev::N(n)
        };
        sent.push(e.clone());
        if n % 3 == 0 {
            mgr.sync_notify(e).await.unwrap();
        } else {
            mgr.notify(e);
        }
    }
    mgr.stop().await.unwrap();
    for c in consumers {
        assert_eq!(c.await.unwrap(), sent);
    }
}

/// What a consumer of an acked stream saw, acks fired out of its `next()`.
#[derive(Default, Debug)]
struct Tally {
    /// Every event in the order received.
    order: Vec<u32>,
    notified: Vec<u32>,
    synced: Vec<u32>,
    lagged: u64,
}

/// Reads an acked stream to its end; each ack is fired by another task.
async fn consume_acked(mut s: arbor_genevent::AckedEventStream<u32>) -> (Tally, u64) {
    let mut t = Tally::default();
    while let Some(item) = s.next().await {
        match item.unwrap() {
            Delivery::Notify(n) => {
                t.order.push(n);
                t.notified.push(n);
            }
            Delivery::Sync(n, ack) => {
                t.order.push(n);
                t.synced.push(n);
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    ack.fire();
                });
            }
            Delivery::Lagged(k) => t.lagged += k,
        }
    }
    (t, s.dropped())
}

/// Concurrent senders, a slow-ish bounded acked consumer and an unbounded
/// one (20 rounds): no sync event is ever dropped, every notify event is
/// either delivered or counted in exactly one `Lagged`, per-sender order
/// holds, and the unbounded stream sees everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_acked_stream_accounts_for_every_event() {
    const SENDERS: u32 = 3;
    const PER: u32 = 200;
    for round in 0..20 {
        let mgr = EventManager::<u32>::start().await.unwrap();
        let bounded = mgr
            .acked_stream(StreamOpts::default().notify_bound(4))
            .await
            .unwrap();
        let unbounded = mgr.acked_stream(StreamOpts::default()).await.unwrap();
        let c1 = tokio::spawn(consume_acked(bounded));
        let c2 = tokio::spawn(consume_acked(unbounded));
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let mgr = mgr.clone();
                tokio::spawn(async move {
                    for n in 0..PER {
                        let e = s * 10_000 + n;
                        if n % 10 == 9 {
                            mgr.sync_notify(e).await.unwrap();
                        } else {
                            mgr.notify(e);
                        }
                    }
                })
            })
            .collect();
        for s in senders {
            s.await.unwrap();
        }
        mgr.stop().await.unwrap();
        let (t1, dropped1) = c1.await.unwrap();
        let (t2, dropped2) = c2.await.unwrap();
        let syncs = (SENDERS * PER / 10) as usize;
        let notifies = (SENDERS * PER) as u64 - syncs as u64;
        assert_eq!(t1.synced.len(), syncs, "round {round}");
        assert_eq!(
            t1.notified.len() as u64 + t1.lagged,
            notifies,
            "round {round}"
        );
        assert_eq!(dropped1, t1.lagged, "round {round}");
        assert_eq!(
            (t2.synced.len(), t2.notified.len()),
            (syncs, notifies as usize)
        );
        assert_eq!((t2.lagged, dropped2), (0, 0));
        for t in [&t1, &t2] {
            let mut all: Vec<u32> = t.notified.iter().chain(&t.synced).copied().collect();
            all.sort_unstable();
            all.dedup();
            assert_eq!(
                all.len(),
                t.notified.len() + t.synced.len(),
                "no duplicates"
            );
            for s in 0..SENDERS {
                let per: Vec<_> = t.order.iter().filter(|e| *e / 10_000 == s).collect();
                assert!(per.windows(2).all(|w| w[0] < w[1]), "sender {s} order");
            }
        }
        println!("round {round}: bounded stream dropped {dropped1} of {notifies} notifies");
    }
}

/// Consumers that drop their acked streams mid-flow, some holding an ack
/// (20 rounds): every `sync_notify` returns and no subscription is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_acked_streams_release_acks_and_unsubscribe() {
    for round in 0..20 {
        let mgr = EventManager::<u32>::start().await.unwrap();
        let mut consumers = Vec::new();
        for k in 0..3u32 {
            let mut s = mgr
                .acked_stream(StreamOpts::default().notify_bound(2))
                .await
                .unwrap();
            consumers.push(tokio::spawn(async move {
                let mut taken = 0;
                while let Some(Ok(d)) = s.next().await {
                    taken += 1;
                    let last = taken == 5 + 7 * k;
                    if let Delivery::Sync(_, ack) = d {
                        if last {
                            // Dropped after the stream, at the end of the
                            // task: the manager waits for it until then.
                            let _held = ack;
                            drop(s);
                            tokio::task::yield_now().await;
                            return;
                        }
                        // An ack held across `next()` would wait for
                        // itself: fire it from elsewhere.
                        tokio::spawn(async move { ack.fire() });
                    }
                    if last {
                        break;
                    }
                }
            }));
        }
        let sender = tokio::spawn({
            let mgr = mgr.clone();
            async move {
                for n in 0..100 {
                    if n % 3 == 0 {
                        mgr.sync_notify(n).await.unwrap();
                    } else {
                        mgr.notify(n);
                    }
                }
            }
        });
        sender.await.unwrap();
        for c in consumers {
            c.await.unwrap();
        }
        // The consumers' unsubscribes were sent before they ended.
        assert_eq!(mgr.which_handlers().await.unwrap(), [], "round {round}");
        mgr.stop().await.unwrap();
    }
}
