//! Events lost per delivery level while a subscribing node is down about
//! one second (killed with SIGKILL, restarted a second later), at 1,000
//! events/s for 3 s. A measurement, not a test of a bound: ignored by
//! default, run with
//!
//! ```text
//! cargo test --release -p arbor-nats --test events_loss -- --ignored --nocapture
//! ```

mod common;
mod events_node;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use arbor_genevent::EventManager;
use arbor_nats::testkit::NatsServer;
use arbor_nats::{EventTopic, Level};

use common::start_node;
use events_node::EventsNode;

const EVENTS: u64 = 3_000;
const RATE_GAP: Duration = Duration::from_millis(1);

async fn run(level: Level, arg: &str) {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = start_node(&server, "n1", &[]).await;
    let name = format!("loss_{arg}");
    let mut topic = EventTopic::<u64>::new(name.as_str()).level(level);
    if level == Level::SyncNotify {
        topic = topic
            .sync_timeout(Duration::from_millis(200))
            .retry_until_confirmed(Duration::from_secs(10));
    }
    let mgr = EventManager::<u64>::start().await.unwrap();
    let export = n1.export_events(&topic, &mgr).await.unwrap();
    let mut sub = EventsNode::start(&server, "n2", &name, arg).await;
    if level == Level::SyncNotify {
        let deadline = Instant::now() + Duration::from_secs(5);
        while export.stats().subscribers == 0 {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let start = Instant::now();
    let sender = tokio::spawn({
        let export = export.clone();
        let mgr = mgr.clone();
        async move {
            let mut longest = Duration::ZERO;
            let mut failed = 0u64;
            for i in 1..=EVENTS {
                tokio::time::sleep_until((start + RATE_GAP * i as u32).into()).await;
                if level == Level::SyncNotify {
                    let t = Instant::now();
                    if export.sync_notify(i).await.is_err() {
                        failed += 1;
                    }
                    longest = longest.max(t.elapsed());
                } else {
                    mgr.notify(i);
                }
            }
            (longest, failed)
        }
    });
    let mut seen = Vec::new();
    tokio::time::sleep_until((start + Duration::from_secs(1)).into()).await;
    sub.drain(&mut seen);
    sub.child.start_kill().unwrap();
    sub.child.wait().await.unwrap();
    let killed = start.elapsed();
    sub.drain(&mut seen);
    tokio::time::sleep_until((start + Duration::from_secs(2)).into()).await;
    let mut sub = EventsNode::start(&server, "n2", &name, arg).await;
    let back = start.elapsed();
    let (longest, failed) = sender.await.unwrap();
    // What is on its way arrives (durable: also what the killed run had
    // taken, after ack_wait).
    let all: BTreeSet<u64> = (1..=EVENTS).collect();
    let settle = Instant::now() + Duration::from_secs(if level == Level::Durable { 12 } else { 2 });
    loop {
        sub.drain(&mut seen);
        let distinct: BTreeSet<u64> = seen.iter().copied().collect();
        if distinct == all || Instant::now() > settle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let distinct: BTreeSet<u64> = seen.iter().copied().collect();
    let lost = EVENTS - distinct.len() as u64;
    let stats = export.stats();
    println!(
        "LOSS level={arg} events={EVENTS} killed_at={killed:.2?} back_at={back:.2?} \
         handled={} lost={lost} duplicates={} sync_failed={failed} longest_sync_notify={longest:.2?} \
         bridge_dropped={} retries={}",
        distinct.len(),
        seen.len() - distinct.len(),
        stats.dropped,
        stats.retries,
    );
    drop(sub);
    n1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn events_lost_while_a_subscriber_is_down_about_one_second() {
    run(Level::Notify, "notify").await;
    run(Level::SyncNotify, "sync").await;
    run(Level::Durable, "durable").await;
}
