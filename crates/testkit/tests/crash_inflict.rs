//! `Crash::inflict` on every kind of process: it kills with the asked
//! reason or says why not (`Survived`, `NoProcess`, `Mismatch`), never
//! reporting a crash that did not happen.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use arbor_process::{
    Agent, Control, Ctx, ExitReason, GenServer, Msg, Process, ServerCtx, StartOpts, spawn,
    spawn_opts,
};
use arbor_supervisor::{Strategy, SupFlags, Supervisor};
use arbor_testkit::{Crash, InflictError, LifecycleLog, Probe, quiet_probe_panics};
use tokio::time::Instant;

/// A plain process that does not trap exits and waits forever.
fn idle() -> arbor_process::ProcessRef<()> {
    spawn(|mut ctx: Ctx<()>| async move {
        loop {
            ctx.recv().await;
        }
    })
}

/// A process that traps exits and ignores every message.
fn trapping() -> arbor_process::ProcessRef<()> {
    spawn_opts(
        StartOpts::new().trap_exit(),
        |mut ctx: Ctx<()>| async move {
            loop {
                ctx.recv().await;
            }
        },
    )
    .unwrap()
}

/// Traps exits when its flag is set.
struct Server(bool);

impl GenServer for Server {
    type Call = ();
    type Cast = ();
    type Info = ();

    async fn init(&mut self, ctx: &mut ServerCtx<Self>) -> Result<(), ExitReason> {
        use arbor_process::Myself;
        ctx.trap_exit(self.0);
        Ok(())
    }

    async fn handle_info(&mut self, _: Msg<()>, _: &mut ServerCtx<Self>) -> Control {
        Control::Continue
    }
}

/// `exit(Pid, Reason)` kills a process that does not trap exits with
/// `Reason` (every reason but `normal`).
#[tokio::test(start_paused = true)]
async fn plain_process_dies_with_the_asked_reason() {
    for crash in Crash::ALL.into_iter().filter(|c| *c != Crash::Normal) {
        let p = idle();
        assert_eq!(crash.inflict(&p).await, Ok(crash.reason()), "{crash}");
        assert_eq!(p.exit_reason(), Some(crash.reason()), "{crash}");
        let p = idle();
        assert_eq!(
            crash.inflict_pid(p.pid()).await,
            Ok(crash.reason()),
            "{crash}"
        );
        assert!(!p.is_alive());
    }
}

/// `exit(Pid, normal)` is ignored by a process that does not trap exits.
#[tokio::test(start_paused = true)]
async fn normal_signal_leaves_a_plain_process_running() {
    let p = idle();
    let err = Crash::Normal.inflict(&p).await;
    assert_eq!(
        err,
        Err(InflictError::Survived {
            pid: p.pid(),
            reason_sent: ExitReason::Normal
        })
    );
    assert!(p.is_alive());
}

/// A GenServer that does not trap exits dies of the signal.
#[tokio::test(start_paused = true)]
async fn gen_server_dies_with_the_asked_reason() {
    for crash in [Crash::Custom, Crash::Shutdown, Crash::Panic, Crash::Kill] {
        let server = Server(false).start().await.unwrap();
        assert_eq!(crash.inflict(&server).await, Ok(crash.reason()), "{crash}");
        assert_eq!(server.exit_reason(), Some(crash.reason()), "{crash}");
    }
}

/// An Agent dies of the signal.
#[tokio::test(start_paused = true)]
async fn agent_dies_with_the_asked_reason() {
    let agent = Agent::start(|| 0u32).await.unwrap();
    assert_eq!(
        Crash::Error.inflict(&agent).await,
        Ok(Crash::Error.reason())
    );
    assert_eq!(agent.exit_reason(), Some(Crash::Error.reason()));
}

/// A process that traps exits turns the signal into a message and keeps
/// running: `Survived` after the bounded wait, not a pretended crash.
#[tokio::test(start_paused = true)]
async fn trapping_process_survives() {
    let p = trapping();
    let start = Instant::now();
    assert_eq!(
        Crash::Custom.inflict(&p).await,
        Err(InflictError::Survived {
            pid: p.pid(),
            reason_sent: ExitReason::custom("boom")
        })
    );
    assert!(p.is_alive());
    assert_eq!(start.elapsed(), Crash::DEATH_TIMEOUT);
    let server = Server(true).start().await.unwrap();
    assert!(matches!(
        Crash::Shutdown.inflict(&server).await,
        Err(InflictError::Survived { .. })
    ));
    assert!(server.is_alive());
}

/// `kill` is untrappable: `killed`, also for a trapping process.
#[tokio::test(start_paused = true)]
async fn kill_gives_killed_even_when_trapping() {
    let p = trapping();
    assert_eq!(Crash::Kill.inflict(&p).await, Ok(ExitReason::Killed));
    let server = Server(true).start().await.unwrap();
    assert_eq!(Crash::Kill.inflict(&server).await, Ok(ExitReason::Killed));
    assert_eq!(server.exit_reason(), Some(ExitReason::Killed));
}

/// A process that is gone is `NoProcess`, by handle and by pid.
#[tokio::test(start_paused = true)]
async fn dead_process_is_no_process() {
    let p = spawn(|_: Ctx<()>| async { ExitReason::Normal });
    p.wait().await;
    for crash in Crash::ALL {
        assert_eq!(
            crash.inflict(&p).await,
            Err(InflictError::NoProcess(p.pid()))
        );
        assert_eq!(
            crash.inflict_pid(p.pid()).await,
            Err(InflictError::NoProcess(p.pid()))
        );
    }
}

/// A trapping process that exits on the exit message with its own reason:
/// `Mismatch` with both reasons.
#[tokio::test(start_paused = true)]
async fn other_exit_reason_is_a_mismatch() {
    let p = spawn_opts(
        StartOpts::new().trap_exit(),
        |mut ctx: Ctx<()>| async move {
            loop {
                if let Msg::Exit(_) = ctx.recv().await {
                    return ExitReason::custom("my_own");
                }
            }
        },
    )
    .unwrap();
    assert_eq!(
        Crash::Error.inflict(&p).await,
        Err(InflictError::Mismatch {
            pid: p.pid(),
            asked: Crash::Error.reason(),
            got: ExitReason::custom("my_own"),
        })
    );
}

/// A probe (which traps exits) is told to die by itself: every variant,
/// including `normal`, with the probe's own log line, and the supervisor
/// restarts it.
#[tokio::test(start_paused = true)]
async fn probe_dies_by_itself_with_every_reason() {
    quiet_probe_panics();
    let log = LifecycleLog::new();
    let sup = Supervisor::new(SupFlags::new(Strategy::OneForOne).intensity(100))
        .child(Probe::new(&log, "a").spec())
        .start()
        .await
        .unwrap();
    for crash in Crash::ALL {
        let pid = log.last_pid("a").unwrap();
        assert_eq!(crash.inflict_pid(pid).await, Ok(crash.reason()), "{crash}");
        sup.which_children().await.unwrap();
    }
    let lines: Vec<String> = log
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with("start"))
        .collect();
    assert_eq!(
        lines,
        [
            "exit a normal",
            "exit a shutdown",
            "exit a {shutdown,x}",
            "exit a boom",
            "exit a {error,\"bad\"}",
            "panic a",
        ]
    );
    assert_eq!(log.starts("a"), 1 + Crash::ALL.len());
}
