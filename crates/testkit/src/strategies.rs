//! proptest strategies (generators) for supervision scenarios.

use std::time::Duration;

use arbor_supervisor::{Restart, Strategy as SupStrategy, SupFlags};
use proptest::prelude::*;

use crate::Crash;

/// Any [`Crash`], uniformly.
pub fn crash() -> impl Strategy<Value = Crash> {
    proptest::sample::select(Crash::ALL.to_vec())
}

/// A sequence of `(child index, crash)` pairs with indices below
/// `children` and a length in `len`: "crash child i this way", in order.
///
/// # Examples
///
/// ```
/// use arbor_testkit::crash_sequence;
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let seq = crash_sequence(3, 1..5).new_tree(&mut TestRunner::default()).unwrap().current();
/// assert!(!seq.is_empty() && seq.len() < 5);
/// assert!(seq.iter().all(|(i, _)| *i < 3));
/// ```
pub fn crash_sequence(
    children: usize,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<(usize, Crash)>> {
    let children = children.max(1);
    proptest::collection::vec((0..children, crash()), len)
}

/// Any restart type.
pub fn restart_type() -> impl Strategy<Value = Restart> {
    proptest::sample::select(vec![
        Restart::Permanent,
        Restart::Transient,
        Restart::Temporary,
    ])
}

/// Any of the three static strategies (not simple_one_for_one).
pub fn static_strategy() -> impl Strategy<Value = SupStrategy> {
    proptest::sample::select(vec![
        SupStrategy::OneForOne,
        SupStrategy::OneForAll,
        SupStrategy::RestForOne,
    ])
}

/// Any of the four strategies.
pub fn any_strategy() -> impl Strategy<Value = SupStrategy> {
    proptest::sample::select(vec![
        SupStrategy::OneForOne,
        SupStrategy::OneForAll,
        SupStrategy::RestForOne,
        SupStrategy::SimpleOneForOne,
    ])
}

/// Flags with the given strategy, intensity in `0..=4` and a period of 1
/// to 10 seconds (auto_shutdown `never`).
pub fn sup_flags(strategy: SupStrategy) -> impl Strategy<Value = SupFlags> {
    (0u32..=4, 1u64..=10).prop_map(move |(intensity, secs)| {
        SupFlags::new(strategy)
            .intensity(intensity)
            .period(Duration::from_secs(secs))
    })
}

/// A pause to let the clock move: 0 to 6 seconds in steps of 250 ms
/// (enough to slide an intensity window of up to 10 s over a few steps).
pub fn pause() -> impl Strategy<Value = Duration> {
    (0u64..=24).prop_map(|q| Duration::from_millis(q * 250))
}
