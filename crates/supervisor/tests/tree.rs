//! The tree snapshot: text and JSON.

mod common;

use std::time::Duration;

use arbor_process::Process;
use arbor_process::{ExitReason, StartOpts};
use arbor_supervisor::{ChildState, Restart, Strategy, SupFlags, Supervisor};
use common::{Log, boom, crash, probe};

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
    let ids: Vec<_> = tree
        .children
        .iter()
        .map(|c| c.id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["inner", "w"]);
    let inner = tree.find("inner").unwrap();
    assert_eq!(inner.strategy, Some(Strategy::RestForOne));
    assert_eq!(inner.restarts_in_window, Some(0));
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
    let json: serde_json::Value = serde_json::from_str(&tree.to_json()).unwrap();
    assert_eq!(json["children"][0]["id"], "inner");
    assert_eq!(json["children"][0]["strategy"], "rest_for_one");
    assert_eq!(json["children"][0]["children"][1]["restart"], "permanent");
    root.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}
