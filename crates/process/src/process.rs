//! Spawning processes, the process's own context ([`Ctx`]) and typed
//! handles to it ([`ProcessRef`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::FutureExt;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue;

use crate::call::{await_reply, check_not_self};
use crate::cell::{self, ProcessCell, SignalKind};
use crate::error::{CallError, RegisterError, SendError, StartError};
use crate::gen_server::ReplyTo;
use crate::handle::{Process, ProcessHandle};
use crate::mailbox::{self, Rx, SenderSlot, Tx};
use crate::myself::Sealed;
use crate::signal::{Envelope, Msg};
use crate::start_opts::StartOpts;
use crate::{ExitReason, Pid};

thread_local! {
    /// The pid of the process whose body is being polled on this thread,
    /// set for the duration of each poll by [`EnterProcess`]. A plain `Cell`
    /// costs a few instructions per poll, where a tokio task-local (a
    /// `RefCell` swapped in and out) cost more than the rest of a server's
    /// poll.
    static CURRENT: Cell<Option<Pid>> = const { Cell::new(None) };

    /// The cell of the process that last asked for its own cell on this
    /// thread ([`current_cell`]): a supervisor starting its children one
    /// after the other finds itself here instead of in the process table.
    /// Weak, so that the cache keeps no process's state alive.
    static CURRENT_CELL: RefCell<Option<(Pid, Weak<ProcessCell>)>> = const { RefCell::new(None) };
}

/// Marks the current thread as running `pid`'s body until dropped; restores
/// the previous value (nested `scope`s, unwinding).
struct EnterProcess(Option<Pid>);

impl EnterProcess {
    #[inline]
    fn new(pid: Pid) -> EnterProcess {
        EnterProcess(CURRENT.with(|c| c.replace(Some(pid))))
    }
}

impl Drop for EnterProcess {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The cell of the process whose body is running on this thread. While
/// its body runs a process is in the table, so the cached cell of the same
/// pid is the one the table would give.
pub(crate) fn current_cell() -> Option<Arc<ProcessCell>> {
    let pid = current()?;
    let cached = CURRENT_CELL.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        if let Some((cached, weak)) = &*slot
            && *cached == pid
            && let Some(cell) = weak.upgrade()
        {
            return Some(cell);
        }
        let cell = cell::lookup(pid)?;
        *slot = Some((pid, Arc::downgrade(&cell)));
        Some(cell)
    });
    // During thread teardown the cache is gone: the table answers.
    cached.unwrap_or_else(|_| cell::lookup(pid))
}

/// The pid of the process running the current task, if the task is a process.
///
/// # OTP
///
/// `erlang:self/0`.
#[inline]
pub fn current() -> Option<Pid> {
    CURRENT.with(Cell::get)
}

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
        && let Err(e) = crate::registry::register_cell(name, &ctx.me.cell)
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
fn new_process<M: Send + 'static>() -> (Ctx<M>, ProcessRef<M>) {
    let cell = ProcessCell::new(mailbox::open::<M>);
    cell.publish();
    let handle = ProcessRef {
        handle: ProcessHandle::new(cell.clone()),
        tx: SenderSlot::lazy(),
    };
    let ctx = Ctx {
        me: ProcessHandle::new(cell),
        mailbox: None,
        timers: None,
    };
    (ctx, handle)
}

