//! [`scope`]: the current task as a process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use crate::ExitReason;
use crate::cell::ProcessCell;
use crate::ctx::Ctx;
use crate::current::EnterProcess;
use crate::spawn::{exit_dropping_state, new_process};

/// Runs `body` as a process **in the current task** (no spawn) and returns
/// its value: the way a test or `main` becomes a process that can link,
/// monitor, trap exits and own `start_link`ed children.
///
/// When `body` returns, the process exits with reason `normal`. When the
/// scope's future is dropped before `body` finishes (cancelled by a
/// `select!` or a timeout, or its runtime dropped), the process exits with
/// `{shutdown, scope_dropped}`: its name is released and its links and
/// monitors fire, as for any exit.
///
/// # Errors
///
/// `Err(reason)` if the process was killed, or died from an exit signal it
/// did not trap, before `body` finished. A panic in `body` exits the process
/// with [`ExitReason::Panic`] (links and monitors fire) and then resumes
/// unwinding, so test assertions fail as usual.
///
/// # Examples
///
/// ```
/// use arbor_process::{scope, spawn_link, ExitReason, Msg, Myself, Process};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let out = scope(|mut ctx: arbor_process::Ctx<()>| async move {
///     ctx.trap_exit(true);
///     let child = spawn_link(|_ctx: arbor_process::Ctx<()>| async { ExitReason::custom("boom") });
///     match ctx.recv().await {
///         Msg::Exit(sig) => (sig.from == child.pid(), sig.reason),
///         other => panic!("unexpected {other:?}"),
///     }
/// }).await;
/// assert_eq!(out, Ok((true, ExitReason::custom("boom"))));
/// # }
/// ```
pub async fn scope<M, F, Fut, T>(body: F) -> Result<T, ExitReason>
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut,
    Fut: Future<Output = T>,
{
    let (ctx, _handle) = new_process::<M>();
    let cell = ctx.me.cell.clone();
    let fut = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(body(ctx)));
    // In an `Option` so that a killed body is dropped before the exit is
    // published, as in a spawned process (`Drive`).
    let mut fut = std::pin::pin!(Some(fut));
    let mut scope = ScopeExit {
        cell,
        body: fut.as_mut(),
    };
    let outcome = std::future::poll_fn(|cx| {
        if let Poll::Ready(reason) = scope.cell.poll_killed(cx) {
            return Poll::Ready(Err(reason));
        }
        let _current = EnterProcess::new(scope.cell.pid);
        match scope.body.as_mut().as_pin_mut() {
            Some(body) => body.poll(cx).map(Ok),
            None => unreachable!("polled until it finishes, then never again"),
        }
    })
    .await;
    let reason = match &outcome {
        Ok(Ok(_)) => ExitReason::Normal,
        Ok(Err(panic)) => ExitReason::from_panic(&**panic),
        Err(reason) => reason.clone(),
    };
    scope.exit(reason);
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(reason) => Err(reason),
    }
}

/// The process of a [`scope`] and its body: exit processing runs once,
/// from [`ScopeExit::exit`] when the body ends, or on drop when the scope's
/// future is dropped first (cancelled, or its runtime dropped), with reason
/// `{shutdown, scope_dropped}`.
struct ScopeExit<'a, F> {
    cell: Arc<ProcessCell>,
    body: Pin<&'a mut Option<F>>,
}

impl<F> ScopeExit<'_, F> {
    fn exit(&mut self, reason: ExitReason) {
        if self.body.is_some() {
            exit_dropping_state(&self.cell, reason, || self.body.set(None));
        }
    }
}

impl<F> Drop for ScopeExit<'_, F> {
    fn drop(&mut self) {
        self.exit(ExitReason::scope_dropped());
    }
}
