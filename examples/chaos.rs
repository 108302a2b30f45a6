//! Chaos soak: the todo tree under random crashes while clients work,
//! with invariants checked all along.
//!
//! ```text
//! cargo run --example chaos -- --duration 3s
//! cargo run --release --example chaos -- --duration 10m --rate 5 --seed 1 --clients 4
//! ```
//!
//! The todo tree ([`TodoApp`]) runs under a `chaos_top` one_for_one
//! supervisor with unbounded intensity, so that the tree's own root may
//! give up (3 restarts in 5 s) and be started again. An injector crashes
//! random processes — a list, the todo manager, the list supervisor, the
//! event manager, the inner supervisor — with random reasons (`kill`,
//! `shutdown`, a custom error, `normal` through the process's stop API) in
//! bursts of 1 to 3 crashes, `--rate` crashes per second on average.
//! Meanwhile `--clients` tasks create lists, put and delete items, and
//! `sync_notify` numbered events to the event manager.
//!
//! Invariants, each exact:
//!
//! 1. **Events.** A `Forwarder` (tag `chaos`) forwards every event to one
//!    channel. Before sending to an event manager, a client makes sure the
//!    handler is installed there (`add_handler` answered `Ok` or
//!    `AlreadyPresent`; a restarted manager has lost it, so it is added
//!    again). The manager handles the client's later requests after that
//!    answer, and nothing removes the handler while the manager lives, so
//!    every `sync_notify` that returned `Ok` must have been forwarded
//!    exactly once. Failed ones (the manager died meanwhile) may have been
//!    forwarded at most once. Checked after every burst: the `Ok`s recorded
//!    so far are compared with everything forwarded up to then (each send
//!    into the channel happened before its `Ok`).
//! 2. **No name for a dead list.** Whenever a list is seen dead (after the
//!    injector's crash, a client's failed put, or at a quiet point), its
//!    death is awaited and the name is looked up again: the todo manager
//!    must not return that list (it handled the `DOWN` before `wait`
//!    returned). Every registered process name resolves to a live process
//!    in the same sense.
//! 3. **Tree shape.** After every burst the injector waits for quiet (it
//!    asks `chaos_top` for the tree until no child is dead, restarting or
//!    missing, waiting on the deaths it sees) and compares the tree's shape
//!    — ids, strategies, restart types, all running; lists ignored — with
//!    the shape at start. The registered names must lead to the pids in the
//!    tree.
//!
//! At the end it stops the clients and the tree and reports crashes by
//! target and reason, restarts (the supervisors' `restarting child`
//! reports, counted by a tracing layer), events, tokio's alive tasks and
//! arbor's processes before and after (both must return to the baseline),
//! and RSS. Exit code 1 on any violation. `RUST_LOG=arbor=info` shows the
//! supervisor reports (many).

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arbor::genevent::{AddError, Forwarder, HandlerId};
use arbor::process::{
    ExitReason, Pid, ProcessHandle, exit, is_alive, kill, process_count, registered, whereis,
};
use arbor::supervisor::{ChildState, Strategy, SupFlags, Supervisor, SupervisorRef, TreeNode};
use arbor::todo::{TodoApp, TodoEvent, TodoList, TreeNames};
use tokio::sync::{mpsc, watch};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Prefix of the clients' event names: `#<seq>`.
const SEQ: &str = "#";
/// Prefix of the checker's flush markers: `!<n>`.
const FLUSH: &str = "!";
/// A crash that has not taken effect after this long is a violation (a
/// safety net against hangs, not a synchronisation).
const DEATH_TIMEOUT: Duration = Duration::from_secs(30);
/// Quiet-point attempts before "shape not restored" is declared.
const SETTLE_ATTEMPTS: usize = 100_000;

// ===== configuration =====

#[derive(Debug, Clone)]
struct Config {
    duration: Duration,
    rate: f64,
    seed: u64,
    clients: usize,
}

fn parse_duration(s: &str) -> Option<Duration> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

