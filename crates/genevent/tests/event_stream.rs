//! Event streams (docs/otp/gen_event.md#ev-elixir-014 to docs/otp/gen_event.md#ev-elixir-1x, Elixir 1.x semantics).

mod support;

use std::time::Duration;

use arbor_genevent::{EventManager, RemoveReason, StreamError, StreamOpts};
use arbor_process::ExitReason;
use arbor_process::Process;
use futures::StreamExt;
use support::{Ev, Probe, drain, id, log};
use tokio::time::Instant;

/// A stream yields every event notified after it was created, in order.
#[tokio::test]
async fn stream_yields_events_in_order() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
    for n in 1..=3 {
        mgr.notify(n);
    }
    let got: Vec<_> = (&mut s).take(3).collect().await;
    assert_eq!(got, [Ok(1), Ok(2), Ok(3)]);
}

/// The subscription is a handler listed by which_handlers; dropping the
/// stream removes it (`Enum.take` in Elixir).
#[tokio::test]
async fn stream_drop_removes_handler() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    let s = mgr.stream(StreamOpts::default()).await.unwrap();
    assert_eq!(
        mgr.which_handlers().await.unwrap(),
        [id("a"), s.id().clone()]
    );
    drop(s);
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("a")]);
}

/// Consumer death removes the handler: a consumer task that is aborted
/// drops its stream.
#[tokio::test]
async fn stream_consumer_death_removes_handler() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let s = mgr.stream(StreamOpts::default()).await.unwrap();
    let stream_id = s.id().clone();
    let consumer = arbor_process::spawn(move |_: arbor_process::Ctx<()>| async move {
        let mut s = s;
        let _ = s.next().await; // never comes
        ExitReason::Normal
    });
    assert_eq!(mgr.which_handlers().await.unwrap(), [stream_id]);
    arbor_process::kill(consumer.pid());
    assert_eq!(consumer.wait().await, ExitReason::Killed);
    // The stream was dropped with the consumer; its unsubscribe is queued
    // before anything sent from here on.
    mgr.sync_notify(1).await.unwrap();
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// sync_notify waits until the consumer processed the event (asked for the
/// next one): with a consumer taking 300 ms per event, two sync_notify calls
/// take 600 ms; notify returns at once (Elixir 1.x measured 603 ms / 0 ms).
#[tokio::test(start_paused = true)]
async fn sync_notify_backpressure_slow_consumer() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
    let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(n)) = s.next().await {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = done_tx.send(n);
        }
    });
    let t0 = Instant::now();
    mgr.sync_notify(1).await.unwrap();
    mgr.sync_notify(2).await.unwrap();
    assert_eq!(t0.elapsed(), Duration::from_millis(600));
    assert_eq!((done.try_recv(), done.try_recv()), (Ok(1), Ok(2)));

    let t1 = Instant::now();
    mgr.notify(3);
    mgr.notify(4);
    assert_eq!(t1.elapsed(), Duration::ZERO);
    assert_eq!((done.recv().await, done.recv().await), (Some(3), Some(4)));
}

/// Per-item timeout: no event within it → `Timeout`, then the stream ends.
#[tokio::test(start_paused = true)]
async fn stream_timeout_per_item() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let opts = StreamOpts::default().timeout(Duration::from_millis(100));
    let mut s = mgr.stream(opts).await.unwrap();
    mgr.notify(1);
    assert_eq!(s.next().await, Some(Ok(1)));
    let t0 = Instant::now();
    assert_eq!(s.next().await, Some(Err(StreamError::Timeout)));
    assert_eq!(t0.elapsed(), Duration::from_millis(100));
    assert_eq!(s.next().await, None);
    drop(s);
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// The timeout restarts for every item: events 60 ms apart never time out
/// with a 100 ms timeout.
#[tokio::test(start_paused = true)]
async fn stream_timeout_restarts_per_item() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let opts = StreamOpts::default().timeout(Duration::from_millis(100));
    let mut s = mgr.stream(opts).await.unwrap();
    let producer = tokio::spawn({
        let mgr = mgr.clone();
        async move {
            for n in 1..=3 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                mgr.notify(n);
            }
        }
    });
    let got: Vec<_> = (&mut s).take(3).collect().await;
    assert_eq!(got, [Ok(1), Ok(2), Ok(3)]);
    producer.await.unwrap();
}

