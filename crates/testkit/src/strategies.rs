//! proptest strategies (generators) for supervision scenarios.

use std::time::Duration;

use arbor_supervisor::{Restart, Strategy as SupStrategy, SupFlags};
use proptest::prelude::*;

use crate::Crash;
use crate::model::{ApiCall, Op, SupConfig};

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

/// An API call about one child (for [`Op::CrashAndCall`]).
fn api_call() -> impl Strategy<Value = ApiCall> {
    prop_oneof![
        restart_type().prop_map(ApiCall::Start),
        Just(ApiCall::Terminate),
        Just(ApiCall::Restart),
        Just(ApiCall::Delete),
    ]
}

/// Any operation on the tree `config` (see [`Op`]): mostly crashes with
/// every [`Crash`], then the child API, clock advances, failing starts,
/// a crash with an API call queued right behind it, killing the nested
/// supervisor; simple_one_for_one starts and stops weigh more for a
/// simple_one_for_one root. Targets are indices the model resolves
/// against its state, so any sequence is valid and shrinks well.
pub fn tree_op(config: &SupConfig) -> BoxedStrategy<Op> {
    let sofo = if config.flags.strategy == SupStrategy::SimpleOneForOne {
        4
    } else {
        1
    };
    prop_oneof![
        6 => (0usize..16, crash()).prop_map(|(target, crash)| Op::Crash { target, crash }),
        2 => (0usize..6, restart_type()).prop_map(|(id, restart)| Op::StartChild { id, restart }),
        2 => (0usize..6).prop_map(|id| Op::TerminateChild { id }),
        2 => (0usize..6).prop_map(|id| Op::RestartChild { id }),
        1 => (0usize..6).prop_map(|id| Op::DeleteChild { id }),
        sofo => Just(Op::SofoStart),
        sofo => (0usize..16).prop_map(|target| Op::SofoTerminate { target }),
        1 => (0usize..16).prop_map(|target| Op::TerminatePid { target }),
        1 => (0usize..8, 1u32..=3).prop_map(|(target, n)| Op::FailNext { target, n }),
        2 => (0usize..8, crash(), api_call())
            .prop_map(|(target, crash, call)| Op::CrashAndCall { target, crash, call }),
        3 => pause().prop_map(Op::Advance),
        1 => Just(Op::KillNested),
    ]
    .boxed()
}

/// A sequence of [`tree_op`]s with a length in `len`, for
/// [`check_tree`](crate::check_tree).
///
/// # Examples
///
/// ```
/// use arbor_supervisor::{Restart, Strategy, SupFlags};
/// use arbor_testkit::{check_tree, model::SupConfig, tree_ops};
/// use proptest::strategy::{Strategy as _, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let tree = SupConfig::new(SupFlags::new(Strategy::OneForOne)).worker("a", Restart::Transient);
/// let ops = tree_ops(&tree, 1..20).new_tree(&mut TestRunner::default()).unwrap().current();
/// check_tree(tree, ops).unwrap();
/// ```
pub fn tree_ops(
    config: &SupConfig,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<Op>> + use<> {
    proptest::collection::vec(tree_op(config), len)
}
