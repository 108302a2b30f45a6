//! Model test of the reused call timer's protocol (`call.rs`, invariant
//! 3): [`DeadlineTimer::poll_deadline`] on a fake sleep, whose clock a
//! driver thread advances and fires, racing the calls that poll it, as
//! tokio's time driver fires timers from whichever thread drives time on
//! the multi-thread runtime. A real tokio timer cannot run under loom; the
//! fake keeps what the protocol relies on: `is_elapsed` is true once the
//! driver fired the sleep at or after its deadline, until the next reset;
//! a reset to a deadline already passed fires at once; polling registers
//! the task, which the firing wakes. Run with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p arbor-process --release --lib loom_
//! ```
//!
//! What is checked, in every interleaving of the calls' polls with the
//! driver's ticks: no call times out before its deadline, none waits on a
//! sleep set later than its deadline + slack, the sleep is moved at most
//! once per call, and every call that waits is woken (a lost wake-up is a
//! deadlock, which loom reports). Not checked: `SPARE_TIMER` and the
//! runtime check of `CallTimer::take` (plain thread-local code), tokio's
//! timer itself.

use std::ops::Add;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use loom::future::block_on;
use loom::thread;

use super::{DeadlineSleep, DeadlineTimer};
use crate::sync::{Mutex, model};

/// A point of the fake clock, in ticks of 1 ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Tick(u64);

impl Add<Duration> for Tick {
    type Output = Tick;
    fn add(self, d: Duration) -> Tick {
        Tick(self.0 + u64::try_from(d.as_millis()).expect("a short slack"))
    }
}

/// The fake time driver's state: the clock and the one timer entry.
struct Wheel {
    now: Tick,
    deadline: Tick,
    fired: bool,
    waker: Option<Waker>,
    /// How often the sleep was moved.
    resets: usize,
}

struct FakeSleep(Arc<Mutex<Wheel>>);

impl DeadlineSleep for FakeSleep {
    type Instant = Tick;

    fn is_elapsed(&self) -> bool {
        self.0.lock().fired
    }

    fn reset(self: Pin<&mut Self>, at: Tick) {
        let mut w = self.0.lock();
        w.deadline = at;
        w.fired = at <= w.now;
        w.resets += 1;
    }

    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut w = self.0.lock();
        if w.fired {
            return Poll::Ready(());
        }
        w.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Advances the clock to `to`, one tick at a time, firing the sleep once
/// its deadline is reached.
fn drive(wheel: &Mutex<Wheel>, to: u64) {
    for t in 1..=to {
        let waker = {
            let mut w = wheel.lock();
            w.now = Tick(t);
            if !w.fired && w.deadline <= w.now {
                w.fired = true;
                w.waker.take()
            } else {
                None
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// One call that waits for its timeout: polls until `Ready`, then checks
/// the clock, the sleep's deadline and the number of moves.
async fn time_out(
    timer: &mut DeadlineTimer<FakeSleep>,
    wheel: &Mutex<Wheel>,
    deadline: u64,
    slack: u64,
) {
    let resets_before = wheel.lock().resets;
    let (deadline, slack) = (Tick(deadline), Duration::from_millis(slack));
    std::future::poll_fn(|cx| timer.poll_deadline(cx, deadline, slack)).await;
    let w = wheel.lock();
    assert!(w.now >= deadline, "timed out at {:?} < {deadline:?}", w.now);
    assert!(timer.deadline <= deadline + slack, "{:?}", timer.deadline);
    assert!(
        w.resets - resets_before <= 1,
        "moved {} times",
        w.resets - resets_before
    );
}

/// Three calls on one thread's timer while the driver runs the clock from
/// 0 to 3 ms:
/// A (task 1, deadline 1) polls once and gets its reply, leaving the sleep
/// set to 1 and registered with task 1; B (task 2, deadline 3) takes it
/// from another task, with an earlier deadline, and waits for its timeout;
/// C (task 2 again, deadline 2 + 1 slack) finds it registered with its task
/// and set later than its own deadline.
#[test]
fn loom_call_timer_never_fires_early_and_moves_at_most_once_per_call() {
    model("call timer: 3 calls racing the time driver", || {
        let wheel = Arc::new(Mutex::new(Wheel {
            now: Tick(0),
            deadline: Tick(1),
            fired: false,
            waker: None,
            resets: 0,
        }));
        let driver = {
            let wheel = wheel.clone();
            thread::spawn(move || drive(&wheel, 3))
        };
        let mut timer = DeadlineTimer::new(FakeSleep(wheel.clone()), Tick(1));
        // A: armed, then the reply came (or it timed out already).
        let _ = timer.poll_deadline(
            &mut Context::from_waker(Waker::noop()),
            Tick(1),
            Duration::ZERO,
        );
        block_on(async {
            time_out(&mut timer, &wheel, 3, 0).await;
            time_out(&mut timer, &wheel, 2, 1).await;
        });
        driver.join().expect("driver");
    });
}
