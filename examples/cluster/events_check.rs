//! The events soak's records and checks (see `events_soak.rs` for the
//! setup and the numbered invariants): what every subscriber run printed,
//! every sync call's outcome, the fault windows, and the checks of
//! invariants 1-5 over them, plus the final table.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arbor_nats::{MirrorError, SyncNotifyError};
use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;

/// How long after a fault ends it may still explain a failure: a node
/// stopped long enough is declared down and rejoins (about 1 s after
/// `SIGCONT`), a client on a stopped server reconnects (ping 1 s).
const FAULT_MARGIN: Duration = Duration::from_secs(2);
/// A call is checked this long after it returned (its lines are read).
pub(crate) const CHECK_AFTER: Duration = Duration::from_secs(5);
/// Bound on the durable catch-up at the end (`ack_wait` is 5 s).
const SETTLE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sync,
    Durable,
}

/// What one run of a subscriber printed for one value.
pub(crate) struct Seen {
    pub(crate) count: u32,
    pub(crate) first: Instant,
    pub(crate) durable_seq: Option<u64>,
}

/// One process run of a subscriber.
pub(crate) struct Run {
    pub(crate) ready: Option<Instant>,
    pub(crate) ended: Option<Instant>,
    pub(crate) seen: HashMap<u64, Seen>,
    pub(crate) lines: u64,
    pub(crate) redelivered: u64,
}

pub(crate) struct Sub {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) runs: Vec<Run>,
    /// `SIGSTOP` … `SIGCONT` (open while stopped).
    pub(crate) stops: Vec<(Instant, Option<Instant>)>,
}

/// One `sync_notify` on the sync topic and what it returned.
pub(crate) struct Call {
    pub(crate) value: u64,
    pub(crate) t0: Instant,
    pub(crate) t1: Instant,
    pub(crate) result: Result<(), SyncNotifyError>,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) sync_ok: AtomicU64,
    pub(crate) sync_err: AtomicU64,
    /// Nodes named in failed calls, by reason, and by the fault that
    /// explains them.
    pub(crate) named_noconnection: AtomicU64,
    pub(crate) named_timeout: AtomicU64,
    pub(crate) named_other: AtomicU64,
    pub(crate) explained_by_node: AtomicU64,
    pub(crate) explained_by_server: AtomicU64,
    /// (Ok call, sync subscriber) pairs checked by invariant 1, and those
    /// left out because the subscriber was not up throughout the call.
    pub(crate) pairs_checked: AtomicU64,
    pub(crate) pairs_excluded: AtomicU64,
    pub(crate) durable_published: AtomicU64,
    pub(crate) durable_sync_err: AtomicU64,
    pub(crate) kills: AtomicU64,
    pub(crate) sub_hangs: AtomicU64,
    pub(crate) server_hangs: AtomicU64,
    pub(crate) server_kills: AtomicU64,
    pub(crate) server_restart_failures: AtomicU64,
    // Violations, per invariant.
    pub(crate) v1_missing: AtomicU64,
    pub(crate) v2_sync_dup: AtomicU64,
    pub(crate) v3_unexplained: AtomicU64,
    pub(crate) v4_lost: AtomicU64,
    pub(crate) v5_durable_dup: AtomicU64,
    pub(crate) v6_left: AtomicU64,
}

pub(crate) struct World {
    pub(crate) subs: Mutex<Vec<Sub>>,
    pub(crate) calls: Mutex<Vec<Call>>,
    /// Publication time of durable value `i + 1`.
    pub(crate) durable_at: Mutex<Vec<Instant>>,
    pub(crate) server_stops: Mutex<Vec<(Instant, Option<Instant>)>>,
    pub(crate) c: Counters,
    pub(crate) stop: AtomicBool,
}

pub(crate) fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// Records a run's output: READY, and every `EV` line (invariants 2, 5).
pub(crate) async fn read_lines(
    world: Arc<World>,
    idx: usize,
    run: usize,
    stdout: tokio::process::ChildStdout,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(text)) = lines.next_line().await {
        let now = Instant::now();
        if text.starts_with("READY") {
            world.subs.lock()[idx].runs[run].ready = Some(now);
            if let Some(tx) = ready.take() {
                let _ = tx.send(());
            }
            continue;
        }
        // EV <origin> <incarnation> <seq> <value> <redelivered> <durable_seq>
        let f: Vec<&str> = text.split(' ').collect();
        if f.len() < 7 || f[0] != "EV" {
            continue;
        }
        let Ok(value) = f[4].parse::<u64>() else {
            continue;
        };
        let redelivered = f[5] == "true";
        let durable_seq = f[6].parse::<u64>().ok();
        let mut subs = world.subs.lock();
        let sub = &mut subs[idx];
        let (name, kind) = (sub.name.clone(), sub.kind);
        let r = &mut sub.runs[run];
        r.lines += 1;
        r.redelivered += u64::from(redelivered);
        let seen = r.seen.entry(value).or_insert(Seen {
            count: 0,
            first: now,
            durable_seq,
        });
        seen.count += 1;
        if seen.count < 2 {
            continue;
        }
        match kind {
            Kind::Sync => {
                bump(&world.c.v2_sync_dup);
                println!("VIOLATION (2) {name} run {run} handled sync value {value} twice: {text}");
            }
            Kind::Durable => {
                bump(&world.c.v5_durable_dup);
                let what = if seen.durable_seq == durable_seq {
                    "the same stream sequence twice in one run"
                } else {
                    "a value stored twice (another stream sequence)"
                };
                println!(
                    "VIOLATION (5) {name} run {run}: {what}: value {value}, first seq {:?}: {text}",
                    seen.durable_seq
                );
            }
        }
    }
}

