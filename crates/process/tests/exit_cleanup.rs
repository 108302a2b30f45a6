//! A process's own state (its body's locals: sockets, files, locks, child
//! handles) is dropped before anyone can learn of its exit: before links
//! and monitors are signalled and before `wait()` returns. A supervisor
//! that restarts a crashed child therefore never starts the new one while
//! the old one still holds, say, the port they both listen on.
//!
//! In OTP the resources a process owns (ports, ETS tables) are released by
//! its exit; here they are whatever its future owns, released by dropping
//! it, which exit processing now does first (docs/architecture.md,
//! guarantee 2).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Msg, ProcessHandle, scope, spawn};
use parking_lot::Mutex;

/// What a process's state saw of its own process while being dropped.
#[derive(Debug, Clone, PartialEq)]
struct SeenAtDrop {
    exit_published: bool,
    alive: bool,
}

/// A value the process owns (moved into its future at spawn, so owned
/// even if the process is killed before it first runs) that records, when
/// dropped, whether the process's exit was already visible.
struct Resource {
    me: Arc<Mutex<Option<ProcessHandle>>>,
    seen: Arc<Mutex<Option<SeenAtDrop>>>,
    dropped: Arc<AtomicBool>,
}

impl Drop for Resource {
    fn drop(&mut self) {
        let me = self.me.lock().clone().expect("set right after spawn");
        *self.seen.lock() = Some(SeenAtDrop {
            exit_published: me.exit_reason().is_some(),
            alive: me.is_alive(),
        });
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// How the process ends.
#[derive(Clone, Copy, Debug)]
enum End {
    Return,
    Panic,
    Killed,
}

/// Spawns a process owning a `Resource`; it ends as `end` says once it gets
/// a message (or is killed while waiting).
fn owner(
    end: End,
) -> (
    arbor_process::ProcessRef<()>,
    Arc<Mutex<Option<SeenAtDrop>>>,
    Arc<AtomicBool>,
) {
    let seen = Arc::new(Mutex::new(None));
    let dropped = Arc::new(AtomicBool::new(false));
    let me = Arc::new(Mutex::new(None));
    let resource = Resource {
        me: me.clone(),
        seen: seen.clone(),
        dropped: dropped.clone(),
    };
    let p = spawn(move |mut ctx: Ctx<()>| async move {
        let _resource = resource;
        let _ = ctx.recv().await;
        match end {
            End::Return | End::Killed => ExitReason::custom("done"),
            End::Panic => panic!("owner crashed"),
        }
    });
    *me.lock() = Some(p.handle().clone());
    (p, seen, dropped)
}

fn finish(p: &arbor_process::ProcessRef<()>, end: End) {
    match end {
        End::Killed => arbor_process::kill(p.pid()),
        End::Return | End::Panic => assert!(p.send(()).is_ok()),
    }
}

#[tokio::test]
async fn the_state_is_dropped_before_the_exit_is_published() {
    for end in [End::Return, End::Panic, End::Killed] {
        let (p, seen, _) = owner(end);
        tokio::task::yield_now().await;
        finish(&p, end);
        let reason = p.wait().await;
        assert!(!reason.is_normal(), "{end:?}: {reason}");
        // A body that returns or panics drops its locals itself, while the
        // process is still alive; a killed body is dropped by exit
        // processing, after the process stopped being alive. (Each owner
        // runs to its `recv` first: the yield lets it start.)
        assert_eq!(
            seen.lock().clone(),
            Some(SeenAtDrop {
                exit_published: false,
                alive: !matches!(end, End::Killed),
            }),
            "{end:?}"
        );
    }
}

/// The same order seen from a monitor and a link, on worker threads that
/// run the watcher while the exiting process is still tearing down.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_and_monitors_learn_of_the_exit_after_the_state_is_dropped() {
    for round in 0..2_000 {
        let end = [End::Return, End::Panic, End::Killed][round % 3];
        let (p, _, dropped) = owner(end);
        let pid = p.pid();
        let (down_after_drop, exit_after_drop) = scope(|mut me: Ctx<()>| async move {
            me.trap_exit(true);
            me.monitor(pid);
            me.link(pid);
            finish(&p, end);
            let mut down = None;
            let mut exit = None;
            while down.is_none() || exit.is_none() {
                match me.recv().await {
                    Msg::Down(_) => down = Some(dropped.load(Ordering::SeqCst)),
                    Msg::Exit(_) => exit = Some(dropped.load(Ordering::SeqCst)),
                    Msg::Message(()) => {}
                }
            }
            (down, exit)
        })
        .await
        .unwrap_or_else(|r| panic!("round {round}: watcher exited: {r}"));
        assert_eq!(down_after_drop, Some(true), "round {round} {end:?}: DOWN");
        assert_eq!(exit_after_drop, Some(true), "round {round} {end:?}: EXIT");
    }
}

/// State whose destructor panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("a destructor panics");
    }
}

/// A panicking destructor in a killed process's state is caught: the exit
/// is still published with the kill's reason, for a spawned process and
/// for a `scope` alike (which also still returns).
#[tokio::test]
async fn a_panicking_destructor_does_not_keep_the_exit_from_being_published() {
    use arbor_process::kill;

    let p = spawn(|mut ctx: Ctx<()>| async move {
        let _state = PanicsOnDrop;
        let _ = ctx.recv().await;
        ExitReason::Normal
    });
    tokio::task::yield_now().await;
    kill(p.pid());
    assert_eq!(within("spawned", p.wait()).await, ExitReason::Killed);

    let (pid_tx, pid_rx) = tokio::sync::oneshot::channel();
    let scoped = tokio::spawn(scope(|mut ctx: Ctx<()>| async move {
        let _state = PanicsOnDrop;
        let _ = pid_tx.send(ctx.pid());
        let _ = ctx.recv().await;
    }));
    let pid = pid_rx.await.expect("scope started");
    let handle = ProcessHandle::lookup(pid).expect("scope alive");
    kill(pid);
    assert_eq!(within("scope", handle.wait()).await, ExitReason::Killed);
    let returned = within("scope's return", scoped).await;
    assert_eq!(returned.expect("scope task"), Err(ExitReason::Killed));
}

/// A safety net, not synchronisation: a lost exit would hang the test.
async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    let limit = std::time::Duration::from_secs(10);
    match tokio::time::timeout(limit, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: the exit was never published"),
    }
}
