//! A process's life ends with its runtime's: dropping (or shutting down) a
//! tokio runtime runs exit processing for every process still on it, so no
//! pid, name, link or monitor outlives the runtime.
//!
//! The tests count live processes, a number global to the test binary, so
//! they run one at a time (`SERIAL`) in a binary of their own.

use std::sync::Mutex;
use std::time::Duration;

use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Msg, ProcessHandle, process_count, register, spawn, whereis};
use tokio::runtime::{Builder, Runtime};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Spawns on `rt` a process that waits forever, registered as `name`.
fn spawn_named(rt: &Runtime, name: &str) -> ProcessHandle {
    rt.block_on(async {
        let p = spawn(|mut ctx: Ctx<()>| async move {
            loop {
                ctx.recv().await;
            }
        });
        register(name, p.pid()).unwrap();
        p.handle().clone()
    })
}

/// The reproduction: three runtimes in a row, each with a process
/// registered as "svc". Every `register` succeeds and the count returns to
/// zero after each drop.
#[test]
fn a_dropped_runtime_releases_its_processes_names() {
    let _serial = serial();
    for (i, make) in [current_thread, multi_thread, current_thread]
        .into_iter()
        .enumerate()
    {
        let rt = make();
        let p = spawn_named(&rt, "svc");
        assert_eq!(process_count(), 1, "iteration {i}");
        drop(rt);
        assert_eq!(process_count(), 0, "iteration {i}");
        assert_eq!(whereis("svc"), None, "iteration {i}");
        assert!(!p.is_alive());
        assert_eq!(p.exit_reason(), Some(ExitReason::runtime_dropped()));
    }
}

/// Links and monitors held by processes of another runtime fire with the
/// documented reason, and `wait()` on another runtime returns it.
#[test]
fn links_monitors_and_waiters_see_runtime_dropped() {
    let _serial = serial();
    let observer_rt = current_thread();
    let doomed_rt = multi_thread();
    let doomed = spawn_named(&doomed_rt, "doomed");
    let observed = observer_rt.block_on(async {
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let observer = spawn(move |mut ctx: Ctx<()>| async move {
            ctx.trap_exit(true);
            ctx.link(doomed.pid());
            let mref = ctx.monitor(doomed.pid());
            let _ = ready_tx.send(());
            let waited = doomed.wait();
            let (exit, down) = (ctx.recv().await, ctx.recv().await);
            let waited = waited.await;
            let Msg::Exit(exit) = exit else {
                panic!("first an EXIT, got {exit:?}")
            };
            let Msg::Down(down) = down else {
                panic!("then a DOWN, got {down:?}")
            };
            assert_eq!(down.monitor, mref);
            assert_eq!(exit.from, doomed.pid());
            if exit.reason == down.reason && down.reason == waited {
                ExitReason::custom(waited.to_string())
            } else {
                ExitReason::custom(format!("{} / {} / {}", exit.reason, down.reason, waited))
            }
        });
        ready.await.unwrap();
        observer.handle().clone()
    });
    drop(doomed_rt);
    let reason = observer_rt.block_on(observed.wait());
    assert_eq!(reason, ExitReason::custom("{shutdown,runtime_dropped}"));
    assert_eq!(process_count(), 0);
}

/// `shutdown_background` and `shutdown_timeout` end the processes too.
#[test]
fn a_runtime_shut_down_in_the_background_ends_its_processes() {
    let _serial = serial();
    let rt = current_thread();
    let p = spawn_named(&rt, "bg");
    rt.shutdown_background();
    assert_eq!(p.exit_reason(), Some(ExitReason::runtime_dropped()));
    let rt = multi_thread();
    let p = spawn_named(&rt, "bg");
    rt.shutdown_timeout(Duration::from_secs(10));
    assert_eq!(p.exit_reason(), Some(ExitReason::runtime_dropped()));
    assert_eq!(whereis("bg"), None);
    assert_eq!(process_count(), 0);
}

/// A test body that panics (as a failing `#[tokio::test]` does) drops its
/// runtime while unwinding: its processes, and the test's own `scope`,
/// exit, and the name is free for the next test.
#[test]
fn a_panicking_test_leaves_no_process_behind() {
    let _serial = serial();
    let failed = std::thread::spawn(|| {
        let rt = current_thread();
        rt.block_on(async {
            let _ = arbor_process::scope(|_me: Ctx<()>| async {
                let p = spawn(|mut ctx: Ctx<()>| async move {
                    loop {
                        ctx.recv().await;
                    }
                });
                register("panicky", p.pid()).unwrap();
                panic!("the test failed");
            })
            .await;
        })
    })
    .join();
    assert!(failed.is_err());
    assert_eq!(whereis("panicky"), None);
    assert_eq!(process_count(), 0);
}

/// A `scope` whose future is dropped before its body ends exits with
/// `{shutdown, scope_dropped}`; its linked children get that signal.
#[test]
fn a_dropped_scope_exits_and_signals_its_links() {
    let _serial = serial();
    let rt = current_thread();
    let child = rt.block_on(async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let scoped = arbor_process::scope(|_me: Ctx<()>| async move {
            let child = arbor_process::spawn_link(|mut ctx: Ctx<()>| async move {
                loop {
                    ctx.recv().await;
                }
            });
            let _ = tx.send(child.handle().clone());
            std::future::pending::<()>().await
        });
        tokio::select! {
            _ = scoped => unreachable!("the scope never returns"),
            child = rx => child.unwrap(),
        }
    });
    let reason = rt.block_on(child.wait());
    assert_eq!(reason, ExitReason::scope_dropped());
    assert!(reason.is_dropped() && ExitReason::runtime_dropped().is_dropped());
    assert!(!ExitReason::Shutdown.is_dropped());
    drop(rt);
    assert_eq!(process_count(), 0);
}
