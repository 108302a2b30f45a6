//! The shared, runtime-side half of a process: its signal state, the global
//! process table, signal delivery and exit processing.
//!
//! # Invariants
//!
//! 1. A cell is in the process table (`table.rs`) from spawn until its exit processing starts;
//!    `alive == false` from that moment on and never flips back. Exit
//!    processing has two halves: `stop_living` (not alive, out of the
//!    table and registry, mailbox closed) and `publish_exit` (signals,
//!    reason, waiters); the process's own task drops the process's state
//!    between them, so nobody learns of an exit before the state is gone.
//! 2. `links`, `monitors`, `monitoring`, `name` and the `mailbox` slot are
//!    only changed under `state`; exit processing takes them all in one
//!    critical section, so a link or monitor added concurrently either is
//!    taken (and fires) or finds the process dead (and reports `noproc`),
//!    and no system message is pushed, nor a mailbox opened, after it.
//! 3. Lock order: one cell's `state` at a time, except registry insertion
//!    which holds the cell lock and then a registry shard lock. No code path
//!    holds two cell locks.
//! 4. Exit signals go out in this order: link signals, then monitor
//!    `Down`s, then the exit reason is published (`exit`) and the tasks in
//!    `wait_exit` woken. So when `wait()` returns, every linked and
//!    monitoring process already has the exit in its mailbox.
//! 5. `exit` is set, and `exited` with it, in the critical section of
//!    `state` that takes the exit waiters; a waiter registers under `state`
//!    only after seeing `exit` unset there. So a waiter either is taken
//!    (and woken) or sees the reason. `exited` never goes back to `false`.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use futures::task::AtomicWaker;

use crate::id_hash::IdBuildHasher;
use crate::mailbox::{MailboxSlot, Rx, SysSink, Tx};
use crate::name::Name;
use crate::signal::{Down, ExitSignal, Sys};
use crate::sync::{AtomicBool, Mutex};
use crate::{ExitReason, MonitorRef, Pid};
use exit_waiters::ExitWaiters;
use links::Links;

mod exit_waiters;
mod info;
mod links;
pub(crate) mod names;
mod table;

pub(crate) use names::{register_cell, whereis_cell};
#[cfg(feature = "metrics")]
pub(crate) use table::snapshot;
pub(crate) use table::{live_count, lookup};

struct CellState {
    alive: bool,
    kill_reason: Option<ExitReason>,
    /// Linked peers: inline for one, a map (O(1) link/unlink even for a
    /// supervisor with 100k children) for more.
    links: Links,
    /// Monitors on this process: who to tell when it exits.
    monitors: Vec<(MonitorRef, Arc<ProcessCell>)>,
    /// Monitors this process holds on others, removed when it exits. Boxed
    /// on first use: most processes never monitor, and an empty map inline
    /// would cost every process 32 bytes.
    #[allow(clippy::box_collection)] // the point: 8 bytes inline, not 32
    monitoring: Option<Box<HashMap<MonitorRef, Pid, IdBuildHasher>>>,
    name: Option<Name>,
    /// The process's mailbox: unborn until the first message, then the
    /// queue, for system messages and for typed handles found by pid or
    /// name; closed from exit processing on (by the exiting process itself,
    /// which drops its receiver too, so what was queued is freed as it
    /// exits, its memory still in cache).
    mailbox: MailboxSlot,
    /// Tasks in [`ProcessCell::wait_exit`] (invariant 5).
    exit_waiters: ExitWaiters,
    /// The exit reason, once published (invariant 5).
    exit: Option<ExitReason>,
}

pub(crate) struct ProcessCell {
    pub(crate) pid: Pid,
    trap: AtomicBool,
    killed: AtomicBool,
    kill_waker: AtomicWaker,
    state: Mutex<CellState>,
    /// Whether `state.exit` is set: a check without the lock for the
    /// common question "has it exited yet?" (not a `OnceLock`: setting one
    /// runs `Once`'s state machine at every exit).
    exited: AtomicBool,
}

/// What [`ProcessCell::stop_living`] took from the cell, for
/// [`ProcessCell::publish_exit`] to signal.
pub(crate) struct Exiting {
    links: Links,
    monitors: Vec<(MonitorRef, Arc<ProcessCell>)>,
    #[allow(clippy::box_collection)] // as `CellState::monitoring`
    monitoring: Option<Box<HashMap<MonitorRef, Pid, IdBuildHasher>>>,
}

