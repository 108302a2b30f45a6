//! The report printed at the end of a run.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use crate::checker::QuietStats;
use crate::client::ClientStats;
use crate::injector::{Injected, Target};
use crate::rss::mib;
use crate::shared::{Shared, lock};
use crate::sup_reports::SupReports;

/// A count before the run, at its end (still running) and after stop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Levels<T> {
    pub(crate) before: T,
    pub(crate) running: T,
    pub(crate) after: T,
}

/// Everything the report shows.
#[derive(Debug)]
pub(crate) struct Report<'a> {
    pub(crate) seed: u64,
    pub(crate) injected: &'a Injected,
    pub(crate) sup_reports: &'a SupReports,
    pub(crate) quiet: &'a QuietStats,
    pub(crate) shared: &'a Shared,
    /// Forwarded events that were neither client events nor markers.
    pub(crate) app_events: u64,
    pub(crate) clients: &'a ClientStats,
    pub(crate) tasks: Levels<usize>,
    pub(crate) procs: Levels<usize>,
    pub(crate) rss: Levels<u64>,
}

impl Report<'_> {
    /// Prints the report; the number of invariant violations.
    pub(crate) fn print(&self) -> u64 {
        let Report {
            seed,
            injected,
            sup_reports: reports,
            quiet,
            shared,
            app_events,
            clients: stats,
            tasks,
            procs,
            rss,
        } = self;
        let ledger = lock(&shared.ledger);
        let injected_n: u64 = injected.crashes.values().sum();
        println!("\n== chaos report (seed {seed}) ==");
        println!(
            "ran {:.1} s: {} bursts, {} crashes injected ({:.2}/s), {} skipped (target not running)",
            injected.elapsed.as_secs_f64(),
            injected.bursts,
            injected_n,
            injected_n as f64 / injected.elapsed.as_secs_f64(),
            injected.skipped
        );
        println!("crashes by target and reason:");
        let mut by_target: BTreeMap<Target, Vec<String>> = BTreeMap::new();
        for ((t, r), n) in &injected.crashes {
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
            quiet.quiet_points, quiet.pid_changes, quiet.settle_attempts_max
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
            quiet.lists_checked
        );
        println!(
            "tokio alive tasks: {} before, {} while running, {} after stop",
            tasks.before, tasks.running, tasks.after
        );
        println!(
            "arbor processes: {} before, {} while running, {} after stop",
            procs.before, procs.running, procs.after
        );
        let ledger_mib = mib(ledger.memory_bytes());
        println!(
            "RSS: {:.1} MiB before, {:.1} MiB at end of run, {:.1} MiB after stop (growth {:+.1} MiB, of which the event ledger {:.1} MiB)",
            mib(rss.before),
            mib(rss.running),
            mib(rss.after),
            mib(rss.after) - mib(rss.before),
            ledger_mib
        );
        let samples: Vec<String> = injected
            .rss_samples
            .iter()
            .map(|(t, b)| format!("{:.0}s {:.1}", t.as_secs_f64(), mib(*b)))
            .collect();
        println!("RSS samples (MiB): {}", samples.join(", "));
        let total = shared.violations.total();
        println!("invariant violations: {total}");
        for v in shared.violations.first().iter() {
            println!("  {v}");
        }
        drop(ledger);
        total
    }
}
