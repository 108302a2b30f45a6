//! Keeping a process found by name while it lives.

/// `cached` while its process is alive, else what `whereis` finds now
/// (remembered in `cached`).
///
/// A live process found under a name is still the one registered there:
/// the todo tree never unregisters a living process, so a name changes
/// owner only when its process dies. This saves the registry lookup (a
/// hash of the name and a shard lock) on every call.
pub(crate) fn live_or_whereis<T>(
    cached: &mut Option<T>,
    is_alive: impl Fn(&T) -> bool,
    whereis: impl FnOnce() -> Option<T>,
) -> Option<&T> {
    if !cached.as_ref().is_some_and(is_alive) {
        *cached = whereis();
    }
    cached.as_ref()
}