/// How a signal reached the process: from a link (the sender is removed
/// from the receiver's links) or from `exit/2` (where `Kill` is untrappable).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalKind {
    Link,
    Exit,
}

impl ProcessCell {
    /// A live cell whose mailbox `open` makes on the first message.
    pub(crate) fn new(open: fn(Option<Waker>) -> Arc<dyn SysSink>) -> Arc<ProcessCell> {
        Arc::new(ProcessCell {
            pid: Pid::fresh(),
            trap: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            kill_waker: AtomicWaker::new(),
            state: Mutex::new(CellState {
                alive: true,
                kill_reason: None,
                links: Links::default(),
                monitors: Vec::new(),
                monitoring: None,
                name: None,
                mailbox: MailboxSlot::Unborn { open, waiter: None },
                exit_waiters: ExitWaiters::Empty,
                exit: None,
            }),
            exited: AtomicBool::new(false),
        })
    }

    /// Puts the cell in the process table (invariant 1).
    pub(crate) fn publish(self: &Arc<Self>) {
        #[cfg(feature = "metrics")]
        crate::metrics::counts::spawned();
        table::insert(self);
    }

    /// A sender to the mailbox (opening it) if the process's messages are
    /// of type `M`; `None` once it is exiting or for another type.
    pub(crate) fn sender<M: Send + 'static>(&self) -> Option<Tx<M>> {
        self.state.lock().mailbox.sender::<M>()
    }

    /// For the process itself: its receiver once the mailbox is open; until
    /// then `waiter` is woken by the first message. `None` if the mailbox
    /// is unborn or the receiver was taken already.
    pub(crate) fn claim_mailbox<M: Send + 'static>(&self, waiter: Option<&Waker>) -> Option<Rx<M>> {
        self.state.lock().mailbox.claim::<M>(waiter)
    }

    /// Enqueues a system message, opening the mailbox.
    fn push_sys(&self, sys: Box<Sys>) {
        Self::push_locked(&mut self.state.lock(), sys);
    }

    /// [`ProcessCell::push_sys`] under the lock the caller holds. The queue
    /// wakes the process if it waits (a tokio wake only schedules the task;
    /// it takes no cell lock).
    fn push_locked(st: &mut CellState, sys: Box<Sys>) {
        if let Some(mailbox) = st.mailbox.open() {
            mailbox.push(sys);
        }
    }

    pub(crate) fn set_trap_exit(&self, on: bool) -> bool {
        self.trap.swap(on, Ordering::AcqRel)
    }

    pub(crate) fn is_trapping(&self) -> bool {
        self.trap.load(Ordering::Acquire)
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.state.lock().alive
    }

    /// Whether the mailbox is still unborn (nothing was sent yet).
    #[cfg(test)]
    pub(crate) fn mailbox_is_unborn(&self) -> bool {
        matches!(self.state.lock().mailbox, MailboxSlot::Unborn { .. })
    }

    // ===== signals =====

    /// Makes the process exit with `reason` at its next suspension point,
    /// whatever it is doing. The first kill wins.
    pub(crate) fn kill_with(&self, reason: ExitReason) {
        {
            let mut st = self.state.lock();
            if !st.alive || st.kill_reason.is_some() {
                return;
            }
            st.kill_reason = Some(reason);
        }
        self.killed.store(true, Ordering::Release);
        self.kill_waker.wake();
    }

    /// Polled by the process driver before the body: `Ready` once killed.
    pub(crate) fn poll_killed(&self, cx: &mut Context<'_>) -> Poll<ExitReason> {
        if !self.killed.load(Ordering::Acquire) {
            self.kill_waker.register(cx.waker());
            if !self.killed.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        Poll::Ready(self.kill_reason())
    }

    /// [`ProcessCell::poll_killed`] for a driver whose waker is registered
    /// already (its last `poll_killed` had a waker that `will_wake` the
    /// current one): only the flag is read. Inline: it runs before every
    /// poll of every process, and the flag check is one load.
    #[inline]
    pub(crate) fn poll_killed_registered(&self) -> Poll<ExitReason> {
        if !self.killed.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        Poll::Ready(self.kill_reason())
    }

    /// The reason of a kill (the `killed` flag is set).
    #[cold]
    fn kill_reason(&self) -> ExitReason {
        let reason = self.state.lock().kill_reason.clone();
        reason.unwrap_or(ExitReason::Killed)
    }

    /// Delivers an exit signal from `from` with the Erlang rules:
    /// untrappable kill, trapped → message, `normal` ignored, else death.
    pub(crate) fn signal_exit(&self, from: Pid, reason: ExitReason, kind: SignalKind) {
        if kind == SignalKind::Link {
            let mut st = self.state.lock();
            st.links.remove(from);
        }
        if kind == SignalKind::Exit && reason == ExitReason::Kill {
            self.kill_with(ExitReason::Killed);
        } else if self.is_trapping() {
            self.push_sys(Box::new(Sys::Exit(ExitSignal { from, reason })));
        } else if reason.is_normal() {
            // Ignored by a process that does not trap exits.
        } else {
            self.kill_with(reason);
        }
    }

    // ===== links and monitors (called by the process itself) =====

    /// Links `self` (the calling process) with `other`. A dead `other`
    /// delivers an exit signal `noproc` to `self` at once; linking to a
    /// process already linked is a no-op, as in Erlang, also while that
    /// process is exiting (its exit signal comes through the existing link,
    /// once, rather than a second `noproc`). That check comes first: a
    /// supervisor links every child its start function already linked.
    pub(crate) fn link(self: &Arc<Self>, other: Pid) {
        if other == self.pid || self.state.lock().links.contains(other) {
            return;
        }
        let Some(peer) = lookup(other) else {
            self.signal_exit(other, ExitReason::NoProc, SignalKind::Link);
            return;
        };
        self.link_cell(&peer);
    }

    /// [`ProcessCell::link`] with the peer's cell at hand (a process
    /// spawned by `self`), without looking it up in the table.
    pub(crate) fn link_cell(self: &Arc<Self>, peer: &Arc<ProcessCell>) {
        let other = peer.pid;
        if other == self.pid {
            return;
        }
        {
            let mut st = self.state.lock();
            if !st.links.insert(other, peer.clone()) {
                return;
            }
        }
        let peer_alive = {
            let mut pst = peer.state.lock();
            if pst.alive {
                pst.links.insert(self.pid, self.clone());
            }
            pst.alive
        };
        if !peer_alive {
            self.signal_exit(other, ExitReason::NoProc, SignalKind::Link);
        }
    }

    pub(crate) fn unlink(&self, other: Pid) {
        let peer = {
            let mut st = self.state.lock();
            st.links.remove(other)
        };
        if let Some(peer) = peer {
            peer.state.lock().links.remove(self.pid);
        }
    }

    /// Monitors `target` on behalf of `self`.
    ///
    /// The monitor is recorded in `self`'s `monitoring` before it is added
    /// to the target, and taken out again if the target is found dead: an
    /// exit that takes the monitor removes it from `monitoring` (in
    /// `publish_exit`), which must then already hold it, or the entry would
    /// stay for the life of `self` (found by the model test
    /// `loom_cell_monitor_racing_the_exit_fires_or_gets_noproc`).
    pub(crate) fn monitor(self: &Arc<Self>, target: Pid) -> MonitorRef {
        let mref = MonitorRef::fresh();
        let registered = lookup(target).is_some_and(|peer| {
            let mut st = self.state.lock();
            st.monitoring.get_or_insert_default().insert(mref, target);
            drop(st);
            let mut pst = peer.state.lock();
            if pst.alive {
                pst.monitors.push((mref, self.clone()));
            }
            pst.alive
        });
        if !registered {
            let mut st = self.state.lock();
            if let Some(m) = st.monitoring.as_mut() {
                m.remove(&mref);
            }
            let down = Down {
                monitor: mref,
                pid: target,
                reason: ExitReason::NoProc,
            };
            Self::push_locked(&mut st, Box::new(Sys::Down(down)));
        }
        mref
    }

    /// Removes a monitor; `true` if it was still active.
    pub(crate) fn demonitor(&self, mref: MonitorRef) -> bool {
        let target = {
            let mut st = self.state.lock();
            st.monitoring.as_mut().and_then(|m| m.remove(&mref))
        };
        let Some(target) = target else { return false };
        match lookup(target) {
            Some(peer) => {
                let mut pst = peer.state.lock();
                let before = pst.monitors.len();
                pst.monitors.retain(|(r, _)| *r != mref);
                before != pst.monitors.len()
            }
            None => false,
        }
    }

    // ===== names =====

    /// Runs `f` on the name slot of a live process, under the cell lock
    /// (the registry's insert and release happen inside `f`, invariant 3's
    /// lock order); `None` when the process is no longer alive.
    pub(crate) fn with_name_slot<R>(&self, f: impl FnOnce(&mut Option<Name>) -> R) -> Option<R> {
        let mut st = self.state.lock();
        if !st.alive {
            return None;
        }
        Some(f(&mut st.name))
    }

    // ===== exit =====

    /// Exit processing in one go (unit tests of a bare cell).
    #[cfg(test)]
    pub(crate) fn terminate(self: &Arc<Self>, reason: ExitReason) {
        let exiting = self.stop_living();
        self.publish_exit(exiting, reason);
    }

    /// The first half of exit processing, run once by the process's own
    /// task (invariant 1): the process stops being alive (kills, links,
    /// monitors and sends find it dead from here on), leaves the table and
    /// the registry, and its mailbox is closed (a queue it never took is
    /// drained here). Nobody is told yet: the caller drops the process's
    /// state first, then calls [`ProcessCell::publish_exit`].
    pub(crate) fn stop_living(&self) -> Exiting {
        let (exiting, name, mailbox) = {
            let mut st = self.state.lock();
            st.alive = false;
            let exiting = Exiting {
                links: std::mem::take(&mut st.links),
                monitors: std::mem::take(&mut st.monitors),
                monitoring: std::mem::take(&mut st.monitoring),
            };
            let mailbox = std::mem::replace(&mut st.mailbox, MailboxSlot::Closed);
            (exiting, st.name.take(), mailbox)
        };
        table::remove(self.pid);
        if let Some(name) = name {
            names::release(&name, self.pid);
        }
        drop(mailbox);
        exiting
    }

    /// The second half of exit processing (invariants 4 and 5): link
    /// signals, then monitor notifications, then the reason is published
    /// and the waiters woken.
    pub(crate) fn publish_exit(self: &Arc<Self>, exiting: Exiting, reason: ExitReason) {
        let Exiting {
            mut links,
            monitors,
            monitoring,
        } = exiting;
        #[cfg(feature = "metrics")]
        crate::metrics::counts::exited(&reason);
        for peer in links.take() {
            peer.signal_exit(self.pid, reason.clone(), SignalKind::Link);
        }
        for (mref, watcher) in monitors {
            let down = Down {
                monitor: mref,
                pid: self.pid,
                reason: reason.clone(),
            };
            let sys = Box::new(Sys::Down(down));
            let mut wst = watcher.state.lock();
            if let Some(m) = wst.monitoring.as_mut() {
                m.remove(&mref);
            }
            Self::push_locked(&mut wst, sys);
        }
        for (mref, target) in monitoring.into_iter().flat_map(|m| *m) {
            if let Some(peer) = lookup(target) {
                peer.state.lock().monitors.retain(|(r, _)| *r != mref);
            }
        }
        // Last: whoever waits on this process sees every link and monitor
        // signal already delivered (invariants 4 and 5).
        let waiters = {
            let mut st = self.state.lock();
            st.exit = Some(reason);
            self.exited.store(true, Ordering::Release);
            std::mem::take(&mut st.exit_waiters)
        };
        waiters.wake_all();
    }

    /// Messages waiting in the open mailbox (0 for one never opened or
    /// closed), for the sampled mailbox depth.
    #[cfg(feature = "metrics")]
    pub(crate) fn mailbox_depth(&self) -> usize {
        // The queue's lock under the cell's, as a system message's push.
        self.state.lock().mailbox.depth()
    }

    /// The exit reason, once the process has exited.
    pub(crate) fn exit_reason(&self) -> Option<ExitReason> {
        if !self.exited.load(Ordering::Acquire) {
            return None;
        }
        self.state.lock().exit.clone()
    }

    /// Waits until the process has exited and returns its reason.
    ///
    /// Cancel safe: dropping the future removes its waker.
    pub(crate) fn wait_exit(&self) -> WaitExit<'_> {
        WaitExit {
            cell: self,
            _pinned: PhantomPinned,
        }
    }
}