pin_project_lite::pin_project! {
    /// The task of every process: the kill check first, then the body;
    /// when it ends, its state is dropped between the two halves of exit
    /// processing (cell.rs, invariant 1).
    ///
    /// A struct that owns its body rather than an `async fn` taking it: an
    /// `async fn` keeps its argument's slot next to the pinned local it is
    /// moved into, storing the body twice and pushing the task cell of a
    /// small process from 256 to 384 bytes.
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
fn exit_dropping_state(cell: &Arc<ProcessCell>, reason: ExitReason, drop_state: impl FnOnce()) {
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

// ===== impl Ctx =====

/// A process's own context: its mailbox and timers; what it can do to
/// itself (pid, links, monitors, `trap_exit`) through [`Myself`](crate::Myself).
pub struct Ctx<M> {
    pub(crate) me: ProcessHandle,
    /// The process's receiver, taken from the cell once the mailbox is open
    /// (`None` before the first message). Its queue closes only when it is
    /// dropped, so the process never sees its mailbox end.
    mailbox: Option<Rx<M>>,
    /// Created by the first `send_after`: an empty `DelayQueue` allocates
    /// its timer wheel (about 6 KB), more than the rest of a process.
    timers: Option<Box<Timers<M>>>,
}

/// A process's pending timers, each tagged with its id. The delay queue
/// reuses the key of a fired timer, so a [`TimerRef`] names its timer by id
/// and `keys` maps the ids of pending timers to their current keys.
struct Timers<M> {
    queue: DelayQueue<(u64, M)>,
    keys: HashMap<u64, delay_queue::Key>,
    next: u64,
}

impl<M> Timers<M> {
    /// The next expired timer's message. Kept out of line: the delay
    /// queue's poll is large, and inlined into every `recv` it kept the
    /// mailbox poll itself from being inlined into the receive loops.
    #[inline(never)]
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<Msg<M>> {
        match self.queue.poll_expired(cx) {
            Poll::Ready(Some(expired)) => {
                let (id, msg) = expired.into_inner();
                self.keys.remove(&id);
                Poll::Ready(Msg::Message(msg))
            }
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

impl<M> Default for Timers<M> {
    fn default() -> Self {
        Timers {
            queue: DelayQueue::new(),
            keys: HashMap::new(),
            next: 0,
        }
    }
}

impl<M> Sealed for Ctx<M> {
    #[inline]
    fn me(&self) -> &ProcessHandle {
        &self.me
    }
}

impl<M: Send + 'static> Ctx<M> {
    /// The untyped handle of this process.
    pub fn handle(&self) -> &ProcessHandle {
        &self.me
    }

    /// A typed handle to this process, to give to others.
    pub fn process_ref(&self) -> ProcessRef<M> {
        // The handle is for sending: open the mailbox now (the receiver
        // stays in the cell until this process next receives).
        let tx = match &self.mailbox {
            Some(rx) => Some(rx.sender()),
            None => self.me.cell.sender::<M>(),
        };
        ProcessRef {
            handle: self.me.clone(),
            tx: tx.map_or_else(SenderSlot::lazy, SenderSlot::Ready),
        }
    }

    /// The mailbox, taken from the cell once it is open; until then
    /// `waiter` is woken by the first message.
    #[inline]
    fn claim(&mut self, waiter: Option<&Waker>) -> Option<&mut Rx<M>> {
        if self.mailbox.is_some() {
            return self.mailbox.as_mut();
        }
        self.claim_slow(waiter)
    }

    #[cold]
    fn claim_slow(&mut self, waiter: Option<&Waker>) -> Option<&mut Rx<M>> {
        let claimed = self.me.cell.claim_mailbox::<M>(waiter)?;
        Some(self.mailbox.insert(claimed))
    }

    /// Receives the next message, exit signal (when trapping) or monitor
    /// notification, in arrival order; timers fire as [`Msg::Message`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message is removed from the mailbox only when returned.
    pub fn recv(&mut self) -> impl Future<Output = Msg<M>> + '_ {
        // Not an `async fn`: `Recv` is the whole future, and its poll is
        // inlined into the receive loop that awaits it.
        Recv(self)
    }

    /// The mailbox first, then expired timers. A hand-written poll keeps
    /// the `recv` future one pointer wide (it lives in every process's task).
    #[inline]
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Msg<M>> {
        if let Some(rx) = self.claim(Some(cx.waker()))
            && let Poll::Ready(env) = rx.poll_recv(cx)
        {
            return Poll::Ready(match env {
                Some(env) => env.into(),
                None => unreachable!("invariant: a queue closes only when its receiver is dropped"),
            });
        }
        match self.timers.as_deref_mut() {
            Some(timers) => timers.poll_expired(cx),
            None => Poll::Pending,
        }
    }

    /// Takes the next message if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Msg<M>> {
        let rx = self.claim(None)?;
        rx.try_recv().map(Into::into)
    }

    /// Delivers `msg` to this process after `delay`. The timer is owned by
    /// the process: it is cancelled when the process exits.
    ///
    /// # OTP
    ///
    /// `erlang:send_after/3`.
    pub fn send_after(&mut self, delay: Duration, msg: M) -> TimerRef {
        let timers = self.timers.get_or_insert_with(Box::default);
        let id = timers.next;
        timers.next += 1;
        let key = timers.queue.insert((id, msg), delay);
        timers.keys.insert(id, key);
        TimerRef(id, PhantomData)
    }

    /// Cancels a timer; returns its message if it had not fired yet.
    ///
    /// # OTP
    ///
    /// `erlang:cancel_timer/1`.
    pub fn cancel_timer(&mut self, timer: TimerRef) -> Option<M> {
        let timers = self.timers.as_deref_mut()?;
        let key = timers.keys.remove(&timer.0)?;
        timers.queue.try_remove(&key).map(|e| e.into_inner().1)
    }

    /// Number of timers that have not fired.
    pub fn pending_timers(&self) -> usize {
        self.timers.as_deref().map_or(0, |t| t.queue.len())
    }
}

impl<M> fmt::Debug for Ctx<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("pid", &self.me.cell.pid)
            .finish()
    }
}

