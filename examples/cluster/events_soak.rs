//! Chaos for remote event managers: a publisher node in this process
//! exports two `u64` topics on a cluster of three nats-servers (JetStream
//! R3), one at `Level::SyncNotify` (with retry) and one at
//! `Level::Durable`; four subscriber nodes run as OS processes (this
//! example re-executed with `--events-node`, i.e.
//! `arbor_nats::testkit::run_events_node`), two per topic, under stable
//! names so that a restarted durable subscriber resumes its consumer. Load:
//! a steady stream of `sync_notify`s on the sync topic and of durable
//! publications (`notify` on the exported manager, every 20th through
//! `ExportedEvents::sync_notify`, which returns once stored), each value a
//! running counter. Faults every 2–5 s: `kill -9` a subscriber (restarted
//! 1–2 s later), `SIGSTOP` a subscriber (0.3–1.5 s) or a server
//! (0.5–2.5 s), or `kill -9` a server (restarted on its store 1–2 s
//! later); the publisher is never faulted.
//!
//! `SYNC_RETRY=0` runs the sync topic without retry: calls made while a
//! subscriber is down then fail naming it, which exercises invariant 3.
//!
//! Invariants (checked continuously where the outcome is known, and at the
//! end after a settle period; every violation is printed):
//!
//! 1. Sync, exactly once: for every `sync_notify` that returned `Ok`,
//!    every sync subscriber run that was READY before the call began and
//!    was neither killed nor stopped before it returned printed the value
//!    (checked 5 s after the call, so its line has been read).
//! 2. Sync, no duplicate within a run: a mirror drops retries by
//!    `(origin, incarnation, seq)` (docs: "a node that stayed up handles
//!    the event once"), so one process run printing a value twice is a
//!    violation, whatever the calls returned.
//! 3. Sync, errors name faulted nodes: a call that failed returns
//!    `Partial` naming nodes; each must have been killed or stopped, or a
//!    server stopped, within `FAULT_MARGIN` of the call. Any other error
//!    kind (the manager gone) is a violation.
//! 4. Durable, never lost: at the end (after up to `SETTLE` for
//!    redeliveries after `ack_wait`), every published value was handled by
//!    each durable subscriber, in some run.
//! 5. Durable, one stream sequence once per run (events invariant 2) and
//!    one stream sequence per value (the `Nats-Msg-Id` dedup): a value
//!    printed twice in one run is a violation. Across runs it is a
//!    redelivery, allowed (at least once), and counted.
//! 6. Nothing left: every subscriber stops in order (exit 0), the servers
//!    are killed, no child process remains. Exit code 0 only with no
//!    violation.
//!
//! This file runs the processes, the load and the faults; the records and
//! the checks are in `events_check.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arbor::genevent::{EventManager, EventManagerRef};
use arbor_nats::testkit::NatsCluster;
use arbor_nats::{Credentials, EventTopic, ExportedEvents, Level, Node};
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin};
use tokio::sync::oneshot;

use crate::events_check::{
    CHECK_AFTER, Call, Counters, Kind, Report, Run, Sub, World, bump, check_calls, checker,
    durable_lost, get, progress, read_lines, settle_durable,
};
use crate::procs::{children, rss_kib, signal, spawn_self};
use crate::soak::Rng;

const SYNC_TOPIC: &str = "soak_sync";
const DURABLE_TOPIC: &str = "soak_durable";
/// Events per second on each topic.
const RATE: u64 = 200;
/// Every this many durable events, one goes through `sync_notify`.
const DURABLE_SYNC_EVERY: u64 = 20;
/// A mirror that does not answer within this is asked again...
const SYNC_TIMEOUT: Duration = Duration::from_millis(500);
/// ...for this long, across a restart of its node (then named in `Partial`).
const RETRY_FOR: Duration = Duration::from_secs(2);
const TICK_MS: u64 = 250;

/// How a subscriber process is started.
struct Launch {
    urls: Vec<String>,
    credentials: Credentials,
}

/// A running subscriber process.
struct SubProc {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl SubProc {
    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// End of input: the node stops in order; `true` if it exited 0.
    async fn stop(&mut self) -> bool {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.shutdown().await;
        }
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(Ok(status)) => status.success(),
            _ => {
                let _ = self.child.kill().await;
                false
            }
        }
    }
}

