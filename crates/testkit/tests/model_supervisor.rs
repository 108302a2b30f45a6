//! Model-based test of the supervisor: a real tree and the pure
//! [`TreeModel`] run the same generated operations through the testkit's
//! [`TreeDriver`] (crashes with every
//! kind of reason, the child API, simple_one_for_one starts and stops,
//! `terminate_child` by a pid that is gone or not a child, failing starts
//! (restart retries through the intensity check), an API call queued right
//! behind a crash (so it meets a child left restarting, docs/otp/supervisor.md#sup-restarting),
//! paused-clock advances, killing a nested supervisor); after every step
//! the log, the API result, `which_children` of the root and of the nested supervisor
//! (with pids checked against the log), `count_children`, the restart
//! windows and a dead root's exit reason must agree.
//!
//! 32 cases by default; `ARBOR_MODEL_CASES=10000` for a long run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use arbor_testkit::model::{Op, SpecConfig, SupConfig, TreeModel};
use arbor_testkit::{
    TreeDriver, any_strategy, model_cases, restart_type, static_strategy, sup_flags, tree_op,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};

// ===== the reference machine =====

struct Model;

fn worker(id: &str, restart: arbor_supervisor::Restart) -> SpecConfig {
    SpecConfig {
        id: id.to_string(),
        restart,
        nested: None,
    }
}

fn nested_config() -> impl Strategy<Value = SpecConfig> {
    (
        static_strategy().prop_flat_map(sup_flags),
        proptest::collection::vec(restart_type(), 1..=3),
        restart_type(),
    )
        .prop_map(|(flags, restarts, restart)| SpecConfig {
            id: "n".to_string(),
            restart,
            nested: Some(Box::new(SupConfig {
                flags,
                children: restarts
                    .iter()
                    .enumerate()
                    .map(|(i, r)| worker(&format!("n{}", i + 1), *r))
                    .collect(),
                template: None,
            })),
        })
}

fn tree_config() -> impl Strategy<Value = TreeModel> {
    (
        any_strategy().prop_flat_map(sup_flags),
        proptest::collection::vec(restart_type(), 1..=3),
        nested_config(),
        proptest::option::of(0usize..4),
        restart_type(),
    )
        .prop_map(|(flags, restarts, nested, nested_at, template)| {
            let simple = flags.strategy == arbor_supervisor::Strategy::SimpleOneForOne;
            let mut children: Vec<SpecConfig> = restarts
                .iter()
                .zip(["a", "b", "c"])
                .map(|(r, id)| worker(id, *r))
                .collect();
            if let Some(at) = nested_at {
                children.insert(at.min(children.len()), nested.clone());
            }
            let config = SupConfig {
                flags,
                children: if simple { Vec::new() } else { children },
                template: simple.then_some(template),
            };
            let permanent = arbor_supervisor::Restart::Permanent;
            let pool = vec![
                worker("a", permanent),
                worker("b", permanent),
                worker("c", permanent),
                worker("d", permanent),
                worker("e", permanent),
                nested,
            ];
            TreeModel::new(config, pool)
        })
}

impl ReferenceStateMachine for Model {
    type State = TreeModel;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<TreeModel> {
        tree_config().boxed()
    }

    fn transitions(state: &TreeModel) -> BoxedStrategy<Op> {
        tree_op(&state.config)
    }

    fn apply(mut state: TreeModel, op: &Op) -> TreeModel {
        state.apply(op);
        state
    }
}

// ===== the system under test =====

/// The real tree, driven by the testkit's [`TreeDriver`] with its own copy
/// of the model; the reference machine above only generates.
struct SupervisorTest;

impl StateMachineTest for SupervisorTest {
    type SystemUnderTest = TreeDriver;
    type Reference = Model;

    fn init_test(model: &TreeModel) -> TreeDriver {
        TreeDriver::start(model.clone()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn apply(mut driver: TreeDriver, model: &TreeModel, op: Op) -> TreeDriver {
        if let Err(e) = driver.step(&op) {
            panic!("{e}");
        }
        // The driver's model and the reference saw the same operations.
        assert_eq!(
            format!("{:?}", driver.model().action),
            format!("{:?}", model.action)
        );
        driver
    }
}

prop_state_machine! {
    #![proptest_config(Config {
        cases: model_cases(32),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/model_supervisor.proptest-regressions",
        ))),
        max_shrink_iters: 4096,
        .. Config::default()
    })]

    #[test]
    fn supervisor_matches_model(sequential 1..30 => SupervisorTest);
}