/// The future of [`Ctx::recv`]: one pointer, polled by [`Ctx::poll_recv`].
struct Recv<'a, M>(&'a mut Ctx<M>);

impl<M: Send + 'static> Future for Recv<'_, M> {
    type Output = Msg<M>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Msg<M>> {
        self.get_mut().0.poll_recv(cx)
    }
}

/// A pending timer, see [`Ctx::send_after`].
#[derive(Debug)]
pub struct TimerRef(u64, PhantomData<()>);

// ===== impl ProcessRef =====

/// A typed handle to a process: send it messages of type `M`. Its pid,
/// liveness and exit come with [`Process`]. Cheap to clone.
pub struct ProcessRef<M> {
    pub(crate) handle: ProcessHandle,
    /// The sender, cached on first use (the first message opens the
    /// process's mailbox).
    tx: SenderSlot<M>,
}

impl<M> Clone for ProcessRef<M> {
    fn clone(&self) -> Self {
        ProcessRef {
            handle: self.handle.clone(),
            tx: self.tx.clone(),
        }
    }
}

impl<M: Send + 'static> ProcessRef<M> {
    /// Sends a message. Messages from one sender arrive in send order.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if the process has exited.
    ///
    /// # OTP
    ///
    /// `Pid ! Msg` (which never fails in Erlang; here the message comes back).
    pub fn send(&self, msg: M) -> Result<(), SendError<M>> {
        let Some(tx) = self.sender() else {
            return Err(SendError(msg));
        };
        tx.send(Envelope::User(msg)).map_err(|e| match e {
            Envelope::User(m) => SendError(m),
            Envelope::Sys(_) => unreachable!("only user envelopes are sent here"),
        })
    }

    /// Enqueues an envelope: `false`, the envelope dropped, if the process
    /// has exited. The one send path of calls, casts and stops.
    #[inline]
    pub(crate) fn enqueue(&self, env: Envelope<M>) -> bool {
        let Some(tx) = self.sender() else {
            return false;
        };
        // `if let`, not `is_ok()`: the success path then has no drop of
        // the send's result to call.
        if let Err(unsent) = tx.send(env) {
            drop(unsent);
            return false;
        }
        true
    }

    /// The sender to the process's mailbox, opening it on a handle's first
    /// use; `None` once the process is exiting.
    #[inline]
    fn sender(&self) -> Option<&Tx<M>> {
        match self.tx.get() {
            Some(tx) => Some(tx),
            None => self.sender_slow(),
        }
    }

    /// [`ProcessRef::sender`] for a handle without one yet: it gets one
    /// from the cell (opening the mailbox) and keeps it.
    #[cold]
    #[inline(never)]
    fn sender_slow(&self) -> Option<&Tx<M>> {
        let tx = self.handle.cell.sender::<M>()?;
        Some(self.tx.get_or_init(tx))
    }

    /// Sends a request built by `make` around a fresh [`ReplyTo`] and waits
    /// up to 5 s for the reply: the call protocol of
    /// [`ServerRef::call`](crate::ServerRef::call), for processes with their
    /// own receive loop (supervisors, event managers).
    ///
    /// # Errors
    ///
    /// As [`ProcessRef::call_timeout`].
    ///
    /// # Cancel safety
    ///
    /// As [`ProcessRef::call_timeout`].
    #[inline]
    pub fn call<R: 'static>(
        &self,
        make: impl FnOnce(ReplyTo<R>) -> M,
    ) -> impl Future<Output = Result<R, CallError>> + '_ {
        self.call_timeout(make, crate::DEFAULT_CALL_TIMEOUT)
    }

    /// [`ProcessRef::call`] with a timeout (`Duration::MAX` = forever).
    ///
    /// # Errors
    ///
    /// [`CallError::CallingSelf`] at once if this is the calling process;
    /// [`CallError::NoProcess`] if it has exited; [`CallError::Exited`] if it
    /// exits before replying; [`CallError::Timeout`].
    ///
    /// # Cancel safety
    ///
    /// The request is queued when this is called; dropping the future
    /// leaves it queued, and the reply is dropped.
    #[inline]
    pub fn call_timeout<R: 'static>(
        &self,
        make: impl FnOnce(ReplyTo<R>) -> M,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, CallError>> + '_ {
        // Queued now, not at the first poll (as `ServerRef::call_timeout`).
        let cell = &self.handle.cell;
        let sent = check_not_self(cell).and_then(|()| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            match self.enqueue(Envelope::User(make(ReplyTo(tx)))) {
                true => Ok(rx),
                false => Err(CallError::NoProcess),
            }
        });
        async move {
            let rx = sent?;
            await_reply!(rx, cell, timeout)
        }
    }

    /// A handle to the live process `pid` if its messages are of type `M`;
    /// `None` if it is dead or has another message type.
    pub fn from_pid(pid: Pid) -> Option<ProcessRef<M>> {
        Self::typed(cell::lookup(pid)?)
    }

    /// Looks up a process registered under `name` whose messages are of type
    /// `M`. `None` if the name is free or the process has another message type.
    pub fn whereis(name: &str) -> Option<ProcessRef<M>> {
        Self::typed(crate::registry::whereis_cell(name)?)
    }

    /// A handle to `cell` if its messages are of type `M` and it is not
    /// exiting (the type is checked on the mailbox, which this opens).
    fn typed(cell: Arc<ProcessCell>) -> Option<ProcessRef<M>> {
        let tx = cell.sender::<M>()?;
        Some(ProcessRef {
            handle: ProcessHandle::new(cell),
            tx: SenderSlot::Ready(tx),
        })
    }
}

