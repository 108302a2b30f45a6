//! Spawning processes, the process's own view of itself ([`Ctx`],
//! [`Myself`]) and typed handles to it ([`ProcessRef`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
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
use crate::error::{CallError, SendError};
use crate::gen_server::ReplyTo;
use crate::mailbox::{self, Rx, SenderSlot, Tx};
use crate::signal::{Envelope, Msg};
use crate::{ExitReason, MonitorRef, Pid};

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

/// Spawn options: link the new process to the caller, trap exits from the start.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpawnOpts {
    /// Link the new process to the calling process (if the caller is one).
    pub link: bool,
    /// Set `trap_exit` before the body first runs.
    pub trap_exit: bool,
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
/// use arbor_process::{spawn, ExitReason, Msg};
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
    spawn_opts(SpawnOpts::default(), body)
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
    spawn_opts(
        SpawnOpts {
            link: true,
            trap_exit: false,
        },
        body,
    )
}

/// Spawns a process with options.
///
/// # OTP
///
/// `erlang:spawn_opt/2` with `link` and `{trap_exit, true}` (set by the child
/// itself in Erlang; here before it runs).
pub fn spawn_opts<M, F, Fut>(opts: SpawnOpts, body: F) -> ProcessRef<M>
where
    M: Send + 'static,
    F: FnOnce(Ctx<M>) -> Fut,
    Fut: Future<Output = ExitReason> + Send + 'static,
{
    let (ctx, handle) = new_process::<M>();
    ctx.cell.set_trap_exit(opts.trap_exit);
    if let Some(parent) = opts.link.then(current_cell).flatten() {
        // The child's cell is at hand: no table lookup for it.
        parent.link_cell(&ctx.cell);
    }
    let cell = ctx.cell.clone();
    let fut = body(ctx);
    tokio::spawn(Drive::new(cell, fut));
    handle
}

/// A new process's context and handle; its mailbox is opened by the first
/// message (`mailbox.rs`).
fn new_process<M: Send + 'static>() -> (Ctx<M>, ProcessRef<M>) {
    let cell = ProcessCell::new(mailbox::open::<M>);
    cell.publish();
    let handle = ProcessRef {
        cell: cell.clone(),
        tx: SenderSlot::lazy(),
    };
    let ctx = Ctx {
        me: Myself { cell },
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
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.body.is_some() {
                let reason = ExitReason::runtime_dropped();
                exit_dropping_state(this.cell, reason, || this.body.set(None));
            }
        }
    }
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
/// use arbor_process::{scope, spawn_link, ExitReason, Msg};
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
    let cell = ctx.cell.clone();
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
        self.exit(ExitReason::shutdown_with("scope_dropped"));
    }
}

// ===== impl Myself =====

/// What a process can do to itself: its pid, `trap_exit`, links and
/// monitors. Both [`Ctx`] and the GenServer context dereference to it.
pub struct Myself {
    pub(crate) cell: Arc<ProcessCell>,
}

impl Myself {
    /// This process's pid.
    pub fn pid(&self) -> Pid {
        self.cell.pid
    }

    /// Turns exit trapping on or off; returns the previous setting.
    ///
    /// # OTP
    ///
    /// `process_flag(trap_exit, On)`.
    pub fn trap_exit(&self, on: bool) -> bool {
        self.cell.set_trap_exit(on)
    }

    /// Whether this process traps exits.
    pub fn is_trapping(&self) -> bool {
        self.cell.is_trapping()
    }

    /// Links this process with `pid`. Linking to a dead process delivers an
    /// exit signal with reason [`ExitReason::NoProc`] to this process at once
    /// (a message if trapping, death otherwise).
    ///
    /// # OTP
    ///
    /// `erlang:link/1`.
    pub fn link(&self, pid: Pid) {
        self.cell.link(pid);
    }

    /// Removes the link with `pid`. An exit message from `pid` that is
    /// already in the mailbox stays there.
    ///
    /// # OTP
    ///
    /// `erlang:unlink/1`.
    pub fn unlink(&self, pid: Pid) {
        self.cell.unlink(pid);
    }

    /// Monitors `pid`: exactly one [`Msg::Down`] arrives when it exits, or at
    /// once with [`ExitReason::NoProc`] if it is not alive.
    ///
    /// # OTP
    ///
    /// `erlang:monitor(process, Pid)`.
    pub fn monitor(&self, pid: Pid) -> MonitorRef {
        self.cell.monitor(pid)
    }

    /// Removes a monitor; `true` if it was still active. A `Down` already in
    /// the mailbox stays there.
    ///
    /// # OTP
    ///
    /// `erlang:demonitor/1`.
    pub fn demonitor(&self, monitor: MonitorRef) -> bool {
        self.cell.demonitor(monitor)
    }
}

impl fmt::Debug for Myself {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Myself")
            .field("pid", &self.cell.pid)
            .finish()
    }
}

// ===== impl Ctx =====

/// A process's own context: its mailbox, timers and [`Myself`].
pub struct Ctx<M> {
    me: Myself,
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

impl<M> Deref for Ctx<M> {
    type Target = Myself;
    fn deref(&self) -> &Myself {
        &self.me
    }
}

impl<M: Send + 'static> Ctx<M> {
    /// An untyped handle to this process.
    pub fn process(&self) -> ProcessHandle {
        ProcessHandle {
            cell: self.me.cell.clone(),
        }
    }

