//! Chaos across nodes: three todo nodes (OS processes) on a cluster of
//! three nats-servers (KV with 3 replicas), client load with a model of
//! every list, and random faults: `kill -9` of a node (restarted after a
//! pause), `SIGSTOP` of a node (a hang, long enough to be declared down
//! about half the time), `SIGSTOP` of a server, `kill -9` of a server
//! (restarted on its store after a pause). Invariants, checked
//! continuously:
//!
//! 1. No shard served by two nodes: every half second each running node
//!    lists the shards it may serve (owned, lease valid, with its epoch).
//!    The nodes answer one after the other, so a shard in two lists may
//!    only have been handed over between the two answers: the node that
//!    answered first is asked again, and only if it still serves the
//!    shard at the same epoch (it served it without a break, since a lapse
//!    of its lease changes the epoch when it is confirmed) is it a
//!    violation.
//! 2. No wrong answer: each list has one client worker, which knows what
//!    it holds; a `LIST` that differs (beyond items whose `PUT` got no
//!    answer) is a violation: a stale owner answering after fencing
//!    would show as the items of a list that was lost.
//! 3. No shard left on a dead incarnation: every shard is served again
//!    within 20 s of a fault.
//! 4. Events in order per origin: every node's view of every origin's
//!    `seq` only grows (gaps are losses, counted: core NATS is at most
//!    once).
//!
//! Not checked here: acknowledged `sync_notify` exactly once and durable
//! events (the remote event managers are not part of this service; see
//! `events_soak.rs`, `--soak-events`).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsCluster;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::procs::{Client, Launch, NodeProc, children, rss_kib, signal};

const SHARDS: u32 = 16;
const WORKERS: usize = 6;
const LISTS_PER_WORKER: usize = 3;

#[derive(Default)]
struct Stats {
    ops: AtomicU64,
    ok: AtomicU64,
    unavailable: AtomicU64,
    lost_lists: AtomicU64,
    conn_errors: AtomicU64,
    wrong_answers: AtomicU64,
    two_owners: AtomicU64,
    stuck_shards: AtomicU64,
    event_order: AtomicU64,
    events: AtomicU64,
    event_gaps: AtomicU64,
    noconnection_exits: AtomicU64,
    node_kills: AtomicU64,
    node_hangs: AtomicU64,
    server_hangs: AtomicU64,
    server_kills: AtomicU64,
    server_restart_failures: AtomicU64,
    downs: AtomicU64,
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// A node slot: its current process, address, and OWNED answers.
struct Slot {
    name: String,
    proc: Option<NodeProc>,
    owned_rx: Option<mpsc::UnboundedReceiver<Vec<(u32, u64)>>>,
    hung: bool,
}

struct World {
    stats: Stats,
    addrs: Mutex<Vec<SocketAddr>>,
    stop: AtomicBool,
}

/// splitmix64: a seeded, reproducible fault schedule (`SEED=`).
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(crate) fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo))
    }
}