impl<M> Process for ProcessRef<M> {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        &self.handle
    }
}

impl<M> fmt::Debug for ProcessRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProcessRef")
            .field(&self.handle.cell.pid)
            .finish()
    }
}

// ===== free functions on pids =====

/// Sends an exit signal with `reason` to `pid` from the calling process
/// (or from an anonymous sender outside a process). `Kill` is untrappable:
/// the target exits with [`ExitReason::Killed`]. A non-trapping target
/// ignores `Normal` and dies with any other reason; a trapping target gets
/// [`Msg::Exit`]. No-op for a dead pid.
///
/// # OTP
///
/// `erlang:exit/2`.
pub fn exit(pid: Pid, reason: ExitReason) {
    if let Some(target) = cell::lookup(pid) {
        let from = current().unwrap_or(Pid::ANONYMOUS);
        target.signal_exit(from, reason, SignalKind::Exit);
    }
}

/// Kills `pid` untrappably: it exits with [`ExitReason::Killed`] at its next
/// suspension point. No-op for a dead pid.
///
/// # OTP
///
/// `erlang:exit(Pid, kill)`.
pub fn kill(pid: Pid) {
    exit(pid, ExitReason::Kill);
}

/// Whether `pid` is alive.
///
/// # OTP
///
/// `erlang:is_process_alive/1`.
pub fn is_alive(pid: Pid) -> bool {
    cell::lookup(pid).is_some_and(|c| c.is_alive())
}

/// The number of live processes in this OS process: what leak tests compare
/// before and after a tree runs.
pub fn process_count() -> usize {
    cell::live_count()
}

/// Waits until `pid` has exited and returns its reason; `NoProc` at once if
/// it is not alive.
///
/// # Cancel safety
///
/// Cancel safe.
pub async fn wait_exit(pid: Pid) -> ExitReason {
    match cell::lookup(pid) {
        Some(c) => c.wait_exit().await,
        None => ExitReason::NoProc,
    }
}
