//! Model tests of the queue (`queue.rs`): loom runs each test body once
//! per interleaving of its threads at every lock, so a property asserted
//! here holds in every order the senders, the receiver and the close can
//! take the queue's lock. Run with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p arbor-process --release --lib loom_
//! ```
//!
//! The bookkeeping (`Ledger`) uses std atomics on purpose: loom runs one
//! thread at a time, so they are exact, and they add no interleavings.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use loom::future::block_on;
use loom::thread;

use crate::queue::{Rx, channel};
use crate::sync::model;

/// Two senders, sending two values and one, race the receiver, which waits
/// for all three (`block_on` parks the receiver until its waker is woken:
/// a wake-up lost after the receiver registered ends in a deadlock, which
/// loom reports). Every value arrives exactly once, each sender's in send
/// order, and nothing more.
#[test]
fn loom_queue_every_value_arrives_once_in_order_and_wakes_the_receiver() {
    model(
        "queue: 2 senders (2 and 1 values), waiting receiver",
        || {
            let (tx, mut rx) = channel::<(usize, usize)>();
            let senders: Vec<_> = [2, 1]
                .into_iter()
                .enumerate()
                .map(|(t, n)| {
                    let tx = tx.clone();
                    thread::spawn(move || {
                        for i in 0..n {
                            assert!(tx.send((t, i)).is_ok(), "the receiver is alive");
                        }
                    })
                })
                .collect();
            let mut got = Vec::new();
            for _ in 0..3 {
                let v = block_on(poll_fn(|cx| rx.poll_recv(cx)));
                got.push(v.expect("open while a sender is alive"));
            }
            for s in senders {
                s.join().expect("sender");
            }
            assert_eq!(rx.try_recv(), None, "received more than was sent");
            for (t, n) in [2, 1].into_iter().enumerate() {
                let order: Vec<usize> = got.iter().filter(|v| v.0 == t).map(|v| v.1).collect();
                assert_eq!(order, (0..n).collect::<Vec<_>>(), "sender {t}: {got:?}");
            }
            drop(tx);
        },
    );
}

/// Which way each value left: received, handed back to its sender by a
/// failed send, or dropped (by the receiver's close, or after either of
/// the others).
struct Ledger {
    received: [AtomicUsize; 3],
    returned: [AtomicUsize; 3],
    dropped: [AtomicUsize; 3],
}

struct Value {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Value {
    fn drop(&mut self) {
        self.ledger.dropped[self.id].fetch_add(1, Ordering::Relaxed);
    }
}

fn poll_once(rx: &mut Rx<Value>) -> Poll<Option<Value>> {
    rx.poll_recv(&mut Context::from_waker(std::task::Waker::noop()))
}

/// Two senders (values 0 and 1, 2) race the receiver, which takes what is
/// there once and then is dropped (a process's exit: close and drain).
/// Every value is received exactly once, or handed back to its sender, or
/// dropped by the close, exactly one of the three; once the receiver is
/// gone every send fails, and the closed queue holds nothing (a value
/// accepted after the drain would stay there until the last sender goes).
#[test]
fn loom_queue_close_races_sends_and_every_value_leaves_once() {
    model(
        "queue: 2 senders (1 and 2 values) racing recv + close",
        || {
            let ledger = Arc::new(Ledger {
                received: Default::default(),
                returned: Default::default(),
                dropped: Default::default(),
            });
            let (tx, mut rx) = channel::<Value>();
            let senders: Vec<_> = [vec![0], vec![1, 2]]
                .into_iter()
                .map(|ids| {
                    let tx = tx.clone();
                    let ledger = ledger.clone();
                    thread::spawn(move || {
                        for id in ids {
                            let value = Value {
                                id,
                                ledger: ledger.clone(),
                            };
                            if let Err(back) = tx.send(value) {
                                ledger.returned[back.id].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    })
                })
                .collect();
            if let Poll::Ready(Some(v)) = poll_once(&mut rx) {
                ledger.received[v.id].fetch_add(1, Ordering::Relaxed);
            }
            drop(rx);
            let late = Value {
                id: 0,
                ledger: ledger.clone(),
            };
            let late = tx.send(late).expect_err("a send after the close fails");
            std::mem::forget(late);
            for s in senders {
                s.join().expect("sender");
            }
            {
                let st = tx.shared.0.lock();
                assert!(st.closed, "invariant 2");
                assert!(
                    st.one.is_none() && st.queue.is_empty(),
                    "a value was queued after the close"
                );
            }
            for id in 0..3 {
                let count = |a: &[AtomicUsize; 3]| a[id].load(Ordering::Relaxed);
                let (received, returned) = (count(&ledger.received), count(&ledger.returned));
                assert_eq!(count(&ledger.dropped), 1, "value {id} dropped once");
                assert!(
                    received + returned <= 1,
                    "value {id}: received {received}, returned {returned}"
                );
            }
            drop(tx);
        },
    );
}
