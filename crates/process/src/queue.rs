//! The queue behind a process's mailbox: unbounded, many senders, one
//! receiver, FIFO, in the receiver's tokio coop budget.
//!
//! A slot for a lone message and a `VecDeque` for a backlog, under a
//! `parking_lot` mutex, and a second `VecDeque` the receiver owns: the
//! receiver takes the slot and everything queued behind it in one swap and
//! then pops without a lock, and the two buffers trade places, so a queue
//! in steady use allocates nothing per message, and a process sent one
//! message at a time (requests, pings) never allocates a buffer at all.
//! Hand-written rather than tokio's unbounded channel because opening and
//! freeing it is one small allocation, which counts for processes that are
//! restarted often (docs/performance.md, "Design notes").
//!
//! # Guarantees
//!
//! - Messages from one sender arrive in send order (one queue, appended
//!   under the lock).
//! - Dropping the receiver (a process's context, at exit) closes the
//!   queue: from then on every send fails and hands its value back, and
//!   what was queued is dropped at once, under the same lock a send takes,
//!   so no send can slip in after that (the exit race `tests/exit_race.rs`
//!   covers: a queued call's reply channel is always dropped at exit).
//! - A send wakes the receiver only if it is waiting: the waker is taken by
//!   the first send after the receiver registered it.
//! - Each message received consumes one unit of the task's coop budget, as
//!   tokio's channels do, so a process with a full mailbox still yields.
//!
//! # Invariants
//!
//! 1. `waker` is `Some` only while the receiver found `queue` empty and the
//!    queue open, both checked under the lock that registered it, or, for
//!    a new queue, while the process waited for its mailbox to be created
//!    (`mailbox.rs`) and the queue is still empty.
//! 2. `closed` never goes back to `false`; once set, `queue` receives
//!    nothing more.
//! 3. `queue` is empty whenever `one` is `None`: a send fills `one` when
//!    nothing is queued and appends to `queue` otherwise, and the receiver
//!    takes `one` and `queue` together. So `one` is always the oldest
//!    value, and the receiver's order is its own buffer, `one`, `queue`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker, ready};

use crate::sync::Mutex;

/// A buffer with more slots than this is freed once the receiver has
/// emptied it, not kept for reuse: a burst of a million casts would
/// otherwise pin its memory for the life of the process.
const KEEP_CAPACITY: usize = 1024;

struct State<T> {
    /// The oldest queued value when it is the only one: a process that is
    /// sent one message at a time (a request, a ping) never needs a
    /// buffer, and opening a mailbox allocates only this state.
    one: Option<T>,
    /// Values queued behind `one`; empty whenever `one` is `None`
    /// (invariant 3).
    queue: VecDeque<T>,
    waker: Option<Waker>,
    closed: bool,
}

/// The state both halves share. The cell holds it (type-erased) as the
/// open mailbox, and makes the halves from it when they are asked for
/// (`mailbox.rs`), so opening a mailbox is one allocation.
pub(crate) struct Shared<T>(Mutex<State<T>>);

/// The sending half. Cheap to clone.
pub(crate) struct Tx<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half, owned by the process.
pub(crate) struct Rx<T> {
    shared: Arc<Shared<T>>,
    /// Values taken from `queue` in one swap, popped without locking: only
    /// ever reached through `&mut self` (`Mutex::get_mut`). The mutex makes
    /// the receiver `Sync` for `T: Send`, as tokio's is, so a process body
    /// may hold `&Ctx` across an `.await`.
    local: Mutex<VecDeque<T>>,
}

impl<T> Shared<T> {
    /// A new, open, empty queue; `waker` (a receiver already waiting for
    /// the queue to exist) is woken by the first send.
    pub(crate) fn new(waker: Option<Waker>) -> Arc<Shared<T>> {
        Arc::new(Shared(Mutex::new(State {
            one: None,
            queue: VecDeque::new(),
            waker,
            closed: false,
        })))
    }