/// The future of [`ProcessCell::wait_exit`]. Its address is its key in the
/// cell's [`ExitWaiters`]: it is `!Unpin`, so from the poll that registers
/// it until its drop (which removes the entry) it does not move.
pub(crate) struct WaitExit<'a> {
    cell: &'a ProcessCell,
    _pinned: PhantomPinned,
}

impl WaitExit<'_> {
    fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}

impl Future for WaitExit<'_> {
    type Output = ExitReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ExitReason> {
        let mut st = self.cell.state.lock();
        if let Some(r) = &st.exit {
            return Poll::Ready(r.clone());
        }
        st.exit_waiters.register(self.key(), cx.waker());
        Poll::Pending
    }
}

impl Drop for WaitExit<'_> {
    fn drop(&mut self) {
        // Once `exit` is set, exit processing took the list with this
        // entry in it. Before, the entry (if any) must go: waits abandoned
        // on a long-lived process (a timed-out call, a `select!`) would
        // pile up, each holding its task's waker, and a later future at
        // this address would find a stale entry under its key. (Removing
        // from the emptied list of an exit that came in between is a no-op.)
        if !self.cell.exited.load(Ordering::Acquire) {
            let key = self.key();
            self.cell.state.lock().exit_waiters.remove(key);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::counting_waker::counting_waker as counter;
    use crate::mailbox;

    fn waiting(cell: &ProcessCell) -> usize {
        cell.state.lock().exit_waiters.len()
    }

    fn poll(fut: Pin<&mut WaitExit<'_>>, waker: &Waker) -> Poll<ExitReason> {
        fut.poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn every_waiter_is_woken_once_by_the_exit_and_sees_the_reason() {
        let cell = ProcessCell::new(mailbox::open::<u8>);
        let counters: Vec<_> = (0..3).map(|_| counter()).collect();
        let mut futs: Vec<_> = (0..3).map(|_| Box::pin(cell.wait_exit())).collect();
        for (f, (_, w)) in futs.iter_mut().zip(&counters) {
            assert!(poll(f.as_mut(), w).is_pending());
        }
        assert_eq!(waiting(&cell), 3);
        cell.terminate(ExitReason::custom("gone"));
        assert_eq!(waiting(&cell), 0);
        for (f, (c, w)) in futs.iter_mut().zip(&counters) {
            assert_eq!(c.get(), 1);
            assert_eq!(poll(f.as_mut(), w), Poll::Ready(ExitReason::custom("gone")));
        }
    }

    #[test]
    fn a_wait_dropped_before_the_exit_leaves_no_waker_behind() {
        let cell = ProcessCell::new(mailbox::open::<u8>);
        let (kept_count, kept_waker) = counter();
        let mut kept = Box::pin(cell.wait_exit());
        assert!(poll(kept.as_mut(), &kept_waker).is_pending());
        let (dropped_count, dropped_waker) = counter();
        for _ in 0..100 {
            let mut f = Box::pin(cell.wait_exit());
            assert!(poll(f.as_mut(), &dropped_waker).is_pending());
        }
        assert_eq!(waiting(&cell), 1);
        // The dropped futures' wakers are released, not held until the exit.
        assert_eq!(Arc::strong_count(&dropped_count), 2);
        cell.terminate(ExitReason::Normal);
        assert_eq!((kept_count.get(), dropped_count.get()), (1, 0));
        assert_eq!(
            poll(kept.as_mut(), &kept_waker),
            Poll::Ready(ExitReason::Normal)
        );
    }

    #[test]
    fn a_wait_polled_with_a_new_waker_wakes_only_the_new_one() {
        let cell = ProcessCell::new(mailbox::open::<u8>);
        let (old_count, old_waker) = counter();
        let (new_count, new_waker) = counter();
        let mut f = Box::pin(cell.wait_exit());
        assert!(poll(f.as_mut(), &old_waker).is_pending());
        assert!(poll(f.as_mut(), &new_waker).is_pending());
        assert_eq!(waiting(&cell), 1);
        cell.terminate(ExitReason::Shutdown);
        assert_eq!((old_count.get(), new_count.get()), (0, 1));
    }

    #[test]
    fn a_wait_after_the_exit_is_ready_at_once_and_registers_nothing() {
        let cell = ProcessCell::new(mailbox::open::<u8>);
        cell.terminate(ExitReason::Killed);
        let (count, waker) = counter();
        let mut f = Box::pin(cell.wait_exit());
        assert_eq!(poll(f.as_mut(), &waker), Poll::Ready(ExitReason::Killed));
        assert_eq!((waiting(&cell), count.get()), (0, 0));
    }
}

#[cfg(all(test, loom))]
#[path = "tests/loom_cell.rs"]
mod loom_cell;