    /// A handle to this process, to give to others.
    pub fn handle(&self) -> ProcessRef<M> {
        // The handle is for sending: open the mailbox now (the receiver
        // stays in the cell until this process next receives).
        let tx = match &self.mailbox {
            Some(rx) => Some(rx.sender()),
            None => self.me.cell.sender::<M>(),
        };
        ProcessRef {
            cell: self.me.cell.clone(),
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

/// A typed handle to a process: send it messages of type `M`; also its pid,
/// liveness and exit reason. Cheap to clone.
pub struct ProcessRef<M> {
    pub(crate) cell: Arc<ProcessCell>,
    /// The sender, cached on first use (the first message opens the
    /// process's mailbox).
    tx: SenderSlot<M>,
}

impl<M> Clone for ProcessRef<M> {
    fn clone(&self) -> Self {
        ProcessRef {
            cell: self.cell.clone(),
            tx: self.tx.clone(),
        }
    }
}

impl<M: Send + 'static> ProcessRef<M> {
    /// The process's pid.
    pub fn pid(&self) -> Pid {
        self.cell.pid
    }

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
        let tx = self.cell.sender::<M>()?;
        Some(self.tx.get_or_init(tx))
    }

    /// Whether the process is alive.
    pub fn is_alive(&self) -> bool {
        self.cell.is_alive()
    }

    /// The exit reason, if the process has exited.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.cell.exit_reason()
    }

    /// Waits for the process to exit and returns its reason.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait(&self) -> ExitReason {
        self.cell.wait_exit().await
    }

    /// Sends a request built by `make` around a fresh [`ReplyTo`] and waits
    /// up to `timeout` (`Duration::MAX` = forever) for the reply. This is the
    /// call protocol of [`ServerRef::call`](crate::ServerRef::call), for
    /// processes with their own receive loop (supervisors, event managers).
    ///
    /// # Errors
    ///
    /// [`CallError::CallingSelf`] at once if this is the calling process;
    /// [`CallError::NoProcess`] if it has exited; [`CallError::Exited`] if it
    /// exits before replying; [`CallError::Timeout`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was queued leaves it queued;
    /// the reply is dropped.
    pub async fn call<R>(
        &self,
        make: impl FnOnce(ReplyTo<R>) -> M,
        timeout: Duration,
    ) -> Result<R, CallError> {
        check_not_self(&self.cell)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        if !self.enqueue(Envelope::User(make(ReplyTo(tx)))) {
            return Err(CallError::NoProcess);
        }
        await_reply!(rx, &self.cell, timeout)
    }

    /// An untyped handle to this process.
    pub fn process(&self) -> ProcessHandle {
        ProcessHandle {
            cell: self.cell.clone(),
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
            cell,
            tx: SenderSlot::Ready(tx),
        })
    }
}

/// An untyped handle to a process: its pid, liveness, and its exit reason
/// (kept after it exits, unlike a bare [`Pid`]). Cheap to clone.
#[derive(Clone)]
pub struct ProcessHandle {
    cell: Arc<ProcessCell>,
}

impl ProcessHandle {
    /// A handle to the live process `pid`; `None` if it is not alive.
    pub fn lookup(pid: Pid) -> Option<ProcessHandle> {
        cell::lookup(pid).map(|cell| ProcessHandle { cell })
    }

    /// The handle of the calling process, if the calling task is a process.
    pub fn current() -> Option<ProcessHandle> {
        current_cell().map(|cell| ProcessHandle { cell })
    }

    /// The process's pid.
    pub fn pid(&self) -> Pid {
        self.cell.pid
    }

    /// Whether the process is alive.
    pub fn is_alive(&self) -> bool {
        self.cell.is_alive()
    }

    /// The exit reason, once the process has exited.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.cell.exit_reason()
    }

    /// Waits until the process has exited and returns its real exit reason
    /// (also when it had already exited).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait(&self) -> ExitReason {
        self.cell.wait_exit().await
    }

    /// Waits up to `timeout` for the process to exit: its reason, or `None`
    /// if it is still running then (with tokio's 1 ms timer resolution).
    /// `Duration::MAX` waits forever.
    ///
    /// The timer is the one calls reuse on this thread (see
    /// [`ProcessRef::call`]): a supervisor stopping children one after the
    /// other leaves one registered timer in place (moving it only when it
    /// fires before a wait's deadline) instead of registering and
    /// cancelling a timer per child.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// A monitor and `receive {'DOWN', Ref, process, Pid, Reason} -> ...
    /// after Timeout -> ... end`, as `supervisor:shutdown/2` waits for a
    /// child.
    pub async fn wait_timeout(&self, timeout: Duration) -> Option<ExitReason> {
        if let Some(reason) = self.cell.exit_reason() {
            return Some(reason);
        }
        let Some(deadline) = crate::call::deadline(timeout) else {
            return Some(self.cell.wait_exit().await);
        };
        let exit = std::pin::pin!(self.cell.wait_exit());
        crate::call::OrDeadline::with_slack(exit, deadline, Duration::ZERO).await
    }

    /// Sends this process an exit signal with `reason`, exactly as
    /// [`exit`]`(self.pid(), reason)` does, without looking the pid up in
    /// the process table (a supervisor stopping thousands of children has
    /// their handles already). No-op once the process has exited.
    ///
    /// # OTP
    ///
    /// `erlang:exit(Pid, Reason)`.
    pub fn exit(&self, reason: ExitReason) {
        let from = current().unwrap_or(Pid::ANONYMOUS);
        self.cell.signal_exit(from, reason, SignalKind::Exit);
    }
}

impl fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProcessHandle")
            .field(&self.cell.pid)
            .finish()
    }
}

impl PartialEq for ProcessHandle {
    fn eq(&self, other: &Self) -> bool {
        self.cell.pid == other.cell.pid
    }
}

impl Eq for ProcessHandle {}

impl<M> fmt::Debug for ProcessRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ProcessRef").field(&self.cell.pid).finish()
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
