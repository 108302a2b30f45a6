//! Turning a panic while polling a future into an exit reason, without
//! allocating (the adapter is pin-projected, not boxed).

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use crate::ExitReason;

/// Runs `fut`, converting a panic into `Err(ExitReason::Panic)`. Used around
/// user callbacks so that a server can still run `terminate` after a crash.
pub(crate) async fn catch<F: Future>(fut: F) -> Result<F::Output, ExitReason> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(|payload| ExitReason::from_panic(&*payload))
}