pub(crate) async fn run(duration: Duration) -> i32 {
    match soak(duration).await {
        Ok(violations) => {
            let left = children();
            println!("processes left after stop: {}", left.len());
            if violations == 0 && left.is_empty() {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("soak failed: {e}");
            1
        }
    }
}

/// Starts a node in `slot`, with a task reading its output.
async fn start_node(
    launch: &Launch,
    slot: &mut Slot,
    world: &Arc<World>,
    idx: usize,
) -> Result<(), String> {
    let mut p = NodeProc::start(launch, &slot.name).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let mut lines = std::mem::replace(&mut p.lines, mpsc::unbounded_channel().1);
    let w = world.clone();
    tokio::spawn(async move {
        // Per origin incarnation, the last seq this node saw.
        let mut last: HashMap<String, u64> = HashMap::new();
        while let Some(l) = lines.recv().await {
            let t = l.text;
            if let Some(rest) = t.strip_prefix("OWNED") {
                let v = rest
                    .split_whitespace()
                    .filter_map(|s| {
                        let (k, e) = s.split_once('@')?;
                        Some((k.parse().ok()?, e.parse().ok()?))
                    })
                    .collect();
                let _ = tx.send(v);
            } else if t.starts_with("EVENT ") {
                bump(&w.stats.events);
                if t.contains("reason noconnection") {
                    bump(&w.stats.noconnection_exits);
                }
                // `(from n1.<inc>#<seq>)`
                if let Some(from) = t.rsplit("(from ").next().and_then(|s| s.strip_suffix(')'))
                    && let Some((origin, seq)) = from.split_once('#')
                    && let Ok(seq) = seq.parse::<u64>()
                {
                    let prev = last.insert(origin.to_owned(), seq).unwrap_or(0);
                    if seq <= prev {
                        bump(&w.stats.event_order);
                        println!("VIOLATION event order: {t} after #{prev}");
                    } else if seq > prev + 1 && prev > 0 {
                        w.stats
                            .event_gaps
                            .fetch_add(seq - prev - 1, Ordering::Relaxed);
                    }
                }
            } else if t.starts_with("DOWN ") {
                bump(&w.stats.downs);
            }
        }
    });
    world.addrs.lock()[idx] = p.addr;
    slot.proc = Some(p);
    slot.owned_rx = Some(rx);
    slot.hung = false;
    Ok(())
}

async fn soak(duration: Duration) -> Result<u64, String> {
    let Some(mut cluster) = NatsCluster::start(3).await else {
        return Err("nats-server is not installed".into());
    };
    let server0 = &cluster.servers()[0];
    let launch = Launch {
        urls: cluster.urls(),
        credentials: server0.credentials(),
        tick_ms: 250,
        shards: SHARDS,
        kv_replicas: 3,
        command_timeout_ms: 3000,
        echo: false,
    };
    let world = Arc::new(World {
        stats: Stats::default(),
        addrs: Mutex::new(vec!["127.0.0.1:1".parse().map_err(|_| "addr")?; 3]),
        stop: AtomicBool::new(false),
    });
    let mut slots: Vec<Slot> = (1..=3)
        .map(|i| Slot {
            name: format!("n{i}"),
            proc: None,
            owned_rx: None,
            hung: false,
        })
        .collect();
    for (i, s) in slots.iter_mut().enumerate() {
        start_node(&launch, s, &world, i).await?;
    }
    let slots = Arc::new(tokio::sync::Mutex::new(slots));
    // Settle.
    let settle = Instant::now();
    loop {
        let owned = poll(&slots).await;
        if owned.iter().flatten().count() == SHARDS as usize {
            break;
        }
        if settle.elapsed() > Duration::from_secs(30) {
            return Err("shards not settled in 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pids = |slots: &Vec<Slot>| {
        slots
            .iter()
            .filter_map(|s| s.proc.as_ref()?.os_pid())
            .collect::<Vec<_>>()
    };
    let server_pids: Vec<u32> = cluster.servers().iter().filter_map(|s| s.pid()).collect();
    let rss = |ps: &[u32]| ps.iter().filter_map(|p| rss_kib(*p)).sum::<u64>();
    let node_pids = pids(&*slots.lock().await);
    println!(
        "soak: {duration:?}, 3 nodes on 3 nats-servers (KV R3), {SHARDS} shards, {WORKERS} workers × {LISTS_PER_WORKER} lists"
    );
    println!(
        "before: {} child processes; RSS nodes {} KiB, servers {} KiB",
        children().len(),
        rss(&node_pids),
        rss(&server_pids)
    );
    let seed = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        workers.push(tokio::spawn(worker(world.clone(), w, seed + w as u64)));
    }
    let checker = tokio::spawn(checker(world.clone(), slots.clone()));
    let started = Instant::now();
    let mut rng = Rng(seed ^ 0xfa17);
    let mut next_report = Duration::from_secs(10);
    while started.elapsed() < duration {
        tokio::time::sleep(rng.ms(2000, 5000)).await;
        let victim = rng.below(3) as usize;
        match rng.below(100) {
            0..40 => {
                let mut s = slots.lock().await;
                let name = s[victim].name.clone();
                if let Some(p) = s[victim].proc.as_mut() {
                    println!("[{:>5.1}s] kill -9 {name}", started.elapsed().as_secs_f64());
                    p.kill().await;
                }
                s[victim].proc = None;
                drop(s);
                bump(&world.stats.node_kills);
                tokio::time::sleep(rng.ms(1000, 2000)).await;
                let mut s = slots.lock().await;
                start_node(&launch, &mut s[victim], &world, victim).await?;
            }
            40..75 => {
                let pause = rng.ms(300, 1500);
                let mut s = slots.lock().await;
                let Some(pid) = s[victim].proc.as_ref().and_then(NodeProc::os_pid) else {
                    continue;
                };
                println!(
                    "[{:>5.1}s] SIGSTOP {} for {pause:?}",
                    started.elapsed().as_secs_f64(),
                    s[victim].name
                );
                s[victim].hung = true;
                signal(pid, "STOP");
                drop(s);
                bump(&world.stats.node_hangs);
                tokio::time::sleep(pause).await;
                signal(pid, "CONT");
                // Answers it owed before the stop are stale: drop them.
                let mut s = slots.lock().await;
                if let Some(rx) = s[victim].owned_rx.as_mut() {
                    while rx.try_recv().is_ok() {}
                }
                s[victim].hung = false;
            }
            75..88 => {
                let pause = rng.ms(500, 2500);
                let Some(pid) = cluster.servers()[victim].pid() else {
                    continue;
                };
                println!(
                    "[{:>5.1}s] SIGSTOP server s{} for {pause:?}",
                    started.elapsed().as_secs_f64(),
                    victim + 1
                );
                signal(pid, "STOP");
                bump(&world.stats.server_hangs);
                tokio::time::sleep(pause).await;
                signal(pid, "CONT");
            }
            _ => {
                // A server crash: its clients fail over to the others; it
                // comes back on the same store (JetStream catches it up).
                println!(
                    "[{:>5.1}s] kill -9 server s{}",
                    started.elapsed().as_secs_f64(),
                    victim + 1
                );
                cluster.server_mut(victim).kill().await;
                bump(&world.stats.server_kills);
                tokio::time::sleep(rng.ms(1000, 2000)).await;
                if let Err(e) = cluster.server_mut(victim).restart().await {
                    println!("server s{} did not come back: {e}", victim + 1);
                    bump(&world.stats.server_restart_failures);
                }
            }
        }
        if started.elapsed() >= next_report {
            next_report += Duration::from_secs(10);
            report(&world.stats, started.elapsed());
        }
    }
    world.stop.store(true, Ordering::SeqCst);
    for w in workers {
        let _ = w.await;
    }
    checker.abort();
    let _ = checker.await;
    let s = &world.stats;
    println!("\nfinal after {:?}:", started.elapsed());
    report(s, started.elapsed());
    let node_pids = pids(&*slots.lock().await);
    // Restarted servers have new pids.
    let server_pids: Vec<u32> = cluster.servers().iter().filter_map(|s| s.pid()).collect();
    println!(
        "after: {} child processes; RSS nodes {} KiB, servers {} KiB",
        children().len(),
        rss(&node_pids),
        rss(&server_pids)
    );
    let mut s = slots.lock().await;
    for slot in s.iter_mut() {
        if let Some(p) = slot.proc.as_mut()
            && !p.stop().await
        {
            println!("{} did not stop cleanly", slot.name);
        }
    }
    drop(s);
    for i in 0..3 {
        cluster.server_mut(i).kill().await;
    }
    let st = &world.stats;
    Ok(get(&st.wrong_answers) + get(&st.two_owners) + get(&st.stuck_shards) + get(&st.event_order))
}

fn report(s: &Stats, t: Duration) {
    println!(
        "[{:>5.1}s] ops {} ok {} unavailable {} conn-errors {} lists-lost {} | faults: kills {} hangs {} server-hangs {} server-kills {} (not back {}) | downs seen {} events {} (gaps {}, noconnection exits {}) | VIOLATIONS wrong-answer {} two-owners {} stuck-shard {} event-order {}",
        t.as_secs_f64(),
        get(&s.ops),
        get(&s.ok),
        get(&s.unavailable),
        get(&s.conn_errors),
        get(&s.lost_lists),
        get(&s.node_kills),
        get(&s.node_hangs),
        get(&s.server_hangs),
        get(&s.server_kills),
        get(&s.server_restart_failures),
        get(&s.downs),
        get(&s.events),
        get(&s.event_gaps),
        get(&s.noconnection_exits),
        get(&s.wrong_answers),
        get(&s.two_owners),
        get(&s.stuck_shards),
        get(&s.event_order),
    );
}

/// Each running, not hung node's servable shards with their epochs
/// (empty for the others), asked one node after the other.
async fn poll(slots: &tokio::sync::Mutex<Vec<Slot>>) -> Vec<Vec<(u32, u64)>> {
    let mut s = slots.lock().await;
    let mut out = Vec::new();
    for slot in s.iter_mut() {
        out.push(poll_one(slot).await);
    }
    out
}

async fn poll_one(slot: &mut Slot) -> Vec<(u32, u64)> {
    if !slot.hung
        && let (Some(p), Some(rx)) = (slot.proc.as_mut(), slot.owned_rx.as_mut())
    {
        while rx.try_recv().is_ok() {}
        p.say("owned").await;
        if let Ok(Some(v)) = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            return v;
        }
    }
    Vec::new()
}

/// Invariants 1 and 3, every half second.
async fn checker(world: Arc<World>, slots: Arc<tokio::sync::Mutex<Vec<Slot>>>) {
    let mut uncovered_since: Option<Instant> = None;
    let mut reported = false;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let owned = poll(&slots).await;
        // Shard → the first node (in poll order) that served it, its epoch.
        let mut seen: HashMap<u32, (usize, u64)> = HashMap::new();
        let mut doubles = Vec::new();
        for (i, o) in owned.iter().enumerate() {
            for &(k, e) in o {
                match seen.get(&k) {
                    Some(&(j, ej)) => doubles.push((k, j, ej, i)),
                    None => {
                        seen.insert(k, (i, e));
                    }
                }
            }
        }
        for (k, j, ej, i) in doubles {
            // Node j answered before node i: if it still serves k at the
            // same epoch, it served k when i did.
            let again = {
                let mut s = slots.lock().await;
                poll_one(&mut s[j]).await
            };
            if again.contains(&(k, ej)) {
                bump(&world.stats.two_owners);
                println!(
                    "VIOLATION shard {k} served by n{} (epoch {ej}, still) and n{}",
                    j + 1,
                    i + 1
                );
            } else {
                println!(
                    "shard {k} handed over from n{} (epoch {ej}) to n{} between two answers: not a violation",
                    j + 1,
                    i + 1
                );
            }
        }
        if seen.len() == SHARDS as usize {
            uncovered_since = None;
            reported = false;
        } else {
            let since = *uncovered_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(20) && !reported {
                reported = true;
                bump(&world.stats.stuck_shards);
                println!("VIOLATION shards unserved for 20 s: served {:?}", owned);
            }
        }
    }
}