/// Invariants 1 and 3 for calls old enough, every second.
pub(crate) async fn checker(world: Arc<World>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Some(upto) = Instant::now().checked_sub(CHECK_AFTER) {
            check_calls(&world, upto);
        }
    }
}

/// Checks (and removes) the calls that returned before `upto`.
pub(crate) fn check_calls(world: &World, upto: Instant) {
    let done: Vec<Call> = {
        let mut calls = world.calls.lock();
        let n = calls.partition_point(|c| c.t1 < upto);
        calls.drain(..n).collect()
    };
    if done.is_empty() {
        return;
    }
    let subs = world.subs.lock();
    let server_stops = world.server_stops.lock();
    let overlaps = |w: &[(Instant, Option<Instant>)], c: &Call| {
        w.iter()
            .any(|&(s, e)| s <= c.t1 && e.is_none_or(|e| e + FAULT_MARGIN >= c.t0))
    };
    for c in &done {
        match &c.result {
            Ok(()) => {
                for s in subs.iter().filter(|s| s.kind == Kind::Sync) {
                    // Invariant 1 concerns runs up for the whole call.
                    let stopped = s
                        .stops
                        .iter()
                        .any(|&(a, b)| a <= c.t1 && b.is_none_or(|b| b >= c.t0));
                    let up = s.runs.iter().find(|r| {
                        r.ready.is_some_and(|t| t <= c.t0) && r.ended.is_none_or(|e| e >= c.t1)
                    });
                    let Some(r) = up.filter(|_| !stopped) else {
                        bump(&world.c.pairs_excluded);
                        continue;
                    };
                    bump(&world.c.pairs_checked);
                    if !r.seen.contains_key(&c.value) {
                        bump(&world.c.v1_missing);
                        println!(
                            "VIOLATION (1) sync value {} returned Ok after {:?} but {} (up throughout) did not handle it",
                            c.value,
                            c.t1 - c.t0,
                            s.name
                        );
                    }
                }
            }
            Err(SyncNotifyError::Partial { failed }) => {
                for f in failed {
                    bump(match f.reason {
                        MirrorError::NoConnection => &world.c.named_noconnection,
                        MirrorError::Timeout => &world.c.named_timeout,
                        _ => &world.c.named_other,
                    });
                    let name = f.node.to_string();
                    let sub = subs.iter().find(|s| s.name == name);
                    // A kill lasts until the next run is READY.
                    let by_node = sub.is_some_and(|s| {
                        let kills: Vec<_> = s
                            .runs
                            .iter()
                            .enumerate()
                            .filter_map(|(i, r)| {
                                let next = s.runs.get(i + 1).and_then(|n| n.ready);
                                r.ended.map(|e| (e, next))
                            })
                            .collect();
                        overlaps(&kills, c) || overlaps(&s.stops, c)
                    });
                    if by_node {
                        bump(&world.c.explained_by_node);
                        continue;
                    }
                    if overlaps(&server_stops, c) {
                        bump(&world.c.explained_by_server);
                        continue;
                    }
                    bump(&world.c.v3_unexplained);
                    println!(
                        "VIOLATION (3) sync value {}: {name} named ({}) with no fault near the call ({:?})",
                        c.value,
                        f.reason,
                        c.t1 - c.t0
                    );
                }
            }
            Err(e) => {
                bump(&world.c.v3_unexplained);
                println!("VIOLATION (3) sync value {}: unexpected error {e}", c.value);
            }
        }
    }
}

/// Waits (up to `SETTLE`) until every durable subscriber handled every
/// published value; how long it took.
pub(crate) async fn settle_durable(world: &World) -> Duration {
    let start = Instant::now();
    while start.elapsed() < SETTLE && durable_lost(world, false) > 0 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    start.elapsed()
}

/// Published durable values some durable subscriber never handled
/// (invariant 4); with `verbose`, prints the first few.
pub(crate) fn durable_lost(world: &World, verbose: bool) -> u64 {
    let published = world.durable_at.lock().len() as u64;
    let subs = world.subs.lock();
    let mut lost = 0;
    for s in subs.iter().filter(|s| s.kind == Kind::Durable) {
        let all: HashSet<u64> = s.runs.iter().flat_map(|r| r.seen.keys().copied()).collect();
        let missing: Vec<u64> = (1..=published).filter(|v| !all.contains(v)).collect();
        lost += missing.len() as u64;
        if verbose && !missing.is_empty() {
            println!(
                "VIOLATION (4) {}: {} durable values never handled, first {:?}",
                s.name,
                missing.len(),
                &missing[..missing.len().min(10)]
            );
        }
    }
    lost
}