/// Starts a new run of subscriber `idx` and waits for its READY; its
/// lines are recorded by a reader task from the first one on.
async fn start_sub(launch: &Launch, world: &Arc<World>, idx: usize) -> Result<SubProc, String> {
    let (name, kind, run) = {
        let mut subs = world.subs.lock();
        let s = &mut subs[idx];
        s.runs.push(Run {
            ready: None,
            ended: None,
            seen: HashMap::new(),
            lines: 0,
            redelivered: 0,
        });
        (s.name.clone(), s.kind, s.runs.len() - 1)
    };
    let (topic, level) = match kind {
        Kind::Sync => (SYNC_TOPIC, "sync"),
        Kind::Durable => (DURABLE_TOPIC, "durable"),
    };
    let mut child = spawn_self(
        "--events-node",
        &name,
        &launch.urls,
        &launch.credentials,
        &[
            "--tick-ms",
            &TICK_MS.to_string(),
            "--kv-replicas",
            "3",
            "--topic",
            topic,
            "--level",
            level,
        ],
    )?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stdin = child.stdin.take();
    let (ready_tx, ready_rx) = oneshot::channel();
    tokio::spawn(read_lines(world.clone(), idx, run, stdout, ready_tx));
    match tokio::time::timeout(Duration::from_secs(30), ready_rx).await {
        Ok(Ok(())) => Ok(SubProc { child, stdin }),
        Ok(Err(_)) => Err(format!("{name}: exited before it was ready")),
        Err(_) => Err(format!("{name}: not ready within 30 s")),
    }
}

pub(crate) async fn run(duration: Duration) -> i32 {
    match soak(duration).await {
        Ok(violations) => {
            let left = children();
            println!("processes left after stop: {} {left:?}", left.len());
            i32::from(violations > 0 || !left.is_empty())
        }
        Err(e) => {
            eprintln!("events soak failed: {e}");
            1
        }
    }
}