    /// Appends `value` and wakes the receiver if it waits; `Err(value)`
    /// if the queue is closed.
    pub(crate) fn send(&self, value: T) -> Result<(), T> {
        let mut st = self.0.lock();
        if st.closed {
            drop(st);
            return Err(value);
        }
        if st.one.is_none() {
            debug_assert!(st.queue.is_empty(), "invariant 3");
            st.one = Some(value);
        } else {
            st.queue.push_back(value);
        }
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// A sender to this queue.
    pub(crate) fn sender(self: &Arc<Self>) -> Tx<T> {
        self.clone().into_sender()
    }

    /// A sender to this queue, made from a reference the caller owns.
    pub(crate) fn into_sender(self: Arc<Self>) -> Tx<T> {
        Tx { shared: self }
    }

    /// The receiver of this queue. There must be one at most: the cell
    /// hands it out once.
    pub(crate) fn receiver(self: Arc<Self>) -> Rx<T> {
        Rx {
            shared: self,
            local: Mutex::new(VecDeque::new()),
        }
    }

    /// How many values wait in the shared part of the queue (not the batch
    /// the receiver already took): the sampled mailbox depth.
    pub(crate) fn queued(&self) -> usize {
        let st = self.0.lock();
        usize::from(st.one.is_some()) + st.queue.len()
    }

    /// Closes the queue and drops everything in it, outside the lock (a
    /// dropped value may be a call's reply channel, whose drop wakes the
    /// caller). Senders that outlive it keep only the empty state.
    pub(crate) fn close_and_drain(&self) {
        let (one, queued, waker) = {
            let mut st = self.0.lock();
            st.closed = true;
            // A buffer never allocated stays where it is: there is nothing
            // to free.
            let queued = (st.queue.capacity() > 0).then(|| std::mem::take(&mut st.queue));
            (st.one.take(), queued, st.waker.take())
        };
        drop((one, queued, waker));
    }
}

/// Keeps `waker` in `slot`, cloning it only if the waker there would wake
/// another task.
pub(crate) fn keep_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) => w.clone_from(waker),
        none => *none = Some(waker.clone()),
    }
}

/// A new, open queue.
#[cfg(test)]
pub(crate) fn channel<T>() -> (Tx<T>, Rx<T>) {
    let shared = Shared::new(None);
    (shared.sender(), shared.receiver())
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        Tx {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Tx<T> {
    /// Appends `value`; `Err(value)` if the receiver closed the queue.
    #[inline]
    pub(crate) fn send(&self, value: T) -> Result<(), T> {
        self.shared.send(value)
    }

    /// Whether the receiver has closed the queue (or is gone).
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.0.lock().closed
    }
}

impl<T> Rx<T> {
    /// The next value; `Pending` (with the task's waker kept for the next
    /// send) while the queue is empty and open; `None` once it is closed
    /// and empty.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        if let Some(v) = self.pop_local() {
            coop.made_progress();
            return Poll::Ready(Some(v));
        }
        let mut st = self.shared.0.lock();
        if let Some(v) = Self::take_shared(&mut st, self.local.get_mut()) {
            drop(st);
            coop.made_progress();
            return Poll::Ready(Some(v));
        }
        if st.closed {
            return Poll::Ready(None);
        }
        keep_waker(&mut st.waker, cx.waker());
        Poll::Pending
    }

    /// A sender to this receiver's queue.
    pub(crate) fn sender(&self) -> Tx<T> {
        self.shared.sender()
    }

    /// The next value if one is queued, without waiting.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        if let Some(v) = self.pop_local() {
            return Some(v);
        }
        let mut st = self.shared.0.lock();
        Self::take_shared(&mut st, self.local.get_mut())
    }

    /// The oldest value the senders queued, with the ones behind it moved
    /// to `local` (empty: the receiver looks at the shared state only once
    /// its own buffer is drained), whose buffer the senders get in return.
    #[inline]
    fn take_shared(st: &mut State<T>, local: &mut VecDeque<T>) -> Option<T> {
        debug_assert!(local.is_empty());
        let one = st.one.take()?;
        if !st.queue.is_empty() {
            std::mem::swap(&mut st.queue, local);
        }
        Some(one)
    }

    /// The next value of the receiver's own buffer. The buffer it empties
    /// goes to the senders at the next swap, so a large one is freed here.
    #[inline]
    fn pop_local(&mut self) -> Option<T> {
        let local = self.local.get_mut();
        let v = local.pop_front()?;
        if local.is_empty() && local.capacity() > KEEP_CAPACITY {
            *local = VecDeque::new();
        }
        Some(v)
    }

    /// Closes the queue: every later send fails; what is queued stays
    /// receivable.
    #[cfg(test)]
    pub(crate) fn close(&mut self) {
        self.shared.0.lock().closed = true;
    }
}

