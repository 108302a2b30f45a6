//! The per-stream notify bound against a pure model: for any sequence of
//! `notify`, consumer reads and `sync_notify`, an acked stream yields
//! exactly the items the model predicts (which events are kept, how many
//! dropped, and where each `Lagged` falls), and `dropped()` is the model's
//! total. `ARBOR_MODEL_CASES` sets the number of cases (default 64).

use std::collections::VecDeque;
use std::pin::pin;

use arbor_genevent::{AckedEventStream, Delivery, EventManager, StreamOpts};
use arbor_process::Process;
use futures::{StreamExt, poll};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn cases() -> u32 {
    std::env::var("ARBOR_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// `notify` the next event.
    Notify,
    /// The consumer asks for one item once the manager is idle.
    Take,
    /// `sync_notify` the next event; the consumer reads up to it and fires
    /// its ack.
    Sync,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![4 => Just(Op::Notify), 3 => Just(Op::Take), 1 => Just(Op::Sync)]
}

/// A stream item as the test compares it; `Pending` when none is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Notify(u32),
    Sync(u32),
    Lagged(u64),
    Pending,
    End,
}

/// The specification: a queue of at most `bound` notify items; a drop
/// adds to the lag, which goes into the queue before the next item sent,
/// or to the consumer when it finds the queue empty.
struct Model {
    bound: usize,
    queue: VecDeque<Seen>,
    queued_notifies: usize,
    lag: u64,
    dropped: u64,
}

impl Model {
    fn send(&mut self, item: Seen) {
        if self.lag > 0 {
            self.queue
                .push_back(Seen::Lagged(std::mem::take(&mut self.lag)));
        }
        self.queue.push_back(item);
    }

    fn notify(&mut self, n: u32) {
        if self.queued_notifies >= self.bound {
            self.lag += 1;
            self.dropped += 1;
        } else {
            self.queued_notifies += 1;
            self.send(Seen::Notify(n));
        }
    }

    fn take(&mut self) -> Seen {
        match self.queue.pop_front() {
            Some(item) => {
                if matches!(item, Seen::Notify(_)) {
                    self.queued_notifies -= 1;
                }
                item
            }
            None if self.lag > 0 => Seen::Lagged(std::mem::take(&mut self.lag)),
            None => Seen::Pending,
        }
    }
}

fn seen(d: Delivery<u32>) -> Seen {
    match d {
        Delivery::Notify(n) => Seen::Notify(n),
        Delivery::Sync(n, _) => Seen::Sync(n),
        Delivery::Lagged(k) => Seen::Lagged(k),
    }
}

async fn run(bound: usize, ops: Vec<Op>) {
    let mgr = EventManager::<u32>::start().await.unwrap();
    let mut s: AckedEventStream<u32> = mgr
        .acked_stream(StreamOpts::default().notify_bound(bound))
        .await
        .unwrap();
    let mut model = Model {
        bound,
        queue: VecDeque::new(),
        queued_notifies: 0,
        lag: 0,
        dropped: 0,
    };
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for (n, op) in (0u32..).zip(ops) {
        match op {
            Op::Notify => {
                mgr.notify(n);
                model.notify(n);
            }
            Op::Take => {
                // Answered after every earlier notify was dispatched.
                mgr.which_handlers().await.unwrap();
                got.push(match poll!(s.next()) {
                    std::task::Poll::Ready(Some(Ok(d))) => seen(d),
                    std::task::Poll::Ready(other) => panic!("stream ended: {other:?}"),
                    std::task::Poll::Pending => Seen::Pending,
                });
                want.push(model.take());
            }
            Op::Sync => {
                // The model dispatches every earlier notify before the
                // consumer reads; so does the manager after this call.
                mgr.which_handlers().await.unwrap();
                let mut sync = pin!(mgr.sync_notify(n));
                assert!(poll!(&mut sync).is_pending());
                model.send(Seen::Sync(n));
                loop {
                    want.push(model.take());
                    let d = s.next().await.unwrap().unwrap();
                    if let Delivery::Sync(_, ack) = &d {
                        assert!(ack.is_awaited());
                    }
                    let item = seen(d); // drops the ack
                    let done = matches!(item, Seen::Sync(_));
                    got.push(item);
                    if done {
                        break;
                    }
                }
                sync.await.unwrap();
            }
        }
        assert_eq!(got, want, "bound {bound}");
    }
    mgr.stop().await.unwrap();
    while let Some(d) = s.next().await {
        got.push(seen(d.unwrap()));
    }
    got.push(Seen::End);
    // The manager stopped: everything queued, then the last drops, then
    // the end.
    loop {
        match model.take() {
            Seen::Pending => break,
            item => want.push(item),
        }
    }
    want.push(Seen::End);
    assert_eq!(got, want, "bound {bound}");
    assert_eq!(s.dropped(), model.dropped);
}

proptest! {
    #![proptest_config(Config { cases: cases(), failure_persistence: None, ..Config::default() })]

    #[test]
    fn bounded_stream_matches_model(bound in 0usize..4, ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(bound, ops));
    }
}