async fn soak(duration: Duration) -> Result<u64, String> {
    let Some(mut cluster) = NatsCluster::start(3).await else {
        return Err("nats-server is not installed".into());
    };
    let launch = Launch {
        urls: cluster.urls(),
        credentials: cluster.servers()[0].credentials(),
    };
    let config = cluster
        .node_config("pub")
        .kv_replicas(3)
        .tick(Duration::from_millis(TICK_MS));
    let node = Node::start(config).await.map_err(|e| e.to_string())?;
    // `SYNC_RETRY=0`: no retry, so every call made while a subscriber is
    // down fails, naming it (invariant 3 under load).
    let retry = std::env::var("SYNC_RETRY").map_or(true, |v| v != "0");
    let mut sync_topic = EventTopic::<u64>::new(SYNC_TOPIC)
        .level(Level::SyncNotify)
        .sync_timeout(SYNC_TIMEOUT);
    if retry {
        sync_topic = sync_topic.retry_until_confirmed(RETRY_FOR);
    }
    let durable_topic = EventTopic::<u64>::new(DURABLE_TOPIC).level(Level::Durable);
    let sync_mgr = EventManager::<u64>::start()
        .await
        .map_err(|e| e.to_string())?;
    let durable_mgr = EventManager::<u64>::start()
        .await
        .map_err(|e| e.to_string())?;
    let sync_export = node
        .export_events(&sync_topic, &sync_mgr)
        .await
        .map_err(|e| e.to_string())?;
    let durable_export = node
        .export_events(&durable_topic, &durable_mgr)
        .await
        .map_err(|e| e.to_string())?;
    let names = [
        ("s1", Kind::Sync),
        ("s2", Kind::Sync),
        ("d1", Kind::Durable),
        ("d2", Kind::Durable),
    ];
    let world = Arc::new(World {
        subs: Mutex::new(
            names
                .iter()
                .map(|(n, k)| Sub {
                    name: (*n).to_owned(),
                    kind: *k,
                    runs: Vec::new(),
                    stops: Vec::new(),
                })
                .collect(),
        ),
        calls: Mutex::new(Vec::new()),
        durable_at: Mutex::new(Vec::new()),
        server_stops: Mutex::new(Vec::new()),
        c: Counters::default(),
        stop: AtomicBool::new(false),
    });
    let mut procs = Vec::new();
    for i in 0..names.len() {
        procs.push(Some(start_sub(&launch, &world, i).await?));
    }
    let registered = Instant::now();
    while sync_export.stats().subscribers < 2 {
        if registered.elapsed() > Duration::from_secs(10) {
            return Err("sync subscribers not registered in 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sub_pids = |procs: &[Option<SubProc>]| -> Vec<u32> {
        procs.iter().flatten().filter_map(SubProc::pid).collect()
    };
    let rss = |ps: &[u32]| ps.iter().filter_map(|p| rss_kib(*p)).sum::<u64>();
    let rss_before = rss(&sub_pids(&procs));
    let rss_pub_before = rss_kib(std::process::id()).unwrap_or(0);
    println!(
        "events soak: {duration:?}, publisher + 4 subscriber processes (s1 s2: {SYNC_TOPIC}, sync_notify with retry {:?}, timeout {SYNC_TIMEOUT:?}; d1 d2: {DURABLE_TOPIC}, durable) on 3 nats-servers (R3), {RATE}/s per topic",
        retry.then_some(RETRY_FOR)
    );
    let seed = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let sync_load = tokio::spawn(sync_load(world.clone(), sync_export.clone()));
    let durable_load = tokio::spawn(durable_load(
        world.clone(),
        durable_export.clone(),
        durable_mgr.clone(),
    ));
    let checker = tokio::spawn(checker(world.clone()));
    let started = Instant::now();
    let mut rng = Rng(seed ^ 0xe7e7);
    let mut next_report = Duration::from_secs(10);
    while started.elapsed() < duration {
        tokio::time::sleep(rng.ms(2000, 5000)).await;
        let at = started.elapsed().as_secs_f64();
        match rng.below(100) {
            0..40 => {
                let victim = rng.below(4) as usize;
                let name = names[victim].0;
                println!("[{at:>5.1}s] kill -9 {name}");
                {
                    let mut subs = world.subs.lock();
                    if let Some(r) = subs[victim].runs.last_mut() {
                        r.ended = Some(Instant::now());
                    }
                }
                if let Some(mut p) = procs[victim].take() {
                    let _ = p.child.kill().await;
                }
                bump(&world.c.kills);
                tokio::time::sleep(rng.ms(1000, 2000)).await;
                procs[victim] = Some(restart(&launch, &world, victim).await?);
            }
            40..75 => {
                let victim = rng.below(4) as usize;
                let pause = rng.ms(300, 1500);
                let Some(pid) = procs[victim].as_ref().and_then(SubProc::pid) else {
                    continue;
                };
                println!("[{at:>5.1}s] SIGSTOP {} for {pause:?}", names[victim].0);
                world.subs.lock()[victim].stops.push((Instant::now(), None));
                signal(pid, "STOP");
                bump(&world.c.sub_hangs);
                tokio::time::sleep(pause).await;
                signal(pid, "CONT");
                if let Some(s) = world.subs.lock()[victim].stops.last_mut() {
                    s.1 = Some(Instant::now());
                }
            }
            75..88 => {
                let victim = rng.below(3) as usize;
                let pause = rng.ms(500, 2500);
                let Some(pid) = cluster.servers()[victim].pid() else {
                    continue;
                };
                println!("[{at:>5.1}s] SIGSTOP server s{} for {pause:?}", victim + 1);
                world.server_stops.lock().push((Instant::now(), None));
                signal(pid, "STOP");
                bump(&world.c.server_hangs);
                tokio::time::sleep(pause).await;
                signal(pid, "CONT");
                if let Some(s) = world.server_stops.lock().last_mut() {
                    s.1 = Some(Instant::now());
                }
            }
            _ => {
                // A server crash, restarted on its store after a pause;
                // for invariant 3 it is a server fault like a hang.
                let victim = rng.below(3) as usize;
                println!("[{at:>5.1}s] kill -9 server s{}", victim + 1);
                world.server_stops.lock().push((Instant::now(), None));
                cluster.server_mut(victim).kill().await;
                bump(&world.c.server_kills);
                tokio::time::sleep(rng.ms(1000, 2000)).await;
                if let Err(e) = cluster.server_mut(victim).restart().await {
                    println!("server s{} did not come back: {e}", victim + 1);
                    bump(&world.c.server_restart_failures);
                }
                if let Some(s) = world.server_stops.lock().last_mut() {
                    s.1 = Some(Instant::now());
                }
            }
        }
        if started.elapsed() >= next_report {
            next_report += Duration::from_secs(10);
            progress(&world, started.elapsed());
        }
    }
    world.stop.store(true, Ordering::SeqCst);
    let _ = sync_load.await;
    let _ = durable_load.await;
    let load_time = started.elapsed();
    // Every durable value is stored once this returns (it waits for the
    // events before it), so the settle below only waits for consumers.
    let last = {
        let mut at = world.durable_at.lock();
        at.push(Instant::now());
        at.len() as u64
    };
    bump(&world.c.durable_published);
    if let Err(e) = durable_export.sync_notify(last).await {
        println!("final durable sync_notify: {e}");
    }
    let settle = settle_durable(&world).await;
    tokio::time::sleep(CHECK_AFTER).await;
    checker.abort();
    let _ = checker.await;
    check_calls(&world, Instant::now());
    let lost = durable_lost(&world, true);
    world.c.v4_lost.fetch_add(lost, Ordering::Relaxed);
    let rss_after = rss(&sub_pids(&procs));
    let rss_pub_after = rss_kib(std::process::id()).unwrap_or(0);
    let before_stop = children().len();
    for (i, p) in procs.iter_mut().enumerate() {
        if let Some(p) = p
            && !p.stop().await
        {
            bump(&world.c.v6_left);
            println!("VIOLATION (6) {} did not stop cleanly", names[i].0);
        }
    }
    node.stop().await;
    for i in 0..3 {
        cluster.server_mut(i).kill().await;
    }
    let report = Report {
        load_time,
        settle,
        rss: (rss_before, rss_after),
        rss_pub: (rss_pub_before, rss_pub_after),
        children_before_stop: before_stop,
        export_retries: sync_export.stats().retries,
    };
    report.print(&world);
    let c = &world.c;
    Ok(get(&c.v1_missing)
        + get(&c.v2_sync_dup)
        + get(&c.v3_unexplained)
        + get(&c.v4_lost)
        + get(&c.v5_durable_dup)
        + get(&c.v6_left)
        + get(&c.durable_sync_err))
}

/// A new run after a kill; a start that fails (a server stopped meanwhile,
/// say) is tried again, up to three times.
async fn restart(launch: &Launch, world: &Arc<World>, idx: usize) -> Result<SubProc, String> {
    let mut last = String::new();
    for _ in 0..3 {
        match start_sub(launch, world, idx).await {
            Ok(p) => return Ok(p),
            Err(e) => {
                println!("restart failed, again: {e}");
                last = e;
            }
        }
    }
    Err(last)
}

/// `RATE` `sync_notify`s per second (fewer while one waits for retries:
/// calls through one export are serialised).
async fn sync_load(world: Arc<World>, export: ExportedEvents<u64>) {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut value = 0;
    while !world.stop.load(Ordering::SeqCst) {
        tick.tick().await;
        value += 1;
        let t0 = Instant::now();
        let result = export.sync_notify(value).await;
        let t1 = Instant::now();
        bump(if result.is_ok() {
            &world.c.sync_ok
        } else {
            &world.c.sync_err
        });
        world.calls.lock().push(Call {
            value,
            t0,
            t1,
            result,
        });
    }
}

/// `RATE` durable publications per second: `notify` on the manager (the
/// bridge stores each in JetStream before the next), every
/// `DURABLE_SYNC_EVERY`th through the export's `sync_notify`.
async fn durable_load(world: Arc<World>, export: ExportedEvents<u64>, mgr: EventManagerRef<u64>) {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !world.stop.load(Ordering::SeqCst) {
        tick.tick().await;
        let value = {
            let mut at = world.durable_at.lock();
            at.push(Instant::now());
            at.len() as u64
        };
        bump(&world.c.durable_published);
        if value % DURABLE_SYNC_EVERY == 0 {
            if let Err(e) = export.sync_notify(value).await {
                bump(&world.c.durable_sync_err);
                println!("durable sync_notify {value}: {e}");
            }
        } else {
            mgr.notify(value);
        }
    }
}