/// One client worker: its own lists, a model of each (invariant 2).
async fn worker(world: Arc<World>, w: usize, seed: u64) {
    let mut rng = Rng(seed);
    let mut names: Vec<String> = (0..LISTS_PER_WORKER).map(|j| format!("w{w}l{j}")).collect();
    let mut renamed: Option<usize> = None;
    // None: not created (or lost). Some(items in PUT order).
    let mut model: Vec<Option<Vec<String>>> = vec![None; names.len()];
    let mut maybe: Vec<HashSet<String>> = vec![HashSet::new(); names.len()];
    let mut client: Option<Client> = None;
    let mut n = 0u64;
    let t = Duration::from_secs(6);
    while !world.stop.load(Ordering::SeqCst) {
        if client.is_none() {
            let addr = world.addrs.lock()[rng.below(3) as usize];
            match Client::connect(addr).await {
                Ok(c) => client = Some(c),
                Err(_) => {
                    bump(&world.stats.conn_errors);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
        if let Some(i) = renamed.take() {
            names[i] = format!("{}x", names[i]);
            model[i] = None;
            maybe[i].clear();
        }
        let i = rng.below(names.len() as u64) as usize;
        let name = &names[i];
        bump(&world.stats.ops);
        match &mut model[i] {
            None => match c.cmd(&format!("CREATE {name}"), t).await {
                Some(r) if r == ["OK"] => {
                    bump(&world.stats.ok);
                    model[i] = Some(Vec::new());
                    maybe[i].clear();
                }
                Some(r) if r[0].starts_with("ERR unavailable") => bump(&world.stats.unavailable),
                Some(r) => {
                    bump(&world.stats.wrong_answers);
                    println!("VIOLATION CREATE {name} -> {r:?}");
                }
                None => {
                    bump(&world.stats.conn_errors);
                    client = None;
                }
            },
            Some(items) => {
                if rng.below(100) < 55 {
                    n += 1;
                    let item = format!("i{n}");
                    match c.cmd(&format!("PUT {name} {item}"), t).await {
                        Some(r) if r == ["OK"] => {
                            bump(&world.stats.ok);
                            items.push(item);
                        }
                        Some(r) if r == [format!("ERR unknown list \"{name}\"")] => {
                            bump(&world.stats.lost_lists);
                            model[i] = None;
                        }
                        Some(r) if r[0].starts_with("ERR unavailable") => {
                            bump(&world.stats.unavailable);
                            maybe[i].insert(item);
                        }
                        Some(r) => {
                            bump(&world.stats.wrong_answers);
                            println!("VIOLATION PUT {name} -> {r:?}");
                        }
                        None => {
                            bump(&world.stats.conn_errors);
                            maybe[i].insert(item);
                            client = None;
                        }
                    }
                } else {
                    match c.cmd(&format!("LIST {name}"), t).await {
                        Some(r) if r.last().is_some_and(|l| l == "OK") => {
                            bump(&world.stats.ok);
                            let got: Vec<&str> = r[..r.len() - 1]
                                .iter()
                                .filter_map(|l| l.strip_prefix("* "))
                                .filter(|x| !maybe[i].contains(*x))
                                .collect();
                            let want: Vec<&str> = items.iter().rev().map(String::as_str).collect();
                            if got != want {
                                bump(&world.stats.wrong_answers);
                                let at = got
                                    .iter()
                                    .zip(&want)
                                    .position(|(g, w)| g != w)
                                    .unwrap_or(got.len().min(want.len()));
                                let mut once = HashSet::new();
                                let twice: Vec<&&str> =
                                    got.iter().filter(|x| !once.insert(**x)).collect();
                                println!(
                                    "VIOLATION LIST {name}: {} items, want {}; first difference at {at}: got {:?}, want {:?}; items twice (a PUT that ran twice): {twice:?}",
                                    got.len(),
                                    want.len(),
                                    got.get(at),
                                    want.get(at)
                                );
                                // Report a list once: go on with a new one.
                                renamed = Some(i);
                            }
                        }
                        Some(r) if r == [format!("ERR unknown list \"{name}\"")] => {
                            bump(&world.stats.lost_lists);
                            model[i] = None;
                        }
                        Some(r) if r[0].starts_with("ERR unavailable") => {
                            bump(&world.stats.unavailable)
                        }
                        Some(r) => {
                            bump(&world.stats.wrong_answers);
                            println!("VIOLATION LIST {name} -> {r:?}");
                        }
                        None => {
                            bump(&world.stats.conn_errors);
                            client = None;
                        }
                    }
                }
            }
        }
    }
}
