//! The tree snapshot: text and (with the `serde` feature) JSON.

mod support;

use std::time::Duration;

use arbor_process::Process;
use arbor_process::{ExitReason, StartOpts};
use arbor_supervisor::{ChildState, Restart, Strategy, SupFlags, Supervisor};
use support::{Log, boom, crash, probe};

/// No OTP counterpart (arbor's `tree`): every node with its strategy, restart type and restarts.
#[tokio::test]
async fn tree_snapshot_lists_every_node_with_strategy_restart_type_and_restarts() {
    let log = Log::default();
    let inner = Supervisor::new(SupFlags::new(Strategy::RestForOne).intensity(5))
        .child(probe(&log, "x"))
        .child(probe(&log, "y").restart(Restart::Transient));
    let root = Supervisor::one_for_one()
        .intensity(5)
        .child(probe(&log, "w"))
        .child(inner.into_child_spec("inner"))
        .start_opts(StartOpts::default().name("tree_rs_root"))
        .await
        .unwrap();
    crash(&root, "w", boom()).await;
    let tree = root.tree().await.unwrap();
    assert_eq!(tree.name.as_deref(), Some("tree_rs_root"));
    assert_eq!(tree.restarts_in_window, Some(1));
    assert_eq!(
        (tree.intensity, tree.period),
        (Some(5), Some(Duration::from_secs(5)))
    );
    let ids: Vec<_> = tree
        .children
        .iter()
        .map(|c| c.id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["inner", "w"]);
    let inner = tree.find("inner").unwrap();
    assert_eq!(inner.strategy, Some(Strategy::RestForOne));
    assert_eq!(inner.restarts_in_window, Some(0));
    assert_eq!(inner.intensity, Some(5));
    assert_eq!(
        tree.find("x").unwrap().intensity,
        None,
        "a worker has no window"
    );
    assert_eq!(tree.find("y").unwrap().restart, Some(Restart::Transient));
    assert!(matches!(
        tree.find("x").unwrap().state,
        ChildState::Running(_)
    ));

    let text = tree.to_string();
    let shape: Vec<String> = text
        .lines()
        .map(|l| {
            // Drop pids, which differ per run.
            l.split_whitespace()
                .filter(|w| !w.starts_with('<'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        shape,
        [
            "tree_rs_root one_for_one (1 restart in window)",
            "├─ inner rest_for_one permanent (0 restarts in window)",
            "│ ├─ y worker transient",
            "│ └─ x worker permanent",
            "└─ w worker permanent",
        ]
    );
    #[cfg(feature = "serde")]
    {
        let json: serde_json::Value = serde_json::from_str(&tree.to_json()).unwrap();
        assert_eq!(json["children"][0]["id"], "inner");
        assert_eq!(json["children"][0]["strategy"], "rest_for_one");
        assert_eq!(json["children"][0]["children"][1]["restart"], "permanent");
    }
    root.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}

/// No OTP counterpart (arbor's `tree` as JSON, `serde` feature): the shape is stable.
///
/// The JSON of a snapshot keeps its shape: field names, snake_case enums,
/// ids and states as strings, `null` for what a node lacks.
#[cfg(feature = "serde")]
#[tokio::test]
async fn tree_json_has_the_documented_shape() {
    use arbor_supervisor::{
        AutoShutdown, Backoff, ChildCounts, ChildInfo, ChildType, Shutdown, TreeNode,
    };
    use serde_json::json;
    use support::Probe;

    let log = Log::default();
    let root = Supervisor::one_for_one()
        .child(probe(&log, "a"))
        .child(
            Probe::new(&log, "b")
                .ignore()
                .spec()
                .restart(Restart::Transient),
        )
        .start_opts(StartOpts::default().name("tree_rs_json"))
        .await
        .unwrap();
    let tree = root.tree().await.unwrap();
    let a = tree.find("a").unwrap().pid().unwrap();
    let value: serde_json::Value = serde_json::from_str(&tree.to_json()).unwrap();
    assert_eq!(
        value,
        json!({
            "id": null,
            "name": "tree_rs_json",
            "state": root.pid().to_string(),
            "child_type": "supervisor",
            "restart": null,
            "strategy": "one_for_one",
            "restarts_in_window": 0,
            "intensity": 1,
            "period_ms": 5000,
            "children": [
                {
                    "id": "b",
                    "name": null,
                    "state": "undefined",
                    "child_type": "worker",
                    "restart": "transient",
                    "strategy": null,
                    "restarts_in_window": null,
                    "intensity": null,
                    "period_ms": null,
                    "children": [],
                },
                {
                    "id": "a",
                    "name": null,
                    "state": a.to_string(),
                    "child_type": "worker",
                    "restart": "permanent",
                    "strategy": null,
                    "restarts_in_window": null,
                    "intensity": null,
                    "period_ms": null,
                    "children": [],
                },
            ],
        })
    );
    root.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();

    let leaf = TreeNode {
        id: Some("r".into()),
        name: None,
        state: ChildState::Restarting,
        child_type: ChildType::Worker,
        restart: Some(Restart::Temporary),
        strategy: Some(Strategy::SimpleOneForOne),
        restarts_in_window: Some(2),
        intensity: Some(3),
        period: Some(Duration::from_millis(1500)),
        children: Vec::new(),
    };
    assert_eq!(
        serde_json::to_value(&leaf).unwrap(),
        json!({
            "id": "r", "name": null, "state": "restarting", "child_type": "worker",
            "restart": "temporary", "strategy": "simple_one_for_one",
            "restarts_in_window": 2, "intensity": 3, "period_ms": 1500, "children": [],
        })
    );
    let info = ChildInfo {
        id: None,
        state: ChildState::Undefined,
        child_type: ChildType::Supervisor,
    };
    assert_eq!(
        serde_json::to_value(&info).unwrap(),
        json!({"id": null, "state": "undefined", "child_type": "supervisor"})
    );
    let counts = ChildCounts {
        specs: 3,
        active: 2,
        supervisors: 1,
        workers: 2,
    };
    assert_eq!(
        serde_json::to_value(counts).unwrap(),
        json!({"specs": 3, "active": 2, "supervisors": 1, "workers": 2})
    );
    assert_eq!(
        serde_json::to_value([
            AutoShutdown::Never,
            AutoShutdown::AnySignificant,
            AutoShutdown::AllSignificant
        ])
        .unwrap(),
        json!(["never", "any_significant", "all_significant"])
    );
    assert_eq!(
        serde_json::to_value([
            Shutdown::BrutalKill,
            Shutdown::Timeout(Duration::from_millis(1500)),
            Shutdown::Infinity
        ])
        .unwrap(),
        json!(["brutal_kill", {"timeout": {"secs": 1, "nanos": 500_000_000}}, "infinity"])
    );
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_secs(1),
        multiplier: 2,
        reset_after: Duration::from_secs(5),
    };
    assert_eq!(
        serde_json::to_value(backoff).unwrap(),
        json!({
            "initial": {"secs": 0, "nanos": 10_000_000},
            "max": {"secs": 1, "nanos": 0},
            "multiplier": 2,
            "reset_after": {"secs": 5, "nanos": 0},
        })
    );
}
