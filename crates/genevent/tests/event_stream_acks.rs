//! Acked event streams (`acked_stream`: `notify` told from `sync_notify`,
//! acks fired by the consumer when it likes) and the per-stream notify bound
//! (`StreamOpts::notify_bound`: drops counted and reported as `Lagged`).

use std::pin::pin;
use std::time::Duration;

use arbor_genevent::{
    AckedEventStream, Delivery, EventManager, EventManagerRef, StreamError, StreamOpts,
};
use arbor_process::{ExitReason, Process};
use futures::{StreamExt, poll};

/// What a delivery is, without its ack: comparable in assertions.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Notify(u32),
    Sync(u32),
    Lagged(u64),
}

fn seen(d: &Delivery<u32>) -> Seen {
    match d {
        Delivery::Notify(n) => Seen::Notify(*n),
        Delivery::Sync(n, _) => Seen::Sync(*n),
        Delivery::Lagged(k) => Seen::Lagged(*k),
    }
}

/// The next item, which must come (fails rather than hangs).
async fn next(s: &mut AckedEventStream<u32>) -> Option<Result<Delivery<u32>, StreamError>> {
    tokio::time::timeout(Duration::from_secs(30), s.next())
        .await
        .expect("the stream yields an item")
}

/// The next item without its ack (which is dropped, acknowledging it).
async fn next_seen(s: &mut AckedEventStream<u32>) -> Option<Result<Seen, StreamError>> {
    next(s).await.map(|r| r.map(|d| seen(&d)))
}

async fn next_ok(s: &mut AckedEventStream<u32>) -> Delivery<u32> {
    next(s).await.expect("an item").expect("not an error")
}

/// With paused time: whether the manager is blocked (it does not answer a
/// call within a minute of virtual time, which passes only when every task
/// is idle).
async fn manager_blocked(mgr: &EventManagerRef<u32>) -> bool {
    tokio::time::timeout(Duration::from_secs(60), mgr.which_handlers())
        .await
        .is_err()
}

// ===== acks =====

/// A `sync_notify` event arrives with an ack; `sync_notify` returns only
/// once it fires, and the manager dispatches nothing until then.
#[tokio::test(start_paused = true)]
async fn sync_item_carries_ack_and_sync_notify_waits_for_it() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    let mut sync = pin!(mgr.sync_notify(1));
    assert!(poll!(&mut sync).is_pending());
    let Delivery::Sync(1, ack) = next_ok(&mut s).await else {
        panic!("expected Sync(1)")
    };
    assert!(ack.is_awaited());
    assert!(manager_blocked(&mgr).await);
    assert!(poll!(&mut sync).is_pending());
    ack.fire();
    assert_eq!(sync.await, Ok(()));
    assert_eq!(mgr.which_handlers().await.unwrap(), [s.id().clone()]);
}

/// `notify` events arrive as `Notify`, without an ack, and asking for the
/// next item acknowledges nothing.
#[tokio::test]
async fn notify_items_carry_no_ack() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    mgr.notify(1);
    mgr.notify(2);
    let first = next_ok(&mut s).await;
    assert!(matches!(first, Delivery::Notify(1)));
    assert_eq!(first.event(), Some(&1));
    assert!(matches!(next_ok(&mut s).await, Delivery::Notify(2)));
    assert_eq!(s.dropped(), 0);
}

/// Notify events pipeline: all of them are received with no ack fired; a
/// sync event after them blocks what follows until its ack fires.
#[tokio::test(start_paused = true)]
async fn notifies_pipeline_and_only_sync_waits() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    for n in 1..=10 {
        mgr.notify(n);
    }
    let sync = tokio::spawn({
        let mgr = mgr.clone();
        async move { mgr.sync_notify(11).await }
    });
    tokio::task::yield_now().await;
    mgr.notify(12);
    for n in 1..=10 {
        assert_eq!(seen(&next_ok(&mut s).await), Seen::Notify(n));
    }
    let Delivery::Sync(11, ack) = next_ok(&mut s).await else {
        panic!("expected Sync(11)")
    };
    // 12 waits behind the unacknowledged 11.
    assert!(
        tokio::time::timeout(Duration::from_secs(60), s.next())
            .await
            .is_err()
    );
    assert!(!sync.is_finished());
    ack.fire();
    assert_eq!(sync.await.unwrap(), Ok(()));
    assert_eq!(seen(&next_ok(&mut s).await), Seen::Notify(12));
}

