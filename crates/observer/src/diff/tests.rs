use super::*;

fn pid(n: u64) -> Pid {
    format!("<0.{n}>").parse().unwrap()
}

fn node(key: &str, pid: Option<Pid>, state: NodeState, children: Vec<NodeView>) -> NodeView {
    NodeView {
        key: key.into(),
        id: key.rsplit('/').next().map(String::from),
        pid,
        name: None,
        state,
        kind: "worker".into(),
        strategy: None,
        restart: None,
        restarts_in_window: None,
        intensity: None,
        period_ms: None,
        children,
    }
}

fn running(key: &str, n: u64) -> NodeView {
    node(key, Some(pid(n)), NodeState::Running, vec![])
}

fn kinds(changes: &[Change]) -> Vec<(String, EventKind, Option<Pid>, Option<Pid>)> {
    changes
        .iter()
        .map(|c| (c.key.clone(), c.kind, c.pid, c.old_pid))
        .collect()
}

#[test]
fn first_sample_starts_every_running_node_depth_first() {
    let mut slots = Slots::default();
    let tree = node(
        "t",
        Some(pid(1)),
        NodeState::Running,
        vec![running("t/a", 2), running("t/b", 3)],
    );
    assert_eq!(
        kinds(&slots.diff(Some(&tree))),
        [
            ("t".into(), EventKind::Start, Some(pid(1)), None),
            ("t/a".into(), EventKind::Start, Some(pid(2)), None),
            ("t/b".into(), EventKind::Start, Some(pid(3)), None),
        ]
    );
    assert!(slots.diff(Some(&tree)).is_empty(), "nothing changed");
}

#[test]
fn new_pid_in_a_slot_is_a_restart_even_after_a_gap() {
    let mut slots = Slots::default();
    let with = |child| node("t", Some(pid(1)), NodeState::Running, vec![child]);
    slots.diff(Some(&with(running("t/a", 2))));
    assert_eq!(
        kinds(&slots.diff(Some(&with(running("t/a", 5))))),
        [("t/a".into(), EventKind::Restart, Some(pid(5)), Some(pid(2)))]
    );
    let restarting = node("t/a", None, NodeState::Restarting, vec![]);
    assert_eq!(
        kinds(&slots.diff(Some(&with(restarting.clone())))),
        [("t/a".into(), EventKind::Restarting, None, Some(pid(5)))]
    );
    assert!(
        slots.diff(Some(&with(restarting))).is_empty(),
        "still restarting is not news"
    );
    assert_eq!(
        kinds(&slots.diff(Some(&with(running("t/a", 9))))),
        [("t/a".into(), EventKind::Restart, Some(pid(9)), Some(pid(5)))]
    );
}

#[test]
fn vanished_slot_is_forgotten_and_comes_back_as_a_start() {
    let mut slots = Slots::default();
    let root = |children| node("t", Some(pid(1)), NodeState::Running, children);
    slots.diff(Some(&root(vec![running("t/a", 2)])));
    assert!(slots.diff(Some(&root(vec![]))).is_empty());
    assert_eq!(
        kinds(&slots.diff(Some(&root(vec![running("t/a", 3)])))),
        [("t/a".into(), EventKind::Start, Some(pid(3)), None)]
    );
    assert!(slots.diff(None).is_empty(), "a gone tree reports no change");
}
