//! The shutdown protocol (docs/otp/supervisor.md#sup-shutdown): how a supervisor stops one
//! child, and all simple_one_for_one children at once.

use std::collections::VecDeque;
use std::time::Duration;

use arbor_process::{Ctx, ExitReason, ProcessHandle};

use crate::{ChildSpec, Restart, Shutdown};
use arbor_process::Myself;
use arbor_process::Process;

/// Stops one child and returns its real exit reason.
///
/// The child is unlinked first, so its exit signal never reaches the
/// supervisor's mailbox (OTP unlinks afterwards and flushes the `EXIT`;
/// the observable result is the same). `brutal_kill` kills at once; a
/// timeout sends `shutdown` and kills when it expires; `infinity` sends
/// `shutdown` and waits. A child that already exited reports its own
/// reason.
pub(crate) async fn shutdown_one<M: Send + 'static>(
    ctx: &Ctx<M>,
    child: &ProcessHandle,
    shutdown: Shutdown,
) -> ExitReason {
    ctx.unlink(child.pid());
    if let Some(reason) = child.exit_reason() {
        return reason;
    }
    match shutdown {
        Shutdown::BrutalKill => {
            child.exit(ExitReason::Kill);
            child.wait().await
        }
        Shutdown::Infinity => {
            child.exit(ExitReason::Shutdown);
            child.wait().await
        }
        Shutdown::Timeout(limit) => {
            child.exit(ExitReason::Shutdown);
            match child.wait_timeout(limit).await {
                Some(reason) => reason,
                None => {
                    child.exit(ExitReason::Kill);
                    child.wait().await
                }
            }
        }
    }
}

/// Stops many children in parallel under one timer (simple_one_for_one
/// termination): every child is signalled at once, survivors of the
/// timeout are killed together. `exited` gets each child with its reason,
/// in input order, as soon as it is known; the handle is dropped right
/// after, so each child's memory is touched once more, not once per pass.
pub(crate) async fn shutdown_many<M: Send + 'static>(
    ctx: &Ctx<M>,
    children: Vec<ProcessHandle>,
    shutdown: Shutdown,
    mut exited: impl FnMut(&ProcessHandle, ExitReason),
) {
    let signal = match shutdown {
        Shutdown::BrutalKill => ExitReason::Kill,
        _ => ExitReason::Shutdown,
    };
    for child in &children {
        ctx.unlink(child.pid());
        child.exit(signal.clone());
    }
    let mut children = VecDeque::from(children);
    if let Shutdown::Timeout(limit) = shutdown
        && limit != Duration::MAX
    {
        let waited = wait_each(&mut children, &mut exited);
        if tokio::time::timeout(limit, waited).await.is_ok() {
            return;
        }
        for child in children.iter().filter(|c| c.is_alive()) {
            child.exit(ExitReason::Kill);
        }
    }
    wait_each(&mut children, &mut exited).await;
}

/// Waits for `children` in order, handing each to `exited` and dropping
/// it. Cancel safe: a child leaves the queue only once handed over.
///
/// Waiting one by one costs one wake-up for the first child still running;
/// by then the others have mostly exited and answer at once.
async fn wait_each(
    children: &mut VecDeque<ProcessHandle>,
    exited: &mut impl FnMut(&ProcessHandle, ExitReason),
) {
    while let Some(child) = children.front() {
        let reason = child.wait().await;
        exited(child, reason);
        children.pop_front();
    }
}

/// Whether a reason is an expected result of stopping this child: `killed`
/// for brutal_kill, `shutdown`, and for non-permanent children also
/// `normal` and `{shutdown, _}` (docs/otp/supervisor.md#sup-shutdown step 4). Anything else is reported
/// as a shutdown error.
pub(crate) fn acceptable(spec: &ChildSpec, reason: &ExitReason) -> bool {
    match reason {
        ExitReason::Shutdown => true,
        ExitReason::Killed => spec.shutdown == Shutdown::BrutalKill,
        ExitReason::Normal | ExitReason::ShutdownWith(_) => spec.restart != Restart::Permanent,
        _ => false,
    }
}