/// A consumer holds the acks of two streams and fires them later from
/// another task, in reverse order: `sync_notify` returns after the last.
#[tokio::test(start_paused = true)]
async fn acks_held_and_fired_later_from_another_task() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s1 = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    let mut s2 = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    let mut sync = pin!(mgr.sync_notify(7));
    assert!(poll!(&mut sync).is_pending());
    let Delivery::Sync(7, a1) = next_ok(&mut s1).await else {
        panic!("expected Sync(7) on s1")
    };
    let Delivery::Sync(7, a2) = next_ok(&mut s2).await else {
        panic!("expected Sync(7) on s2")
    };
    let (fire_tx, fire_rx) = tokio::sync::oneshot::channel::<()>();
    let firer = tokio::spawn(async move {
        a2.fire();
        fire_rx.await.unwrap();
        a1.fire();
    });
    tokio::task::yield_now().await;
    assert!(manager_blocked(&mgr).await, "a1 not fired yet");
    assert!(poll!(&mut sync).is_pending());
    fire_tx.send(()).unwrap();
    firer.await.unwrap();
    assert_eq!(sync.await, Ok(()));
}

/// Dropping an ack releases the manager like firing it.
#[tokio::test]
async fn dropped_ack_releases_sync_notify() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    let mut sync = pin!(mgr.sync_notify(1));
    assert!(poll!(&mut sync).is_pending());
    let item = next_ok(&mut s).await;
    assert_eq!(seen(&item), Seen::Sync(1));
    drop(item);
    assert_eq!(sync.await, Ok(()));
}

/// An ack already handed out outlives its stream: the manager still waits
/// for it after the stream is dropped; firing it releases the manager,
/// which then removes the subscription.
#[tokio::test(start_paused = true)]
async fn held_ack_outlives_dropped_stream() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    let mut sync = pin!(mgr.sync_notify(1));
    assert!(poll!(&mut sync).is_pending());
    let Delivery::Sync(1, ack) = next_ok(&mut s).await else {
        panic!("expected Sync(1)")
    };
    drop(s);
    assert!(manager_blocked(&mgr).await);
    ack.fire();
    assert_eq!(sync.await, Ok(()));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// Dropping the stream with a sync item still queued (its ack not yet
/// handed out) releases the manager and removes the subscription.
#[tokio::test(start_paused = true)]
async fn dropping_stream_releases_queued_ack_and_unsubscribes() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let s = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    let mut sync = pin!(mgr.sync_notify(1));
    assert!(poll!(&mut sync).is_pending());
    assert!(manager_blocked(&mgr).await, "waiting for the queued ack");
    drop(s);
    assert_eq!(sync.await, Ok(()));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// A killed manager ends an acked stream with its reason; an ack it
/// waited for is no longer awaited.
#[tokio::test]
async fn killed_manager_ends_acked_stream() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    let sync = tokio::spawn({
        let mgr = mgr.clone();
        async move { mgr.sync_notify(1).await }
    });
    let Delivery::Sync(1, ack) = next_ok(&mut s).await else {
        panic!("expected Sync(1)")
    };
    arbor_process::kill(mgr.pid());
    assert_eq!(mgr.wait().await, ExitReason::Killed);
    assert!(sync.await.unwrap().is_err());
    assert!(!ack.is_awaited());
    ack.fire();
    assert_eq!(
        next_seen(&mut s).await,
        Some(Err(StreamError::ManagerExited(ExitReason::Killed)))
    );
    assert_eq!(next_seen(&mut s).await, None);
}

// ===== the notify bound =====

/// At the bound, further notify events are dropped for this stream only,
/// counted, and reported as one `Lagged` between the items around them; the
/// sync event after them is delivered.
#[tokio::test]
async fn bound_drops_beyond_n_and_reports_lagged_in_order() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let opts = StreamOpts::default().notify_bound(3);
    let mut s = mgr.acked_stream(opts).await.unwrap();
    let mut all = mgr.acked_stream(StreamOpts::default()).await.unwrap();
    for n in 1..=10 {
        mgr.notify(n);
    }
    // A call answered after the ten notifies were dispatched.
    mgr.which_handlers().await.unwrap();
    assert_eq!(s.dropped(), 7);
    let sync = tokio::spawn({
        let mgr = mgr.clone();
        async move { mgr.sync_notify(11).await }
    });
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(next_seen(&mut s).await.unwrap().unwrap());
    }
    assert_eq!(
        got,
        [
            Seen::Notify(1),
            Seen::Notify(2),
            Seen::Notify(3),
            Seen::Lagged(7),
            Seen::Sync(11)
        ]
    );
    for n in 1..=10 {
        assert_eq!(next_seen(&mut all).await, Some(Ok(Seen::Notify(n))));
    }
    assert_eq!(next_seen(&mut all).await, Some(Ok(Seen::Sync(11))));
    assert_eq!(sync.await.unwrap(), Ok(()));
    assert_eq!((s.dropped(), all.dropped()), (7, 0));
    mgr.notify(12);
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Notify(12))));
}

