//! Spawning processes: [`spawn`], [`spawn_link`], [`spawn_opts`], the task
//! that drives every process body ([`Drive`]) and the exit processing
//! around the drop of a process's state.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::FutureExt;

use crate::ExitReason;
use crate::cell::ProcessCell;
use crate::ctx::Ctx;
use crate::current::{EnterProcess, current_cell};
use crate::error::{RegisterError, StartError};
use crate::handle::ProcessHandle;
use crate::mailbox::{self, SenderSlot};
use crate::process_ref::ProcessRef;
use crate::start_opts::StartOpts;

/// Spawns a process running `body`. The process exits with the reason the
/// body returns, with [`ExitReason::Panic`] if it panics, or with the reason
/// of an exit signal it does not trap.
///
/// Must be called inside a tokio runtime.
///
/// # Examples
///
/// ```
/// use arbor_process::{spawn, ExitReason, Msg, Process};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let echo = spawn(|mut ctx| async move {
///     while let Msg::Message(n) = ctx.recv().await {
///         if n == 0u32 { break; }
///     }
///     ExitReason::Normal
/// });
/// echo.send(1).unwrap();
/// echo.send(0).unwrap();
/// assert_eq!(echo.wait().await, ExitReason::Normal);
/// # }
/// ```
///
/// # OTP
///
/// `erlang:spawn/1`.
pub fn spawn<M, F, Fut>(body: F) -> ProcessRef<M>
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut,
    Fut: Future<Output = ExitReason> + Send + 'static,
{
    spawn_unregistered(StartOpts::new(), body)
}

/// Spawns a process linked to the calling process.
///
/// # OTP
///
/// `erlang:spawn_link/1`. Called outside a process it behaves as [`spawn`].
pub fn spawn_link<M, F, Fut>(body: F) -> ProcessRef<M>
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut,
    Fut: Future<Output = ExitReason> + Send + 'static,
{
    spawn_unregistered(StartOpts::new().link(), body)
}

/// Spawns a process with options: linked to the caller, registered under
/// a name (before the body first runs), trapping exits from the start.
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] with the holder's pid if the name is
/// taken; nothing is spawned then.
///
/// # Examples
///
/// ```
/// use arbor_process::{Ctx, ExitReason, Process, StartOpts, spawn_opts, whereis};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let p = spawn_opts(StartOpts::new().name("echo"), |mut ctx: Ctx<u32>| async move {
///     ctx.recv().await;
///     ExitReason::Normal
/// })
/// .unwrap();
/// assert_eq!(whereis("echo"), Some(p.pid()));
/// # }
/// ```
///
/// # OTP
///
/// `erlang:spawn_opt/2` with `link`, then `register/2` (atomically: nobody
/// sees the process unnamed), and `{trap_exit, true}` (set by the child
/// itself in Erlang; here before it runs).
pub fn spawn_opts<M, F, Fut>(opts: StartOpts, body: F) -> Result<ProcessRef<M>, StartError>
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut,
    Fut: Future<Output = ExitReason> + Send + 'static,
{
    let (ctx, handle) = new_process::<M>();
    if let Some(name) = opts.name.clone()
        && let Err(e) = crate::cell::register_cell(name, &ctx.me.cell)
    {
        // Never ran: out of the table with no one to tell.
        let holder = match e {
            RegisterError::AlreadyRegistered(p) => p,
            _ => ctx.me.cell.pid,
        };
        let cell = ctx.me.cell.clone();
        exit_dropping_state(&cell, ExitReason::Normal, || drop(ctx));
        return Err(StartError::AlreadyStarted(holder));
    }
    start_body(&opts, ctx, body);
    Ok(handle)
}

/// Spawns `body` with the link and trap settings of `opts` (not its name).
pub(crate) fn spawn_unregistered<M, F, Fut>(opts: StartOpts, body: F) -> ProcessRef<M>
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut,
    Fut: Future<Output = ExitReason> + Send + 'static,
{
    let (ctx, handle) = new_process::<M>();
    start_body(&opts, ctx, body);
    handle
}

/// Applies `opts`' trap and link settings to the new process of `ctx`
/// and spawns its body.
fn start_body<M, F, Fut>(opts: &StartOpts, ctx: Ctx<M>, body: F)
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut,
    Fut: Future<Output = ExitReason> + Send + 'static,
{
    ctx.me.cell.set_trap_exit(opts.trap_exit);
    if let Some(parent) = opts.link.then(current_cell).flatten() {
        // The child's cell is at hand: no table lookup for it.
        parent.link_cell(&ctx.me.cell);
    }
    let cell = ctx.me.cell.clone();
    let fut = body(ctx);
    tokio::spawn(Drive::new(cell, fut));
}

