//! Model tests of exit processing (`cell/mod.rs`, invariants 2 and 5):
//! loom runs each test body once per interleaving of its threads at every
//! lock of a cell and every access to its `exited` flag. Run with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p arbor-process --release --lib loom_
//! ```
//!
//! The cells are bare (no process task): one thread runs the exit
//! processing (`terminate`: `stop_living`, then `publish_exit`), another
//! races it with the operation under test. The process table and the
//! registry are `DashMap`s outside the model: each of their operations is
//! one step between the cell's locks, never interrupted.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Waker};

use loom::future::block_on;
use loom::thread;

use crate::cell::ProcessCell;
use crate::mailbox;
use crate::signal::{Down, ExitSignal, Msg};
use crate::sync::model;
use crate::{ExitReason, Pid};

fn gone() -> ExitReason {
    ExitReason::custom("gone")
}

/// A bare cell whose messages are `u8`.
fn cell() -> Arc<ProcessCell> {
    ProcessCell::new(mailbox::open::<u8>)
}

/// Runs the exit processing of `cell` with reason `gone` on another thread.
fn exit_on_another_thread(cell: &Arc<ProcessCell>) -> thread::JoinHandle<()> {
    let cell = cell.clone();
    thread::spawn(move || cell.terminate(gone()))
}

/// The system messages queued for `cell`.
fn signals(cell: &ProcessCell) -> Vec<Msg<u8>> {
    let Some(mut rx) = cell.claim_mailbox::<u8>(None) else {
        return Vec::new();
    };
    std::iter::from_fn(|| rx.try_recv())
        .map(Msg::from)
        .collect()
}

/// Whether `reason` is what a signal of `x`'s exit may carry: its reason
/// (the link or monitor was taken by the exit) or `noproc` (it found `x`
/// dead).
fn fired_or_noproc(reason: &ExitReason) -> bool {
    *reason == gone() || *reason == ExitReason::NoProc
}

/// Invariant 5. The exit races a task waiting in `wait_exit` (parked by
/// `block_on` until woken: a lost wake-up is a deadlock, which loom
/// reports) and a `wait_exit` polled once and dropped. The waiter gets the
/// reason; no entry stays in the list (neither one registered after the
/// exit took it nor the dropped future's).
#[test]
fn loom_cell_exit_races_a_waiter_and_a_dropped_wait() {
    model(
        "cell: exit racing wait_exit and a dropped wait_exit",
        || {
            let x = cell();
            let exiting = exit_on_another_thread(&x);
            let dropped = {
                let x = x.clone();
                thread::spawn(move || {
                    let mut wait = Box::pin(x.wait_exit());
                    let _ = wait.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                })
            };
            assert_eq!(block_on(x.wait_exit()), gone());
            exiting.join().expect("exit");
            dropped.join().expect("dropped wait");
            assert_eq!(x.state.lock().exit_waiters.len(), 0, "a waiter stayed");
            assert_eq!(x.exit_reason(), Some(gone()));
        },
    );
}

/// Invariant 2, links. `y` (trapping exits) links to `x` while `x` exits:
/// `y` gets exactly one exit signal from `x`, with `x`'s reason (the link
/// was taken by the exit) or `noproc` (`x` was found dead), and neither
/// keeps a link to the other.
#[test]
fn loom_cell_link_racing_the_exit_fires_or_gets_noproc() {
    model("cell: link racing the peer's exit", || {
        let (x, y) = (cell(), cell());
        y.set_trap_exit(true);
        let exiting = exit_on_another_thread(&x);
        y.link_cell(&x);
        exiting.join().expect("exit");
        match &signals(&y)[..] {
            [Msg::Exit(ExitSignal { from, reason })] if *from == x.pid => {
                assert!(fired_or_noproc(reason), "{reason:?}");
            }
            other => panic!("want one exit signal from x, got {other:?}"),
        }
        assert!(!y.state.lock().links.contains(x.pid), "y kept the link");
        assert!(!x.state.lock().links.contains(y.pid), "x kept the link");
    });
}

/// Invariant 2, monitors. `y` monitors `x` (found in the process table)
/// while `x` exits: `y` gets exactly one `Down` for that monitor, with
/// `x`'s reason or `noproc`, and no side keeps the monitor.
#[test]
fn loom_cell_monitor_racing_the_exit_fires_or_gets_noproc() {
    model("cell: monitor racing the target's exit", || {
        let (x, y) = (cell(), cell());
        x.publish();
        let exiting = exit_on_another_thread(&x);
        let mref = y.monitor(x.pid);
        exiting.join().expect("exit");
        match &signals(&y)[..] {
            [
                Msg::Down(Down {
                    monitor,
                    pid,
                    reason,
                }),
            ] if *monitor == mref && *pid == x.pid => {
                assert!(fired_or_noproc(reason), "{reason:?}");
            }
            other => panic!("want one Down for the monitor, got {other:?}"),
        }
        assert!(x.state.lock().monitors.is_empty(), "x kept the monitor");
        let monitoring: Vec<(_, Pid)> = y
            .state
            .lock()
            .monitoring
            .iter()
            .flat_map(|m| m.iter().map(|(r, p)| (*r, *p)))
            .collect();
        assert!(monitoring.is_empty(), "y kept the monitor: {monitoring:?}");
    });
}