pub(crate) fn progress(world: &World, t: Duration) {
    let c = &world.c;
    let handled: Vec<String> = world
        .subs
        .lock()
        .iter()
        .map(|s| format!("{} {}", s.name, s.runs.iter().map(|r| r.lines).sum::<u64>()))
        .collect();
    println!(
        "[{:>5.1}s] sync ok {} err {} | durable published {} | handled {} | faults: kills {} hangs {} server-hangs {} server-kills {} | VIOLATIONS (1) {} (2) {} (3) {} (5) {}",
        t.as_secs_f64(),
        get(&c.sync_ok),
        get(&c.sync_err),
        get(&c.durable_published),
        handled.join(", "),
        get(&c.kills),
        get(&c.sub_hangs),
        get(&c.server_hangs),
        get(&c.server_kills),
        get(&c.v1_missing),
        get(&c.v2_sync_dup),
        get(&c.v3_unexplained),
        get(&c.v5_durable_dup),
    );
}

pub(crate) struct Report {
    pub(crate) load_time: Duration,
    pub(crate) settle: Duration,
    pub(crate) rss: (u64, u64),
    pub(crate) rss_pub: (u64, u64),
    pub(crate) children_before_stop: usize,
    pub(crate) export_retries: u64,
}

impl Report {
    pub(crate) fn print(&self, world: &World) {
        let c = &world.c;
        let durable_at = world.durable_at.lock();
        let subs = world.subs.lock();
        println!("\n| | |\n|---|---|");
        println!(
            "| duration (load) | {:.0} s |",
            self.load_time.as_secs_f64()
        );
        println!(
            "| `sync_notify` calls Ok / error (bridge retries) | {} / {} ({}) |",
            get(&c.sync_ok),
            get(&c.sync_err),
            self.export_retries
        );
        println!(
            "| invariant 1: (Ok call, sync subscriber) pairs checked / left out (not up throughout) | {} / {} |",
            get(&c.pairs_checked),
            get(&c.pairs_excluded)
        );
        println!(
            "| nodes named in errors: `noconnection` / `timeout` / other; by a node fault / a server fault | {} / {} / {}; {} / {} |",
            get(&c.named_noconnection),
            get(&c.named_timeout),
            get(&c.named_other),
            get(&c.explained_by_node),
            get(&c.explained_by_server)
        );
        println!(
            "| durable published (`sync_notify` errors) | {} ({}) |",
            get(&c.durable_published),
            get(&c.durable_sync_err)
        );
        for s in subs.iter() {
            let lines: u64 = s.runs.iter().map(|r| r.lines).sum();
            let redelivered: u64 = s.runs.iter().map(|r| r.redelivered).sum();
            let mut first: HashMap<u64, Instant> = HashMap::new();
            for r in &s.runs {
                for (v, seen) in &r.seen {
                    let f = first.entry(*v).or_insert(seen.first);
                    *f = (*f).min(seen.first);
                }
            }
            let extra = lines - first.len() as u64;
            let lag = if s.kind == Kind::Durable {
                let max = first
                    .iter()
                    .filter_map(|(v, t)| Some(t.duration_since(*durable_at.get(*v as usize - 1)?)))
                    .max()
                    .unwrap_or_default();
                format!(", max catch-up lag {:.2} s", max.as_secs_f64())
            } else {
                String::new()
            };
            println!(
                "| {} ({}) | {} runs, {} handled, {} distinct, {} again in a later run ({} flagged redelivered){} |",
                s.name,
                if s.kind == Kind::Sync {
                    "sync"
                } else {
                    "durable"
                },
                s.runs.len(),
                lines,
                first.len(),
                extra,
                redelivered,
                lag
            );
        }
        println!(
            "| durable settle at the end | {:.1} s |",
            self.settle.as_secs_f64()
        );
        println!(
            "| faults: kills / subscriber hangs / server hangs / server kills (not back) | {} / {} / {} / {} ({}) |",
            get(&c.kills),
            get(&c.sub_hangs),
            get(&c.server_hangs),
            get(&c.server_kills),
            get(&c.server_restart_failures)
        );
        println!(
            "| violations (1) missed / (2) sync twice in a run / (3) unexplained error | {} / {} / {} |",
            get(&c.v1_missing),
            get(&c.v2_sync_dup),
            get(&c.v3_unexplained)
        );
        println!(
            "| violations (4) durable lost / (5) durable twice in a run / (6) unclean stop | {} / {} / {} |",
            get(&c.v4_lost),
            get(&c.v5_durable_dup),
            get(&c.v6_left)
        );
        println!(
            "| RSS subscribers before → after; publisher process | {} → {} KiB; {} → {} KiB |",
            self.rss.0, self.rss.1, self.rss_pub.0, self.rss_pub.1
        );
        println!(
            "| child processes before stop (4 subscribers + 3 servers) | {} |",
            self.children_before_stop
        );
    }
}