fn parse_args() -> Result<Config, String> {
    let mut cfg = Config {
        duration: Duration::from_secs(10),
        rate: 5.0,
        seed: 1,
        clients: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--duration" => {
                let v = value()?;
                cfg.duration = parse_duration(&v).ok_or(format!("bad duration {v:?}"))?;
            }
            "--rate" => {
                let v = value()?;
                cfg.rate = v.parse().map_err(|_| format!("bad rate {v:?}"))?;
                if !(cfg.rate > 0.0 && cfg.rate.is_finite()) {
                    return Err("--rate must be positive".into());
                }
            }
            "--seed" => {
                let v = value()?;
                cfg.seed = v.parse().map_err(|_| format!("bad seed {v:?}"))?;
            }
            "--clients" => {
                let v = value()?;
                cfg.clients = v.parse().map_err(|_| format!("bad client count {v:?}"))?;
            }
            "-h" | "--help" => {
                return Err(
                    "usage: chaos [--duration 10s|10m] [--rate crashes/s] [--seed N] [--clients N]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(cfg)
}

/// splitmix64: small, seedable, good enough to pick targets.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

// ===== shared state: violations, the event ledger, report counters =====

#[derive(Debug, Default)]
struct Violations {
    count: AtomicU64,
    first: Mutex<Vec<String>>,
}

impl Violations {
    fn report(&self, what: impl Into<String>) {
        let what = what.into();
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        if n < 20 {
            eprintln!("VIOLATION: {what}");
            lock(&self.first).push(what);
        }
    }

    fn total(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

const OK: u8 = 1;
const ERR: u8 = 2;
const SEEN: u8 = 4;
const VERIFIED: u8 = 8;

/// What became of every client event, by sequence number: a status byte
/// for the seqs not verified yet (a window that moves on as they are) and
/// one "forwarded" bit for every seq ever sent, to catch a second forward
/// at any time. Memory: one bit per event.
#[derive(Debug, Default)]
struct Ledger {
    /// The seq of `window[0]`; every seq below it is verified.
    base: u64,
    window: VecDeque<u8>,
    forwarded: Vec<u64>,
    ok: u64,
    err: u64,
    seen: u64,
    err_seen: u64,
}

impl Ledger {
    /// The status byte of a seq not verified yet.
    fn status(&mut self, seq: u64) -> Option<&mut u8> {
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        if i >= self.window.len() {
            self.window.resize(i + 1, 0);
        }
        self.window.get_mut(i)
    }

    /// A client's outcome: `OK` or `ERR`.
    fn record(&mut self, seq: u64, bit: u8) {
        if bit == OK {
            self.ok += 1;
        } else {
            self.err += 1;
            if self.was_forwarded(seq) {
                self.err_seen += 1;
            }
        }
        // A seq is undecided until here, so it is still in the window.
        if let Some(s) = self.status(seq) {
            *s |= bit;
        }
    }

    fn was_forwarded(&self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        self.forwarded
            .get(word)
            .is_some_and(|w| w & (1 << bit) != 0)
    }

    /// The handler forwarded `seq`.
    fn forward(&mut self, seq: u64, allocated: u64, violations: &Violations) {
        if seq >= allocated {
            violations.report(format!("event #{seq} forwarded but never sent"));
        }
        if self.was_forwarded(seq) {
            violations.report(format!("event #{seq} forwarded twice"));
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.forwarded.len() {
            self.forwarded.resize(word + 1, 0);
        }
        self.forwarded[word] |= 1 << bit;
        self.seen += 1;
        let failed = match self.status(seq) {
            Some(s) => {
                *s |= SEEN;
                *s & ERR != 0
            }
            // Verified already, so it failed (an Ok one was forwarded
            // before it was verified, and a second forward is caught above).
            None => true,
        };
        if failed {
            self.err_seen += 1;
        }
    }

    /// Step 1 of a check: the `Ok`s not verified yet; failed ones need no
    /// check and are marked verified.
    fn oks_to_verify(&mut self) -> Vec<u64> {
        let mut oks = Vec::new();
        for (i, s) in self.window.iter_mut().enumerate() {
            if *s & VERIFIED == 0 {
                if *s & OK != 0 {
                    oks.push(self.base + i as u64);
                } else if *s & ERR != 0 {
                    *s |= VERIFIED;
                }
            }
        }
        oks
    }

    /// Step 3: each of `oks` must have been forwarded; then the window
    /// moves past the verified seqs.
    fn verify(&mut self, oks: &[u64], violations: &Violations) {
        for &seq in oks {
            if let Some(s) = self.status(seq) {
                if *s & SEEN == 0 {
                    violations.report(format!(
                        "event #{seq}: sync_notify returned Ok but the handler never forwarded it"
                    ));
                }
                *s |= VERIFIED;
            }
        }
        while self.window.front().is_some_and(|s| s & VERIFIED != 0) {
            self.window.pop_front();
            self.base += 1;
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    violations: Violations,
    ledger: Mutex<Ledger>,
    next_seq: AtomicU64,
}

/// What the supervisors reported, counted by a tracing layer.
#[derive(Debug, Default)]
struct Reports {
    restarts: Mutex<BTreeMap<String, u64>>,
    escalations: Mutex<BTreeMap<String, u64>>,
    failed_restarts: Mutex<BTreeMap<String, u64>>,
}

#[derive(Default)]
struct Fields {
    message: String,
    supervisor: String,
    child: String,
    reason: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        let slot = match field.name() {
            "message" => &mut self.message,
            "supervisor" => &mut self.supervisor,
            "child" => &mut self.child,
            "reason" => &mut self.reason,
            _ => return,
        };
        *slot = format!("{value:?}");
    }
}

struct CountLayer(Arc<Reports>);

impl<S: tracing::Subscriber> Layer<S> for CountLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let sup = f.supervisor.trim_start_matches("chaos_").to_owned();
        match f.message.as_str() {
            "restarting child" => {
                *lock(&self.0.restarts)
                    .entry(format!("{sup}/{}", f.child))
                    .or_default() += 1;
            }
            m if m.starts_with("reached_max_restart_intensity") => {
                *lock(&self.0.escalations).entry(sup).or_default() += 1;
            }
            m if m.starts_with("restart failed") => {
                *lock(&self.0.failed_restarts)
                    .entry(format!("{sup}/{}: {}", f.child, summarize(&f.reason)))
                    .or_default() += 1;
            }
            _ => {}
        }
    }
}

/// A start failure, without pids and nesting: the innermost child that
/// failed and why.
fn summarize(reason: &str) -> String {
    let clean: String = reason.chars().filter(|c| *c != '\\' && *c != '"').collect();
    let inner = clean
        .rsplit("failed to start child ")
        .next()
        .unwrap_or(&clean)
        .trim_end_matches('}');
    match inner.find("<0.") {
        Some(i) => format!("{}<pid>", &inner[..i]),
        None => inner.to_owned(),
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn handler_id() -> HandlerId {
    HandlerId::of::<Forwarder<TodoEvent>>().tag("chaos")
}

/// Invariant 2 for one list seen dead (or about to be): after its death,
/// the name must not lead to it.
async fn check_dead_list(app: &TodoApp, name: &str, list: &TodoList, shared: &Shared) {
    if tokio::time::timeout(DEATH_TIMEOUT, list.wait())
        .await
        .is_err()
    {
        shared
            .violations
            .report(format!("list {name} {} did not die", list.pid()));
        return;
    }
    if let Ok(Some(found)) = app.lookup(name).await
        && found == *list
    {
        shared.violations.report(format!(
            "lookup({name:?}) returned the dead list {}",
            list.pid()
        ));
    }
}

// ===== clients =====

#[derive(Debug, Default, Clone)]
struct ClientStats {
    ops: u64,
    creates: u64,
    puts_ok: u64,
    puts_failed: u64,
    lists_stopped: u64,
    not_running: u64,
    handler_added: u64,
    handler_present: u64,
    dead_lists_checked: u64,
}

impl ClientStats {
    fn add(&mut self, o: &ClientStats) {
        self.ops += o.ops;
        self.creates += o.creates;
        self.puts_ok += o.puts_ok;
        self.puts_failed += o.puts_failed;
        self.lists_stopped += o.lists_stopped;
        self.not_running += o.not_running;
        self.handler_added += o.handler_added;
        self.handler_present += o.handler_present;
        self.dead_lists_checked += o.dead_lists_checked;
    }
}

struct Client {
    id: usize,
    app: TodoApp,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<TodoEvent>,
    rng: Rng,
    stats: ClientStats,
    /// The event manager where this client saw the handler installed.
    confirmed: Option<Pid>,
    /// The list the client's events carry (the event type needs one).
    probe: TodoList,
    /// What the client awaits now (an index into `PHASES`), to name a hang.
    phase: Arc<AtomicU64>,
    /// The event manager the client talks to, to name it in a hang.
    callee: Arc<Mutex<Option<ProcessHandle>>>,
}

const PHASES: [&str; 12] = [
    "idle",
    "add_handler",
    "sync_notify",
    "lookup (create)",
    "put",
    "get (create)",
    "list stop normal",
    "delete",
    "lookup (read)",
    "get (read)",
    "dead list check",
    "probe stop",
];

impl Client {
    fn at(&self, phase: u64) {
        self.phase.store(phase, Ordering::Relaxed);
    }

    async fn run(mut self, stop: Arc<AtomicBool>) -> ClientStats {
        while !stop.load(Ordering::Relaxed) {
            self.stats.ops += 1;
            match self.rng.below(10) {
                0..=3 => self.send_event().await,
                4..=7 => self.create_and_put().await,
                _ => self.read().await,
            }
            tokio::task::yield_now().await;
        }
        self.at(11);
        let _ = self.probe.stop(ExitReason::Normal, Duration::MAX).await;
        self.stats
    }

    async fn send_event(&mut self) {
        let Ok(em) = self.app.event_manager() else {
            self.stats.not_running += 1;
            return;
        };
        *lock(&self.callee) = Some(em.process());
        if self.confirmed != Some(em.pid()) {
            self.at(1);
            match em
                .add_handler(handler_id(), Forwarder::to_channel(self.tx.clone()))
                .await
            {
                Ok(()) => self.stats.handler_added += 1,
                Err(AddError::AlreadyPresent(_)) => self.stats.handler_present += 1,
                Err(_) => return, // that manager died meanwhile
            }
            self.confirmed = Some(em.pid());
        }
        let seq = self.shared.next_seq.fetch_add(1, Ordering::SeqCst);
        let event = TodoEvent::Create {
            name: format!("{SEQ}{seq}"),
            list: self.probe.clone(),
        };
        self.at(2);
        let bit = if em.sync_notify(event).await.is_ok() {
            OK
        } else {
            ERR
        };
        lock(&self.shared.ledger).record(seq, bit);
    }

    async fn create_and_put(&mut self) {
        let name = format!("c{}-{}", self.id, self.rng.below(16));
        if self.app.create(name.clone()).is_err() {
            self.stats.not_running += 1;
            return;
        }
        self.stats.creates += 1;
        self.at(3);
        let Ok(Some(list)) = self.app.lookup(&name).await else {
            return; // the manager restarted in between, or is restarting
        };
        let item = format!("item{}", self.rng.below(4));
        self.at(4);
        if list.put(item.clone()).await.is_err() {
            self.stats.puts_failed += 1;
            self.stats.dead_lists_checked += 1;
            self.at(10);
            check_dead_list(&self.app, &name, &list, &self.shared).await;
            return;
        }
        self.stats.puts_ok += 1;
        // Keep lists small; a full one exits `normal` (the manager forgets it).
        self.at(5);
        match list.get().await {
            Ok(items) if items.len() > 8 => {
                self.at(6);
                if list.stop(ExitReason::Normal, Duration::MAX).await.is_ok() {
                    self.stats.lists_stopped += 1;
                }
                self.stats.dead_lists_checked += 1;
                self.at(10);
                check_dead_list(&self.app, &name, &list, &self.shared).await;
            }
            Ok(_) if self.rng.below(2) == 0 => {
                self.at(7);
                let _ = list.delete(item).await;
            }
            Ok(_) => {}
            Err(_) => {}
        }
    }

    async fn read(&mut self) {
        let name = format!("c{}-{}", self.id, self.rng.below(16));
        self.at(8);
        match self.app.lookup(&name).await {
            Ok(Some(list)) => {
                self.at(9);
                if list.get().await.is_err() {
                    self.stats.dead_lists_checked += 1;
                    self.at(10);
                    check_dead_list(&self.app, &name, &list, &self.shared).await;
                }
            }
            Ok(None) => {}
            Err(_) => self.stats.not_running += 1,
        }
    }
}

// ===== crashes =====

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    List,
    Manager,
    ListSup,
    EventManager,
    Inner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reason {
    Kill,
    Shutdown,
    Error,
    Normal,
}

impl Reason {
    fn exit_reason(self) -> ExitReason {
        match self {
            Reason::Kill => ExitReason::Kill,
            Reason::Shutdown => ExitReason::Shutdown,
            Reason::Error => ExitReason::custom("chaos"),
            Reason::Normal => ExitReason::Normal,
        }
    }
}

fn pick_crash(rng: &mut Rng) -> (Target, Reason) {
    let target = match rng.below(20) {
        0..=6 => Target::List,
        7..=9 => Target::Manager,
        10..=12 => Target::ListSup,
        13..=16 => Target::EventManager,
        _ => Target::Inner,
    };
    let reason = match rng.below(4) {
        0 => Reason::Kill,
        1 => Reason::Shutdown,
        2 => Reason::Error,
        _ => Reason::Normal,
    };
    (target, reason)
}

/// Stops a supervisor with `reason` through its API (supervisors trap
/// exits: an exit signal from a stranger is ignored).
async fn stop_sup(sup: SupervisorRef, reason: Reason) {
    if reason == Reason::Kill {
        kill(sup.pid());
    } else {
        let _ = sup.stop(reason.exit_reason(), DEATH_TIMEOUT).await;
    }
}

/// Crashes `target` with `reason` and waits for its death. `false` if the
/// target was not running.
async fn inject(app: &TodoApp, target: Target, reason: Reason, pick: u64, shared: &Shared) -> bool {
    let victim = match target {
        Target::List => {
            let Ok(names) = app.list_names().await else {
                return false;
            };
            if names.is_empty() {
                return false;
            }
            let name = &names[pick as usize % names.len()];
            let Ok(Some(list)) = app.lookup(name).await else {
                return false;
            };
            match reason {
                // Lists do not trap exits: the signal is the crash.
                Reason::Kill => kill(list.pid()),
                Reason::Shutdown | Reason::Error => exit(list.pid(), reason.exit_reason()),
                Reason::Normal => {
                    let _ = list.stop(ExitReason::Normal, DEATH_TIMEOUT).await;
                }
            }
            check_dead_list(app, name, &list, shared).await;
            return true;
        }
        Target::Manager => {
            let Ok(m) = app.manager() else { return false };
            match reason {
                Reason::Normal => {
                    let _ = m.stop().await;
                }
                Reason::Kill => kill(m.pid()),
                _ => exit(m.pid(), reason.exit_reason()),
            }
            m.pid()
        }
        Target::EventManager => {
            let Ok(em) = app.event_manager() else {
                return false;
            };
            match reason {
                Reason::Kill => kill(em.pid()),
                // Shutdown from anyone ends a manager (it traps exits).
                Reason::Shutdown => exit(em.pid(), ExitReason::Shutdown),
                _ => {
                    let _ = em.stop_with(reason.exit_reason(), DEATH_TIMEOUT).await;
                }
            }
            em.pid()
        }
        Target::ListSup => {
            let Ok(ls) = app.list_supervisor() else {
                return false;
            };
            let pid = ls.pid();
            stop_sup(ls.supervisor().clone(), reason).await;
            pid
        }
        Target::Inner => {
            let Ok(inner) = app.inner() else { return false };
            let pid = inner.pid();
            stop_sup(inner, reason).await;
            pid
        }
    };
    tracing::debug!(target: "chaos", %victim, "waiting for the victim");
    wait_dead(victim, &format!("{target:?} ({reason:?})"), shared).await;
    true
}

async fn wait_dead(pid: Pid, what: &str, shared: &Shared) {
    if tokio::time::timeout(DEATH_TIMEOUT, arbor::process::wait_exit(pid))
        .await
        .is_err()
    {
        shared
            .violations
            .report(format!("{what} {pid} did not die within {DEATH_TIMEOUT:?}"));
    }
}

// ===== quiet points: tree shape, names, lists, events =====

/// The shape of a tree: everything but pids, restart counts and the
/// lists under simple_one_for_one supervisors.
fn shape(node: &TreeNode) -> String {
    let label = match (&node.id, &node.name) {
        (Some(id), _) => id.to_string(),
        (None, Some(n)) => n.clone(),
        (None, None) => "-".into(),
    };
    let state = match node.state {
        ChildState::Running(_) => "running",
        ChildState::Undefined => "undefined",
        ChildState::Restarting => "restarting",
    };
    let kind = match node.strategy {
        Some(s) => s.to_string(),
        None => node.child_type.to_string(),
    };
    let restart = node.restart.map(|r| r.to_string()).unwrap_or_default();
    let children = if node.strategy == Some(Strategy::SimpleOneForOne) {
        String::new()
    } else {
        node.children
            .iter()
            .map(shape)
            .collect::<Vec<_>>()
            .join(",")
    };
    format!("{label}:{kind}:{restart}:{state}[{children}]")
}

/// A process the tree lists as running that is dead: the supervisor above
/// it has its exit queued.
fn dead_pid(node: &TreeNode) -> Option<Pid> {
    if let Some(pid) = node.pid()
        && !is_alive(pid)
    {
        return Some(pid);
    }
    if node.strategy == Some(Strategy::SimpleOneForOne) {
        return None;
    }
    node.children.iter().find_map(dead_pid)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct TreePids {
    root: Option<Pid>,
    event_manager: Option<Pid>,
    inner: Option<Pid>,
    list_sup: Option<Pid>,
    manager: Option<Pid>,
}

impl TreePids {
    fn of(tree: &TreeNode) -> TreePids {
        let pid = |id| tree.find(id).and_then(TreeNode::pid);
        TreePids {
            root: pid("todo"),
            event_manager: pid("event_manager"),
            inner: pid("inner"),
            list_sup: pid("list_sup"),
            manager: pid("todo_manager"),
        }
    }

    fn named(names: &TreeNames) -> TreePids {
        TreePids {
            root: whereis(&names.root),
            event_manager: whereis(&names.event_manager),
            inner: whereis(&names.inner),
            list_sup: whereis(&names.list_sup),
            manager: whereis(&names.manager),
        }
    }

    fn changes(self, later: TreePids) -> [(&'static str, bool); 5] {
        [
            ("todo_sup (root)", self.root != later.root),
            ("event_manager", self.event_manager != later.event_manager),
            ("inner", self.inner != later.inner),
            ("list_sup", self.list_sup != later.list_sup),
            ("todo_manager", self.manager != later.manager),
        ]
    }
}

struct Checker {
    app: TodoApp,
    top: SupervisorRef,
    shared: Arc<Shared>,
    /// To send flush markers through the forwarding channel.
    tx: mpsc::UnboundedSender<TodoEvent>,
    flushed: watch::Receiver<u64>,
    flushes: u64,
    marker_list: TodoList,
    expected_shape: String,
    last_pids: TreePids,
    pid_changes: BTreeMap<&'static str, u64>,
    quiet_points: u64,
    settle_attempts_max: usize,
    lists_checked: u64,
}

impl Checker {
    /// Waits until the tree is whole again and checks its shape and names.
    async fn settle(&mut self) -> Option<TreeNode> {
        for attempt in 1..=SETTLE_ATTEMPTS {
            let tree = match self.top.tree().await {
                Ok(t) => t,
                Err(e) => {
                    self.shared
                        .violations
                        .report(format!("chaos_top did not answer: {e}"));
                    return None;
                }
            };
            if let Some(pid) = dead_pid(&tree) {
                // Its supervisor restarts it after handling the exit.
                arbor::process::wait_exit(pid).await;
                continue;
            }
            if shape(&tree) != self.expected_shape {
                // Restarting (a retry is queued) or a supervisor that died
                // between two status calls.
                tokio::task::yield_now().await;
                continue;
            }
            let in_tree = TreePids::of(&tree);
            let named = TreePids::named(self.app.names());
            if in_tree != named {
                if dead_pid(&tree).is_some() {
                    continue; // something crashed meanwhile
                }
                self.shared.violations.report(format!(
                    "names do not lead to the tree: tree {in_tree:?}, names {named:?}"
                ));
            }
            self.settle_attempts_max = self.settle_attempts_max.max(attempt);
            return Some(tree);
        }
        self.shared.violations.report(format!(
            "tree shape not restored after {SETTLE_ATTEMPTS} attempts"
        ));
        None
    }

    /// A quiet point: tree, names, lists, events.
    async fn quiet_point(&mut self) {
        self.quiet_points += 1;
        let Some(tree) = self.settle().await else {
            return;
        };
        let pids = TreePids::of(&tree);
        for (what, changed) in self.last_pids.changes(pids) {
            if changed {
                *self.pid_changes.entry(what).or_default() += 1;
            }
        }
        self.last_pids = pids;
        self.check_names().await;
        self.check_events().await;
    }

    /// Invariant 2: no name leads to a dead process.
    async fn check_names(&mut self) {
        if let Ok(names) = self.app.list_names().await {
            for name in names {
                if let Ok(Some(list)) = self.app.lookup(&name).await
                    && !list.is_alive()
                {
                    self.lists_checked += 1;
                    check_dead_list(&self.app, &name, &list, &self.shared).await;
                }
            }
        }
        for name in registered() {
            if let Some(pid) = whereis(name.as_str())
                && !is_alive(pid)
            {
                arbor::process::wait_exit(pid).await;
                if whereis(name.as_str()) == Some(pid) {
                    self.shared
                        .violations
                        .report(format!("name {name:?} leads to the dead {pid}"));
                }
            }
        }
    }

    /// Invariant 1: every `Ok` recorded so far was forwarded exactly once.
    async fn check_events(&mut self) {
        // 1. The Oks to verify: each was forwarded (if at all) before the
        //    client recorded it, so before the flush marker below.
        let oks = lock(&self.shared.ledger).oks_to_verify();
        // 2. The collector has taken everything forwarded up to the marker.
        self.flushes += 1;
        let marker = TodoEvent::Create {
            name: format!("{FLUSH}{}", self.flushes),
            list: self.marker_list.clone(),
        };
        if self.tx.send(marker).is_err()
            || self.flushed.wait_for(|n| *n >= self.flushes).await.is_err()
        {
            self.shared
                .violations
                .report("the event collector ended early");
            return;
        }
        // 3. Verify.
        lock(&self.shared.ledger).verify(&oks, &self.shared.violations);
    }
}

/// Takes every forwarded event off the channel at once (so it never piles
/// up) and marks client events in the ledger; answers flush markers.
async fn collect(
    mut rx: mpsc::UnboundedReceiver<TodoEvent>,
    shared: Arc<Shared>,
    flushed: watch::Sender<u64>,
) -> u64 {
    let mut app_events = 0;
    let mut batch = Vec::with_capacity(256);
    while rx.recv_many(&mut batch, 256).await > 0 {
        let allocated = shared.next_seq.load(Ordering::SeqCst);
        let mut ledger = lock(&shared.ledger);
        for event in batch.drain(..) {
            let name = event.name();
            if let Some(seq) = name.strip_prefix(SEQ).and_then(|n| n.parse().ok()) {
                ledger.forward(seq, allocated, &shared.violations);
            } else if let Some(n) = name.strip_prefix(FLUSH).and_then(|n| n.parse().ok()) {
                flushed.send_replace(n);
            } else {
                app_events += 1;
            }
        }
    }
    app_events
}

// ===== main =====

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let reports = Arc::new(Reports::default());
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::registry()
        .with(
            CountLayer(reports.clone()).with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target() == "arbor::supervisor"
            })),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_filter(env),
        )
        .init();

    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();
    let procs_before = process_count();
    let names_before = registered();
    let rss_before = rss_bytes();
    println!(
        "chaos: duration {:?}, rate {}/s, seed {}, clients {}, {} tokio workers",
        cfg.duration,
        cfg.rate,
        cfg.seed,
        cfg.clients,
        metrics.num_workers()
    );

    // The tree under a top supervisor that never gives up.
    let names = TreeNames::prefixed("chaos_");
    let top_flags = SupFlags::new(Strategy::OneForOne)
        .intensity(1_000_000)
        .period(Duration::from_secs(1));
    let top = match Supervisor::new(top_flags)
        .name("chaos_top")
        .child(TodoApp::definition(&names).into_child_spec("todo"))
        .start()
        .await
    {
        Ok(top) => top,
        Err(e) => {
            eprintln!("could not start the tree: {e}");
            std::process::exit(1);
        }
    };
    let app = TodoApp::client(names.clone());
    let first = match top.tree().await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("no tree: {e}");
            std::process::exit(1);
        }
    };
    println!("{first}");

    let shared = Arc::new(Shared::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let (flushed_tx, flushed) = watch::channel(0);
    let collector = tokio::spawn(collect(rx, shared.clone(), flushed_tx));
    let marker_list = match TodoList::start().await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("could not start the marker list: {e}");
            std::process::exit(1);
        }
    };
    let mut checker = Checker {
        app: app.clone(),
        top: top.clone(),
        shared: shared.clone(),
        tx: tx.clone(),
        flushed,
        flushes: 0,
        marker_list,
        expected_shape: shape(&first),
        last_pids: TreePids::of(&first),
        pid_changes: BTreeMap::new(),
        quiet_points: 0,
        settle_attempts_max: 0,
        lists_checked: 0,
    };

    // Clients.
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    let mut seeder = Rng(cfg.seed);
    for id in 0..cfg.clients {
        let probe = match TodoList::start().await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("could not start a probe list: {e}");
                std::process::exit(1);
            }
        };
        let client = Client {
            id,
            app: app.clone(),
            shared: shared.clone(),
            tx: tx.clone(),
            rng: Rng(seeder.next()),
            stats: ClientStats::default(),
            confirmed: None,
            probe,
            phase: Arc::new(AtomicU64::new(0)),
            callee: Arc::new(Mutex::new(None)),
        };
        let (phase, callee) = (client.phase.clone(), client.callee.clone());
        clients.push((id, phase, callee, tokio::spawn(client.run(stop.clone()))));
    }
    drop(tx);

    // The injector: bursts of crashes, a quiet point after each.
    let mut rng = Rng(seeder.next());
    let mut crashes: BTreeMap<(Target, Reason), u64> = BTreeMap::new();
    let mut skipped = 0u64;
    let mut bursts = 0u64;
    let start = Instant::now();
    let mut next_crash = start;
    let mut rss_samples = Vec::new();
    let mut next_sample = start;
    while start.elapsed() < cfg.duration {
        bursts += 1;
        for _ in 0..=rng.below(3) {
            next_crash += Duration::from_secs_f64(-rng.unit().ln() / cfg.rate);
            tokio::time::sleep_until(next_crash.into()).await; // pacing only
            let (target, reason) = pick_crash(&mut rng);
            tracing::debug!(target: "chaos", ?target, ?reason, "crash");
            let pick = rng.next();
            if inject(&app, target, reason, pick, &shared).await {
                *crashes.entry((target, reason)).or_default() += 1;
            } else {
                skipped += 1;
            }
        }
        tracing::debug!(target: "chaos", bursts, "quiet point");
        checker.quiet_point().await;
        tracing::debug!(target: "chaos", "quiet point done");
        if Instant::now() >= next_sample {
            rss_samples.push((start.elapsed(), rss_bytes()));
            next_sample += cfg.duration / 10;
        }
    }
    let elapsed = start.elapsed();

    // Stop the clients, then a last quiet point with every event decided.
    stop.store(true, Ordering::Relaxed);
    let mut stats = ClientStats::default();
    for (id, phase, callee, mut c) in clients {
        match tokio::time::timeout(DEATH_TIMEOUT, &mut c).await {
            Ok(Ok(s)) => stats.add(&s),
            Ok(Err(e)) => shared.violations.report(format!("client task failed: {e}")),
            Err(_) => {
                let at = PHASES[phase.load(Ordering::Relaxed) as usize];
                let em = lock(&callee).clone().map(|h| {
                    format!(
                        "{} (alive: {}, exit reason: {:?})",
                        h.pid(),
                        h.is_alive(),
                        h.exit_reason()
                    )
                });
                shared.violations.report(format!(
                    "client {id} hangs in {at} for {DEATH_TIMEOUT:?}; last event manager {em:?}; registered: {:?}",
                    registered()
                        .iter()
                        .map(|n| (n.as_str().to_owned(), whereis(n.as_str())))
                        .collect::<Vec<_>>()
                ));
                c.abort();
                let _ = c.await;
            }
        }
    }
    checker.quiet_point().await;
    let rss_end = rss_bytes();
    let procs_running = process_count();
    let tasks_running = metrics.num_alive_tasks();

    // Stop the tree; everything must return to the baseline.
    if let Err(e) = top.stop(ExitReason::Shutdown, Duration::MAX).await {
        shared
            .violations
            .report(format!("stopping the tree failed: {e}"));
    }
    checker.check_events().await; // the handler's last forwards (none expected)
    let _ = checker
        .marker_list
        .stop(ExitReason::Normal, Duration::MAX)
        .await;
    let (quiet_points, pid_changes, settle_max, lists_checked) = (
        checker.quiet_points,
        std::mem::take(&mut checker.pid_changes),
        checker.settle_attempts_max,
        checker.lists_checked,
    );
    drop(checker);
    // Every sender is gone now (clients, handlers, checker): the collector ends.
    let app_events = match tokio::time::timeout(DEATH_TIMEOUT, collector).await {
        Ok(Ok(n)) => n,
        _ => {
            shared.violations.report("the event collector did not end");
            0
        }
    };
    let mut tasks_after = metrics.num_alive_tasks();
    let waited = Instant::now();
    while tasks_after > tasks_before && waited.elapsed() < Duration::from_secs(10) {
        // A process's task ends right after its exit processing.
        tokio::task::yield_now().await;
        tasks_after = metrics.num_alive_tasks();
    }
    let procs_after = process_count();
    let names_after = registered();
    if tasks_after != tasks_before {
        shared.violations.report(format!(
            "tokio tasks: {tasks_after} alive after stop, {tasks_before} before"
        ));
    }
    if procs_after != procs_before {
        shared.violations.report(format!(
            "arbor processes: {procs_after} alive after stop, {procs_before} before"
        ));
    }
    if names_after != names_before {
        shared
            .violations
            .report(format!("registered names left: {names_after:?}"));
    }
    let rss_after = rss_bytes();

    // ===== report =====
    let ledger = lock(&shared.ledger);
    let injected: u64 = crashes.values().sum();
    println!("\n== chaos report (seed {}) ==", cfg.seed);
    println!(
        "ran {:.1} s: {} bursts, {} crashes injected ({:.2}/s), {} skipped (target not running)",
        elapsed.as_secs_f64(),
        bursts,
        injected,
        injected as f64 / elapsed.as_secs_f64(),
        skipped
    );
    println!("crashes by target and reason:");
    let mut by_target: BTreeMap<Target, Vec<String>> = BTreeMap::new();
    for ((t, r), n) in &crashes {
        by_target
            .entry(*t)
            .or_default()
            .push(format!("{r:?} {n}").to_lowercase());
    }
    for (t, rs) in &by_target {
        println!("  {:<13} {}", format!("{t:?}"), rs.join(", "));
    }
    println!("restarts reported by the supervisors (supervisor/child: count):");
    for (k, n) in lock(&reports.restarts).iter() {
        println!("  {k:<36} {n}");
    }
    println!(
        "  intensity reached (supervisor gave up): {:?}",
        lock(&reports.escalations)
    );
    println!(
        "  restarts that failed (retry queued): {:?}",
        lock(&reports.failed_restarts)
    );
    println!(
        "pid changes seen at {} quiet points: {:?} (longest settle: {} attempts)",
        quiet_points, pid_changes, settle_max
    );
    let sent = shared.next_seq.load(Ordering::SeqCst);
    println!(
        "events: {} sync_notify sent, {} Ok (each verified forwarded exactly once), {} failed (manager died), {} forwarded in all; {} app events (create/exit) forwarded",
        sent, ledger.ok, ledger.err, ledger.seen, app_events
    );
    println!(
        "  failed sync_notify that had still been forwarded: {}",
        ledger.err_seen
    );
    println!(
        "  handler (re-)added {} times, found present {} times",
        stats.handler_added, stats.handler_present
    );
    println!(
        "clients: {} ops, {} creates, {} puts ok, {} puts on dead lists, {} lists stopped normal, {} calls with the process not running, {} dead lists checked (+{} at quiet points)",
        stats.ops,
        stats.creates,
        stats.puts_ok,
        stats.puts_failed,
        stats.lists_stopped,
        stats.not_running,
        stats.dead_lists_checked,
        lists_checked
    );
    println!(
        "tokio alive tasks: {tasks_before} before, {tasks_running} while running, {tasks_after} after stop"
    );
    println!(
        "arbor processes: {procs_before} before, {procs_running} while running, {procs_after} after stop"
    );
    let ledger_mib = mib((ledger.forwarded.capacity() * 8 + ledger.window.capacity()) as u64);
    println!(
        "RSS: {:.1} MiB before, {:.1} MiB at end of run, {:.1} MiB after stop (growth {:+.1} MiB, of which the event ledger {:.1} MiB)",
        mib(rss_before),
        mib(rss_end),
        mib(rss_after),
        mib(rss_after) - mib(rss_before),
        ledger_mib
    );
    let samples: Vec<String> = rss_samples
        .iter()
        .map(|(t, b)| format!("{:.0}s {:.1}", t.as_secs_f64(), mib(*b)))
        .collect();
    println!("RSS samples (MiB): {}", samples.join(", "));
    let total = shared.violations.total();
    println!("invariant violations: {total}");
    for v in lock(&shared.violations.first).iter() {
        println!("  {v}");
    }
    drop(ledger);
    if total > 0 {
        std::process::exit(1);
    }
}
