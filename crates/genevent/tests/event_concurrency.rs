//! Many senders at once on the multi-thread runtime: per-sender order,
//! sync_notify from several tasks, streams and crashes under load.

mod support;

use std::collections::HashMap;

use arbor_genevent::{
    EventHandler, EventManager, HandlerCtx, HandlerError, HandlerId, HandlerReply, Payload, Step,
    StreamOpts,
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
