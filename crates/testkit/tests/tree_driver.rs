//! The public driver: `check_tree` on user-described trees, what it
//! reports when the real tree does something the model did not predict,
//! and the trees it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use arbor_supervisor::{AutoShutdown, Restart, Strategy as SupStrategy, SupFlags};
use arbor_testkit::model::{Op, SpecConfig, SupConfig, TreeModel};
use arbor_testkit::{
    Crash, TreeCheckError, TreeDriver, check_tree, crash_sequence, model_cases, static_strategy,
    tree_ops,
};
use proptest::prelude::*;

fn three(strategy: SupStrategy, intensity: u32) -> SupConfig {
    three_with(SupFlags::new(strategy).intensity(intensity))
}

fn three_with(flags: SupFlags) -> SupConfig {
    SupConfig::new(flags)
        .worker("a", Restart::Permanent)
        .worker("b", Restart::Transient)
        .worker("c", Restart::Temporary)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(model_cases(16)))]

    /// Crash sequences on every static strategy agree with the model.
    #[test]
    fn crash_sequences_match_the_model(
        strategy in static_strategy(),
        intensity in 0u32..4,
        crashes in crash_sequence(3, 1..12),
    ) {
        check_tree(three(strategy, intensity), crashes)?;
    }

    /// Any operation sequence on a tree with a nested supervisor agrees.
    #[test]
    fn operation_sequences_match_the_model(
        (tree, ops) in static_strategy().prop_map(|s| {
            let nested = SupConfig::new(SupFlags::new(SupStrategy::OneForAll))
                .worker("n1", Restart::Permanent)
                .worker("n2", Restart::Transient);
            let flags = SupFlags::new(s).intensity(2).period(Duration::from_secs(2));
            three_with(flags).child(SpecConfig::supervisor("n", Restart::Permanent, nested))
        }).prop_flat_map(|tree| {
            let ops = tree_ops(&tree, 1..20);
            (Just(tree), ops)
        }),
    ) {
        check_tree(tree, ops)?;
    }
}

/// A simple_one_for_one root agrees too.
#[test]
fn simple_one_for_one_matches_the_model() {
    let tree = SupConfig::simple(SupFlags::default().intensity(1), Restart::Transient);
    let ops = [
        Op::SofoStart,
        Op::SofoStart,
        (1, Crash::Custom).into(),
        (0, Crash::Normal).into(),
        Op::SofoTerminate { target: 0 },
        Op::SofoStart,
        (0, Crash::Kill).into(),
        (0, Crash::Panic).into(),
    ];
    check_tree(tree, ops).unwrap();
}

/// Escalation: intensity 0 gives up at the first restart, the root exits
/// with `shutdown`, and the driver says so on both sides.
#[test]
fn giving_up_is_checked() {
    let tree = three(SupStrategy::OneForOne, 0);
    let mut driver = TreeDriver::start(TreeModel::new(tree, Vec::new())).unwrap();
    driver.step(&(0, Crash::Custom).into()).unwrap();
    assert!(!driver.model().alive);
    assert!(!driver.root_alive());
    assert_eq!(driver.steps(), 1);
    // A crash on a dead tree is a no-op on both sides.
    driver.step(&(0, Crash::Custom).into()).unwrap();
}

/// A restart the model did not predict (a crash behind the driver's
/// back) is reported at the next step, with the step and the log lines.
#[test]
fn an_unpredicted_restart_is_a_divergence() {
    let tree = three(SupStrategy::OneForOne, 5);
    let mut driver = TreeDriver::start(TreeModel::new(tree, Vec::new())).unwrap();
    driver
        .step(&Op::Advance(Duration::from_millis(10)))
        .unwrap();
    let pid = driver.log().last_pid("a").unwrap();
    driver.block_on(Crash::Custom.inflict_pid(pid)).unwrap();
    let err = driver
        .step(&Op::Advance(Duration::from_millis(10)))
        .unwrap_err();
    let TreeCheckError::Diverged { step, detail, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*step, 2);
    assert!(detail.contains("exit a boom"), "{detail}");
}

/// A child the model says is running but the tree lost: a divergence in
/// `which_children`, not a pass.
#[test]
fn a_missing_child_is_a_divergence() {
    let tree = three(SupStrategy::OneForOne, 5);
    let driver = TreeDriver::start(TreeModel::new(tree, Vec::new())).unwrap();
    let root = driver.root().clone();
    driver.block_on(async {
        root.terminate_child("c").await.unwrap();
    });
    let mut driver = driver;
    let err = driver.step(&Op::Advance(Duration::ZERO)).unwrap_err();
    assert!(err.to_string().contains("stop c shutdown"), "{err}");
}

/// Trees outside the model's scope are refused, not half-checked.
#[test]
fn unsupported_trees_are_refused() {
    let flags = SupFlags::new(SupStrategy::OneForOne);
    let deep = SupConfig::new(flags).child(SpecConfig::supervisor(
        "n",
        Restart::Permanent,
        SupConfig::new(flags).child(SpecConfig::supervisor(
            "m",
            Restart::Permanent,
            SupConfig::new(flags),
        )),
    ));
    let mut auto = SupConfig::new(flags).worker("a", Restart::Permanent);
    auto.flags.auto_shutdown = AutoShutdown::AnySignificant;
    let repeated = SupConfig::new(flags)
        .worker("a", Restart::Permanent)
        .worker("a", Restart::Temporary);
    let nested_simple = SupConfig::new(flags).child(SpecConfig::supervisor(
        "n",
        Restart::Permanent,
        SupConfig::simple(flags, Restart::Permanent),
    ));
    for tree in [deep, auto, repeated, nested_simple] {
        let got = check_tree(tree, Vec::<Op>::new());
        assert!(
            matches!(got, Err(TreeCheckError::Unsupported(_))),
            "{got:?}"
        );
    }
}
