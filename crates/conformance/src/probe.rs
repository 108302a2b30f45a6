//! The probe: a worker with no behaviour of its own (docs/otp/oracle.md#oracle-probe).

use std::time::Duration;

use arbor_process::{Ctx, ExitReason, Msg, ProcessRef, ReplyTo, StartError, StartOpts, spawn_opts};

use crate::scenario::{Delay, ProbeOpts};

/// What the runner tells a probe.
#[derive(Debug)]
pub(crate) enum ProbeMsg {
    /// Exit with this reason now (even while stopping).
    Crash(ExitReason),
    /// Answer once every earlier signal has been handled.
    Ping(ReplyTo<()>),
}

/// Spawns a running probe linked to the calling process (the supervisor
/// running the start function), with its trap flag set before it runs.
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] if its name is taken (the caller checks
/// first).
pub(crate) fn spawn_probe(opts: &ProbeOpts) -> Result<ProcessRef<ProbeMsg>, StartError> {
    let trap = opts.trap.unwrap_or(false);
    let delay = opts.stop_delay.unwrap_or(Delay::Ms(0));
    // unlink=true: the probe is not linked when its start returns (OTP: it
    // unlinks itself); arbor's supervisor links it then.
    let mut spawn = if opts.unlink == Some(true) {
        StartOpts::new()
    } else {
        StartOpts::new().link()
    };
    if let Some(name) = &opts.name {
        spawn = spawn.name(name.as_str());
    }
    spawn.trap_exit = trap;
    spawn_opts(spawn, move |mut ctx: Ctx<ProbeMsg>| async move {
        loop {
            match ctx.recv().await {
                Msg::Message(ProbeMsg::Crash(r)) => return r,
                Msg::Message(ProbeMsg::Ping(reply)) => {
                    reply.reply(());
                }
                // Only delivered while trapping: obey after the delay.
                Msg::Exit(sig) => return stopping(ctx, sig.reason, delay).await,
                Msg::Down(_) => {}
            }
        }
    })
}

async fn stopping(mut ctx: Ctx<ProbeMsg>, reason: ExitReason, delay: Delay) -> ExitReason {
    match delay {
        Delay::Ms(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            reason
        }
        // Never obeys; can still crash and answers pings.
        Delay::Infinity => loop {
            match ctx.recv().await {
                Msg::Message(ProbeMsg::Crash(r)) => return r,
                Msg::Message(ProbeMsg::Ping(reply)) => {
                    reply.reply(());
                }
                Msg::Exit(_) | Msg::Down(_) => {}
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::scenario::ProbeOpts;
    use arbor_process::{Msg, Myself, Process, exit, scope};

    fn opts(trap: bool, delay: Delay) -> ProbeOpts {
        ProbeOpts {
            trap: Some(trap),
            stop_delay: Some(delay),
            ..ProbeOpts::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn trapping_probe_obeys_after_its_delay() {
        scope(|mut me: Ctx<()>| async move {
            me.trap_exit(true);
            let p = spawn_probe(&opts(true, Delay::Ms(300))).unwrap();
            let t0 = tokio::time::Instant::now();
            exit(p.pid(), ExitReason::Normal);
            assert_eq!(p.wait().await, ExitReason::Normal);
            assert_eq!(t0.elapsed(), Duration::from_millis(300));
            let Msg::Exit(sig) = me.recv().await else {
                panic!("no exit")
            };
            assert_eq!(sig.reason, ExitReason::Normal);
        })
        .await
        .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn infinite_delay_ignores_signals_but_crashes_and_dies_to_kill() {
        scope(|me: Ctx<()>| async move {
            me.trap_exit(true);
            let p = spawn_probe(&opts(true, Delay::Infinity)).unwrap();
            exit(p.pid(), ExitReason::Shutdown);
            p.call_timeout(ProbeMsg::Ping, Duration::MAX).await.unwrap();
            assert!(p.is_alive());
            p.send(ProbeMsg::Crash(ExitReason::custom("boom"))).unwrap();
            assert_eq!(p.wait().await, ExitReason::custom("boom"));
            let q = spawn_probe(&opts(true, Delay::Infinity)).unwrap();
            exit(q.pid(), ExitReason::Kill);
            assert_eq!(q.wait().await, ExitReason::Killed);
        })
        .await
        .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn non_trapping_probe_dies_with_the_signal() {
        scope(|me: Ctx<()>| async move {
            me.trap_exit(true);
            let p = spawn_probe(&opts(false, Delay::Ms(0))).unwrap();
            exit(p.pid(), ExitReason::custom("boom"));
            assert_eq!(p.wait().await, ExitReason::custom("boom"));
        })
        .await
        .unwrap();
    }
}