/// A new process's context and handle; its mailbox is opened by the first
/// message (`mailbox.rs`).
pub(crate) fn new_process<M: Send + 'static>() -> (Ctx<M>, ProcessRef<M>) {
    let cell = ProcessCell::new(mailbox::open::<M>);
    cell.publish();
    let handle = ProcessRef::from_parts(ProcessHandle::new(cell.clone()), SenderSlot::lazy());
    (Ctx::new(ProcessHandle::new(cell)), handle)
}

pin_project_lite::pin_project! {
    /// The task of every process: the kill check first, then the body;
    /// when it ends, its state is dropped between the two halves of exit
    /// processing (`cell`, invariant 1).
    ///
    /// A struct that owns its body rather than an `async fn` taking it, so
    /// the body is stored once in the task (docs/performance.md, "Design
    /// notes").
    struct Drive<Fut> {
        cell: Arc<ProcessCell>,
        // The waker registered for kills. Only a kill takes it out of the
        // cell, after setting the kill flag, so while the task's waker stays
        // the same, checking the flag is enough.
        waker: Option<Waker>,
        // `None` once the body finished or was killed: dropped in place
        // between the two halves of exit processing.
        #[pin]
        body: Option<futures::future::CatchUnwind<AssertUnwindSafe<Fut>>>,
    }

    // A task dropped before its body finished (its runtime was dropped or
    // shut down) exits like any process, so its name, links and monitors
    // do not outlive the runtime (see `ExitReason::runtime_dropped`).
    impl<Fut> PinnedDrop for Drive<Fut> {
        #[inline]
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.body.is_some() {
                exit_unfinished(this.cell, this.body);
            }
        }
    }
}

/// Exit processing for a process whose task is dropped before its body
/// finished: kept out of line, so that the drop of every finished task
/// stays a check.
#[cold]
#[inline(never)]
fn exit_unfinished<B>(cell: &Arc<ProcessCell>, mut body: Pin<&mut Option<B>>) {
    let reason = ExitReason::runtime_dropped();
    exit_dropping_state(cell, reason, || body.set(None));
}

impl<Fut: Future<Output = ExitReason>> Drive<Fut> {
    fn new(cell: Arc<ProcessCell>, body: Fut) -> Drive<Fut> {
        Drive {
            cell,
            waker: None,
            body: Some(AssertUnwindSafe(body).catch_unwind()),
        }
    }
}

impl<Fut: Future<Output = ExitReason>> Future for Drive<Fut> {
    type Output = ();

    // tokio never polls a finished task again, so exit processing runs once.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let registered = this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        let killed = if registered {
            this.cell.poll_killed_registered()
        } else {
            *this.waker = Some(cx.waker().clone());
            this.cell.poll_killed(cx)
        };
        let reason = match killed {
            Poll::Ready(reason) => reason,
            Poll::Pending => {
                let _current = EnterProcess::new(this.cell.pid);
                let Some(body) = this.body.as_mut().as_pin_mut() else {
                    unreachable!("tokio never polls a finished task again");
                };
                match body.poll(cx) {
                    Poll::Ready(Ok(reason)) => reason,
                    Poll::Ready(Err(panic)) => ExitReason::from_panic(&*panic),
                    Poll::Pending => return Poll::Pending,
                }
            }
        };
        exit_dropping_state(this.cell, reason, || this.body.set(None));
        Poll::Ready(())
    }
}

/// Exit processing around dropping the process's state (`drop_state`): the
/// state (a killed body's locals, its context and mailbox) goes before
/// anyone learns of the exit, so a restarted child never finds its
/// predecessor still holding a port or a lock. A panic in a destructor is
/// caught and logged: the exit still gets published, with `reason`.
pub(crate) fn exit_dropping_state(
    cell: &Arc<ProcessCell>,
    reason: ExitReason,
    drop_state: impl FnOnce(),
) {
    let exiting = cell.stop_living();
    if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(drop_state)) {
        tracing::warn!(
            pid = %cell.pid,
            panic = %ExitReason::from_panic(&*panic),
            "a destructor panicked while the process exited"
        );
    }
    cell.publish_exit(exiting, reason);
}
