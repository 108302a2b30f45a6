//! Holding a supervisor inside a request, to queue exits and requests
//! behind each other deterministically.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use arbor_supervisor::{
    ChildSpec, Restart, StartChildError, StartOutcome, StartedChild, SupervisorRef,
};
use parking_lot::Mutex;
use tokio::sync::oneshot;

type Pending = Pin<Box<dyn Future<Output = Result<StartedChild, StartChildError>> + Send>>;

/// A supervisor blocked inside a `start_child` call (of a temporary child
/// whose start returns ignore, so the tree does not change). While held,
/// exit signals and requests queue up in its mailbox in the order they
/// are sent; [`Held::release`] lets it handle them.
///
/// # Examples
///
/// ```
/// use arbor_supervisor::{Strategy, SupFlags, Supervisor};
/// use arbor_testkit::{Crash, LifecycleLog, Probe, hold, run_paused};
///
/// run_paused(async {
///     let log = LifecycleLog::new();
///     let sup = Supervisor::new(SupFlags::new(Strategy::OneForOne))
///         .child(Probe::new(&log, "a").spec())
///         .start()
///         .await
///         .unwrap();
///     let held = hold(&sup).await;
///     Crash::Kill.inflict_pid(log.last_pid("a").unwrap()).await.unwrap();
///     assert_eq!(log.starts("a"), 1); // the exit waits in the mailbox
///     held.release().await;
///     sup.which_children().await.unwrap();
///     assert_eq!(log.starts("a"), 2);
/// });
/// ```
#[must_use = "dropping it releases the supervisor at once; call `release` once the work to queue is queued"]
pub struct Held {
    gate: oneshot::Sender<()>,
    call: Pending,
}

impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

/// Blocks `sup` until [`Held::release`]; returns once it is blocked.
///
/// # Panics
///
/// If `sup` does not run the start function (it is dead, or it is a
/// simple_one_for_one supervisor, which has no `start_child(spec)`).
///
/// # Cancel safety
///
/// Dropping the future before it completes leaves the supervisor blocked
/// until the returned gate is dropped, which happens with the future.
pub async fn hold(sup: &SupervisorRef) -> Held {
    let (entered_tx, entered_rx) = oneshot::channel::<()>();
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    let slot = Arc::new(Mutex::new(Some((entered_tx, gate_rx))));
    let spec = ChildSpec::worker("arbor_testkit_held", move || {
        let pair = slot.lock().take();
        async move {
            if let Some((entered, gate)) = pair {
                let _ = entered.send(());
                let _ = gate.await;
            }
            StartOutcome::Ignore
        }
    })
    .restart(Restart::Temporary);
    let sup = sup.clone();
    let mut call: Pending = Box::pin(async move { sup.start_child(spec).await });
    let entered = async { entered_rx.await.is_ok() };
    // Drive the request until the supervisor is inside the start function.
    tokio::select! {
        biased;
        ok = entered => assert!(ok, "hold: the supervisor did not run the start function"),
        r = &mut call => panic!("hold: start_child returned early: {r:?}"),
    }
    Held {
        gate: gate_tx,
        call,
    }
}

impl Held {
    /// Lets the supervisor go on with its mailbox, and waits for the held
    /// request's reply.
    ///
    /// # Panics
    ///
    /// If the held request failed (the supervisor died while held).
    ///
    /// # Cancel safety
    ///
    /// The supervisor is released on the first poll.
    pub async fn release(self) {
        let _ = self.gate.send(());
        if let Err(e) = self.call.await {
            panic!("hold: the held start_child failed: {e}");
        }
    }
}