/// Drops after everything queued are reported when the consumer catches
/// up, without waiting for another event; each drop is reported once.
#[tokio::test]
async fn lagged_reported_when_consumer_catches_up() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr
        .acked_stream(StreamOpts::default().notify_bound(2))
        .await
        .unwrap();
    for n in 1..=5 {
        mgr.notify(n);
    }
    mgr.which_handlers().await.unwrap();
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Notify(1))));
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Notify(2))));
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Lagged(3))));
    assert!(poll!(s.next()).is_pending());
    mgr.notify(6);
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Notify(6))));
    assert_eq!(s.dropped(), 3);
}

/// Several lag episodes: each `Lagged` counts the drops between two
/// delivered items; their sum is `dropped()`.
#[tokio::test]
async fn lag_episodes_reported_separately() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr
        .acked_stream(StreamOpts::default().notify_bound(1))
        .await
        .unwrap();
    for n in 1..=3 {
        mgr.notify(n);
    }
    mgr.which_handlers().await.unwrap();
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Notify(1))));
    // 2 and 3 were dropped after 1; 4 takes the freed place, 5 is dropped.
    mgr.notify(4);
    mgr.notify(5);
    mgr.which_handlers().await.unwrap();
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Lagged(2))));
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Notify(4))));
    assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Lagged(1))));
    assert_eq!(s.dropped(), 3);
}

/// Sync events are never dropped, even with a bound of 0 (which drops every
/// notify event); the drops before a sync event are reported before it.
#[tokio::test]
async fn sync_items_never_dropped_at_bound() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr
        .acked_stream(StreamOpts::default().notify_bound(0))
        .await
        .unwrap();
    for round in 0..3 {
        mgr.notify(10 * round);
        mgr.notify(10 * round + 1);
        let mut sync = pin!(mgr.sync_notify(10 * round + 2));
        assert!(poll!(&mut sync).is_pending());
        assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Lagged(2))));
        let Delivery::Sync(n, ack) = next_ok(&mut s).await else {
            panic!("expected a sync item")
        };
        assert_eq!(n, 10 * round + 2);
        ack.fire();
        assert_eq!(sync.await, Ok(()));
    }
    assert_eq!(s.dropped(), 6);
}

/// A consumer parked on an empty stream with a bound of 0 is woken by a
/// drop and sees it.
#[tokio::test(start_paused = true)]
async fn parked_consumer_woken_by_drop() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr
        .acked_stream(StreamOpts::default().notify_bound(0))
        .await
        .unwrap();
    let consumer = tokio::spawn(async move { next_seen(&mut s).await });
    tokio::task::yield_now().await;
    assert!(!consumer.is_finished());
    let t0 = tokio::time::Instant::now();
    mgr.notify(1);
    assert_eq!(consumer.await.unwrap(), Some(Ok(Seen::Lagged(1))));
    // Woken by the drop itself, not by `next`'s safety timeout.
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

/// Drops before the end are reported before it: a stop ends the stream
/// normally after `Lagged`, a kill with the exit reason after it.
#[tokio::test]
async fn lagged_reported_before_end() {
    for kill in [false, true] {
        let mgr = EventManager::<u32>::start().await.unwrap();
        let mut s = mgr
            .acked_stream(StreamOpts::default().notify_bound(1))
            .await
            .unwrap();
        for n in 1..=3 {
            mgr.notify(n);
        }
        mgr.which_handlers().await.unwrap();
        let end = if kill {
            arbor_process::kill(mgr.pid());
            assert_eq!(mgr.wait().await, ExitReason::Killed);
            Some(Err(StreamError::ManagerExited(ExitReason::Killed)))
        } else {
            mgr.stop().await.unwrap();
            None
        };
        assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Notify(1))));
        assert_eq!(next_seen(&mut s).await, Some(Ok(Seen::Lagged(2))));
        assert_eq!(next_seen(&mut s).await, end, "kill: {kill}");
        assert_eq!(next_seen(&mut s).await, None);
    }
}

/// A plain `EventStream` honours the bound too: it yields the events kept
/// and counts the others in `dropped()`; its sync events are still
/// acknowledged when the consumer asks for the next item.
#[tokio::test]
async fn plain_stream_bound_counts_drops() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr
        .stream(StreamOpts::default().notify_bound(2))
        .await
        .unwrap();
    for n in 1..=5 {
        mgr.notify(n);
    }
    mgr.which_handlers().await.unwrap();
    assert_eq!(s.dropped(), 3);
    let sync = tokio::spawn({
        let mgr = mgr.clone();
        async move { mgr.sync_notify(6).await }
    });
    assert_eq!(s.next().await, Some(Ok(1)));
    assert_eq!(s.next().await, Some(Ok(2)));
    assert_eq!(s.next().await, Some(Ok(6)));
    assert!(poll!(s.next()).is_pending());
    assert_eq!(sync.await.unwrap(), Ok(()));
    mgr.stop().await.unwrap();
    assert_eq!(s.next().await, None);
}
