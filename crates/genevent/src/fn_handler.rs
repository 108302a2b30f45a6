//! [`FnHandler`]: an event handler made of a closure.

use std::fmt;

use crate::{EventHandler, Handled, HandlerCtx, Step};

/// An event handler made of a closure, called with every event inside the
/// manager. It stays installed until it is removed or the closure panics
/// (a panic removes it, as a failing handler; the manager and the other
/// handlers go on). For state, calls, `terminate` or swaps, implement
/// [`EventHandler`] instead.
///
/// Added with [`EventManagerRef::add`](crate::EventManagerRef::add), its id
/// is `FnHandler`; give a second one a tagged id
/// (`add_handler(HandlerId::of::<FnHandler<()>>().tag("audit"), ..)`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use arbor_genevent::{EventManager, FnHandler};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let total = Arc::new(AtomicU64::new(0));
/// let sum = total.clone();
/// let mgr = EventManager::start().await.unwrap();
/// mgr.add(FnHandler::new(move |n: &u64| {
///     sum.fetch_add(*n, Ordering::Relaxed);
/// }))
/// .await
/// .unwrap();
/// mgr.sync_notify(5).await.unwrap();
/// assert_eq!(total.load(Ordering::Relaxed), 5);
/// # }
/// ```
///
/// # OTP
///
/// A handler module whose `handle_event` only has side effects and
/// returns `{ok, State}` unchanged.
pub struct FnHandler<F>(F);

impl<F> FnHandler<F> {
    /// A handler that calls `f` with every event.
    pub fn new(f: F) -> FnHandler<F> {
        FnHandler(f)
    }
}

impl<E, F> EventHandler<E> for FnHandler<F>
where
    F: FnMut(&E) + Send + 'static,
{
    fn handle_event(&mut self, event: &E, _ctx: &HandlerCtx<'_, E>) -> Handled<E> {
        (self.0)(event);
        Ok(Step::Keep)
    }
}

impl<F> fmt::Debug for FnHandler<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnHandler")
    }
}