/// Manager stop ends the stream normally (Elixir 1.4).
#[tokio::test]
async fn stream_ends_on_manager_stop() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
    mgr.notify(1);
    mgr.stop().await.unwrap();
    assert_eq!(s.next().await, Some(Ok(1)));
    assert_eq!(s.next().await, None);
}

/// A killed manager ends the stream with an error carrying the reason.
#[tokio::test]
async fn stream_errors_on_manager_killed() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
    arbor_process::kill(mgr.pid());
    assert_eq!(mgr.wait().await, ExitReason::Killed);
    assert_eq!(
        s.next().await,
        Some(Err(StreamError::ManagerExited(ExitReason::Killed)))
    );
    assert_eq!(s.next().await, None);
}

/// remove_handler on the stream's id (Elixir `cancel_streams`) ends it
/// normally.
#[tokio::test]
async fn stream_removed_ends_normally() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
    let sid = s.id().clone();
    mgr.remove_handler(&sid).await.unwrap();
    assert_eq!(s.next().await, None);
}

/// The stream handler swapped away → the stream ends with `{swapped, ..}`.
#[tokio::test]
async fn stream_swapped_away_errors() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
    let sid = s.id().clone();
    mgr.swap_handler(&sid, id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    assert_eq!(
        s.next().await,
        Some(Err(StreamError::Removed(RemoveReason::Swapped {
            to: id("a")
        })))
    );
    assert_eq!(s.next().await, None);
}

/// stream() on a dead manager → noproc.
#[tokio::test]
async fn stream_on_dead_manager_noproc() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    mgr.stop().await.unwrap();
    let err = mgr.stream(StreamOpts::default()).await.unwrap_err();
    assert_eq!(err, arbor_process::CallError::NoProcess);
}

/// Several streams and handlers at once: each sees every event, in the
/// dispatch order of registration.
#[tokio::test]
async fn several_streams_and_handlers() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    let mut s1 = mgr.stream(StreamOpts::default()).await.unwrap();
    let mut s2 = mgr.stream(StreamOpts::default()).await.unwrap();
    mgr.add_handler(id("b"), Probe::new("b", &log))
        .await
        .unwrap();
    drain(&mut rx);
    for n in 1..=2 {
        mgr.notify(Ev::N(n));
    }
    mgr.stop().await.unwrap();
    let all1: Vec<_> = (&mut s1).collect().await;
    let all2: Vec<_> = (&mut s2).collect().await;
    assert_eq!(all1, [Ok(Ev::N(1)), Ok(Ev::N(2))]);
    assert_eq!(all2, all1);
    assert_eq!(
        drain(&mut rx),
        [
            "a:N(1)",
            "b:N(1)",
            "a:N(2)",
            "b:N(2)",
            "a:terminate:stop",
            "b:terminate:stop"
        ]
    );
}

/// Dropping a stream while the manager waits for its acknowledgement
/// releases the manager (the event counts as processed).
#[tokio::test]
async fn stream_drop_releases_pending_sync_notify() {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
    let pending = tokio::spawn({
        let mgr = mgr.clone();
        async move { mgr.sync_notify(1).await }
    });
    assert_eq!(s.next().await, Some(Ok(1)));
    drop(s);
    assert_eq!(pending.await.unwrap(), Ok(()));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// A user handler squatting on a stream id does not break `stream()`.
#[tokio::test]
async fn stream_id_taken_by_user_handler_skips_it() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let probe = mgr.stream(StreamOpts::default()).await.unwrap();
    let next_n: u64 = probe.id().tag_str().unwrap().parse::<u64>().unwrap() + 1;
    let squatter = arbor_genevent::HandlerId::new("EventStream").tag(next_n.to_string());
    mgr.add_handler(squatter.clone(), Probe::new("sq", &log))
        .await
        .unwrap();
    let s = mgr.stream(StreamOpts::default()).await.unwrap();
    assert_ne!(s.id(), &squatter);
    assert_eq!(
        mgr.which_handlers().await.unwrap(),
        [probe.id().clone(), squatter, s.id().clone()]
    );
}
