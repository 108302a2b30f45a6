//! [`Ctx`]: a process's own context, with its mailbox and timers.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue;

use crate::handle::ProcessHandle;
use crate::mailbox::{Rx, SenderSlot};
use crate::myself::Sealed;
use crate::process_ref::ProcessRef;
use crate::signal::Msg;

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

impl<M> Ctx<M> {
    /// The context of the new process `me`, before its first message.
    pub(crate) fn new(me: ProcessHandle) -> Ctx<M> {
        Ctx {
            me,
            mailbox: None,
            timers: None,
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
        ProcessRef::from_parts(
            self.me.clone(),
            tx.map_or_else(SenderSlot::lazy, SenderSlot::Ready),
        )
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
