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
//!
//! Layout: `args` (options), `rng`, `client` (the clients),
//! `injector` (crashes and the run loop), `collector` and `ledger` (the
//! forwarded events, invariant 1), `checker` and `tree` (quiet points,
//! invariants 2 and 3), `shared` (violations), `sup_reports` (the
//! supervisors' reports, tracing setup), `rss`, `report`.

mod args;
mod checker;
mod client;
mod collector;
mod injector;
mod ledger;
mod report;
mod rng;
mod rss;
mod shared;
mod sup_reports;
mod tree;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arbor::process::{ExitReason, StartOpts, process_count, registered};
use arbor::supervisor::{Strategy, SupFlags, Supervisor};
use arbor_todo::{TodoApp, TodoList, TreeNames};
use tokio::sync::{mpsc, watch};

use crate::checker::Checker;
use crate::client::Clients;
use crate::report::{Levels, Report};
use crate::rng::Rng;
use crate::rss::rss_bytes;
use crate::shared::Shared;
use crate::sup_reports::SupReports;
use arbor::process::Process;

/// A crash that has not taken effect after this long is a violation (a
/// safety net against hangs, not a synchronisation).
const DEATH_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let cfg = match args::parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let reports = Arc::new(SupReports::default());
    sup_reports::init_tracing(reports.clone());

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
    let todo = TodoApp::definition(&names).into_child_spec_opts("todo", TodoApp::root_opts(&names));
    let top = match Supervisor::new(top_flags)
        .child(todo)
        .start_opts(StartOpts::default().name("chaos_top"))
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
    let collector = tokio::spawn(collector::collect(rx, shared.clone(), flushed_tx));
    let marker_list = match TodoList::start().await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("could not start the marker list: {e}");
            std::process::exit(1);
        }
    };
    let mut checker = Checker::new(
        app.clone(),
        top.clone(),
        shared.clone(),
        tx.clone(),
        flushed,
        marker_list,
        &first,
    );

    // Clients.
    let mut seeder = Rng(cfg.seed);
    let clients = Clients::spawn(cfg.clients, &app, &shared, &tx, &mut seeder).await;
    drop(tx);

    // The injector: bursts of crashes, a quiet point after each.
    let injected = injector::run(&cfg, Rng(seeder.next()), &app, &shared, &mut checker).await;

    // Stop the clients, then a last quiet point with every event decided.
    let stats = clients.stop(&shared).await;
    checker.quiet_point().await;
    let rss_end = rss_bytes();
    let procs_running = process_count();
    let tasks_running = metrics.num_alive_tasks();

    // Stop the tree; everything must return to the baseline.
    if let Err(e) = top.stop_with(ExitReason::Shutdown, Duration::MAX).await {
        shared
            .violations
            .report(format!("stopping the tree failed: {e}"));
    }
    checker.check_events().await; // the handler's last forwards (none expected)
    let quiet = checker.finish().await;
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

    let total = Report {
        seed: cfg.seed,
        injected: &injected,
        sup_reports: &reports,
        quiet: &quiet,
        shared: &shared,
        app_events,
        clients: &stats,
        tasks: Levels {
            before: tasks_before,
            running: tasks_running,
            after: tasks_after,
        },
        procs: Levels {
            before: procs_before,
            running: procs_running,
            after: procs_after,
        },
        rss: Levels {
            before: rss_before,
            running: rss_end,
            after: rss_after,
        },
    }
    .print();
    if total > 0 {
        std::process::exit(1);
    }
}