/// Closes the queue and drops what is queued ([`Shared::close_and_drain`]).
impl<T> Drop for Rx<T> {
    fn drop(&mut self) {
        self.shared.close_and_drain();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::counting_waker::counting_waker as counter;

    fn poll<T>(rx: &mut Rx<T>, waker: &Waker) -> Poll<Option<T>> {
        rx.poll_recv(&mut Context::from_waker(waker))
    }

    #[test]
    fn values_arrive_in_send_order_across_refills() {
        let (tx, mut rx) = channel();
        let (_, waker) = counter();
        let mut got = Vec::new();
        for round in 0..3 {
            for i in 0..5 {
                tx.send(round * 10 + i).unwrap();
            }
            // Half now, the rest after more were queued behind them.
            for _ in 0..2 {
                if let Poll::Ready(Some(v)) = poll(&mut rx, &waker) {
                    got.push(v);
                }
            }
        }
        while let Some(v) = rx.try_recv() {
            got.push(v);
        }
        let want: Vec<i32> = (0..3)
            .flat_map(|r| (0..5).map(move |i| r * 10 + i))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn one_message_at_a_time_needs_no_buffer() {
        let (tx, mut rx) = channel();
        let (_, waker) = counter();
        for i in 0..100 {
            tx.send(i).unwrap();
            assert_eq!(poll(&mut rx, &waker), Poll::Ready(Some(i)));
            assert!(poll(&mut rx, &waker).is_pending());
        }
        let shared = tx.shared.0.lock().queue.capacity();
        assert_eq!((rx.local.get_mut().capacity(), shared), (0, 0));
    }

    #[test]
    fn only_the_first_send_after_a_wait_wakes_the_receiver() {
        let (tx, mut rx) = channel();
        let (count, waker) = counter();
        assert!(poll(&mut rx, &waker).is_pending());
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(count.get(), 1);
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Some(1)));
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Some(2)));
        // No wait registered while values were there: no wake for them.
        tx.send(3).unwrap();
        assert_eq!(count.get(), 1);
    }

    #[test]
    fn the_latest_waker_is_the_one_woken() {
        let (tx, mut rx) = channel();
        let (old, old_waker) = counter();
        let (new, new_waker) = counter();
        assert!(poll(&mut rx, &old_waker).is_pending());
        assert!(poll(&mut rx, &new_waker).is_pending());
        tx.send(()).unwrap();
        assert_eq!((old.get(), new.get()), (0, 1));
    }

    #[test]
    fn after_close_sends_fail_and_queued_values_are_still_received() {
        let (tx, mut rx) = channel();
        let (_, waker) = counter();
        tx.send(1).unwrap();
        rx.close();
        assert!(tx.is_closed());
        assert_eq!(tx.send(2), Err(2));
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(Some(1)));
        assert_eq!(poll(&mut rx, &waker), Poll::Ready(None));
    }

    #[test]
    fn dropping_the_receiver_drops_queued_values_at_once() {
        let (tx, mut rx) = channel();
        let value = Arc::new(());
        tx.send(value.clone()).unwrap();
        tx.send(value.clone()).unwrap();
        // One taken into the receiver's own buffer, one still shared.
        let (_, waker) = counter();
        assert!(matches!(poll(&mut rx, &waker), Poll::Ready(Some(_))));
        tx.send(value.clone()).unwrap();
        assert_eq!(Arc::strong_count(&value), 3);
        drop(rx);
        // Senders are alive, but nothing queued is kept.
        assert_eq!(Arc::strong_count(&value), 1);
        assert!(tx.send(value.clone()).is_err());
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn a_burst_does_not_keep_its_buffer() {
        let (tx, mut rx) = channel();
        for i in 0..10_000 {
            tx.send(i).unwrap();
        }
        for i in 0..10_000 {
            assert_eq!(rx.try_recv(), Some(i));
        }
        assert_eq!(rx.try_recv(), None);
        assert!(rx.local.get_mut().capacity() <= KEEP_CAPACITY);
        assert!(tx.shared.0.lock().queue.capacity() <= KEEP_CAPACITY);
        // A small queue keeps its two buffers once both exist: no
        // allocation per message.
        let mut capacities = Vec::new();
        for i in 0..5 {
            tx.send(i).unwrap();
            assert_eq!(rx.try_recv(), Some(i));
            capacities.push(rx.local.get_mut().capacity() + tx.shared.0.lock().queue.capacity());
        }
        assert!(
            capacities[1..].iter().all(|c| *c == capacities[1]),
            "{capacities:?}"
        );
    }

    /// As with tokio's channel: a body may hold `&Ctx` across an `.await`
    /// even when its messages are not `Sync` (an Agent's closures).
    #[test]
    fn both_halves_are_send_and_sync_for_send_values() {
        fn send_sync<V: Send + Sync>() {}
        type NotSync = Box<dyn FnOnce() + Send>;
        send_sync::<Tx<NotSync>>();
        send_sync::<Rx<NotSync>>();
    }

    #[tokio::test]
    async fn a_receiver_with_values_queued_still_yields_to_the_scheduler() {
        let (tx, mut rx) = channel();
        for i in 0..1_000 {
            tx.send(i).unwrap();
        }
        let other_ran = Arc::new(AtomicUsize::new(0));
        let flag = other_ran.clone();
        tokio::spawn(async move {
            flag.store(1, Ordering::SeqCst);
        });
        // current_thread: the spawned task runs only if this one yields.
        let mut seen_before_yield = 0;
        for _ in 0..1_000 {
            let v = std::future::poll_fn(|cx| rx.poll_recv(cx)).await;
            assert!(v.is_some());
            if other_ran.load(Ordering::SeqCst) == 0 {
                seen_before_yield += 1;
            }
        }
        assert!(seen_before_yield < 1_000, "the coop budget forced a yield");
    }
}

#[cfg(all(test, loom))]
#[path = "queue/tests/loom_queue.rs"]
mod loom_queue;
