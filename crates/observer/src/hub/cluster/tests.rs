use serde_json::json;

use super::*;
use crate::hub::Hub;
use crate::timeline::Change;

fn remote_event(seq: u64, key: &str) -> TimelineEvent {
    TimelineEvent {
        seq,
        at_ms: 1,
        node: Some("n2".into()),
        tree: "t".into(),
        key: key.into(),
        id: Some(key.into()),
        kind: EventKind::Start,
        pid: Some("<0.9>".parse().unwrap()),
        old_pid: None,
        reason: None,
    }
}

fn sample(events: Vec<TimelineEvent>, last_seq: u64) -> PeerSample {
    PeerSample {
        trees: json!([{ "label": "t", "root": null }]),
        events,
        last_seq,
    }
}

/// Invariant 1: a peer's events are renumbered here, each taken once even
/// when a sample repeats some.
#[test]
fn peer_events_are_renumbered_once_in_arrival_order() {
    let hub = Hub::new(4, false);
    hub.set_local_node("n1");
    hub.node_up("n2", 7, true);
    assert_eq!(hub.peer_since("n2", 7), Some(0));
    hub.peer_sample(
        "n2",
        7,
        sample(vec![remote_event(3, "a"), remote_event(5, "b")], 5),
    );
    assert_eq!(hub.peer_since("n2", 7), Some(5));
    hub.peer_sample(
        "n2",
        7,
        sample(vec![remote_event(5, "b"), remote_event(6, "c")], 6),
    );
    let kinds: Vec<(u64, Option<String>, EventKind, String)> = hub
        .timeline_since(0)
        .into_iter()
        .map(|e| (e.seq, e.node, e.kind, e.key))
        .collect();
    let n2 = Some("n2".to_string());
    assert_eq!(
        kinds,
        vec![
            (1, n2.clone(), EventKind::NodeUp, "n2".into()),
            (2, n2.clone(), EventKind::Start, "a".into()),
            (3, n2.clone(), EventKind::Start, "b".into()),
            (4, n2, EventKind::Start, "c".into()),
        ]
    );
}

/// Invariant 2: a node down shows no trees; a late answer of the old
/// incarnation is ignored; a new incarnation starts from sequence 0.
#[test]
fn a_down_node_shows_no_trees_and_late_samples_are_ignored() {
    let hub = Hub::new(4, false);
    hub.set_local_node("n1");
    hub.node_up("n2", 7, false);
    hub.peer_sample("n2", 7, sample(vec![remote_event(1, "a")], 1));
    hub.node_down("n2", 7, "shutdown");
    hub.peer_sample("n2", 7, sample(vec![remote_event(2, "b")], 2));
    let nodes = hub.nodes();
    assert_eq!(nodes[1]["node"], "n2");
    assert_eq!(nodes[1]["state"], "down");
    assert_eq!(nodes[1]["reason"], "shutdown");
    assert_eq!(nodes[1]["trees"], json!([]));
    let last = hub.timeline_since(0).pop().unwrap();
    assert_eq!(
        (last.kind, last.reason.as_deref()),
        (EventKind::NodeDown, Some("shutdown"))
    );
    assert_eq!(hub.peer_since("n2", 7), None);
    hub.node_up("n2", 8, true);
    assert_eq!(hub.peer_since("n2", 8), Some(0));
    assert_eq!(hub.nodes()[1]["state"], "up");
    assert_eq!(hub.nodes()[1]["incarnation"], 8);
}

/// Invariant 3: what a node hands its peers is its own events only.
#[test]
fn the_local_sample_holds_only_this_nodes_events() {
    let hub = Hub::new(4, false);
    hub.set_local_node("n1");
    hub.node_up("n2", 7, true);
    hub.peer_sample("n2", 7, sample(vec![remote_event(1, "a")], 1));
    hub.record(
        "mine",
        vec![Change {
            key: "mine/w".into(),
            id: Some("w".into()),
            kind: EventKind::Start,
            pid: Some("<0.3>".parse().unwrap()),
            old_pid: None,
            reason: None,
        }],
    );
    let s = hub.local_sample(0);
    let events = s["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["key"], "mine/w");
    assert_eq!(events[0]["node"], "n1");
    assert_eq!(events[0]["seq"], 3);
    assert_eq!(s["last_seq"], 3);
    assert_eq!(hub.local_sample(3)["events"], json!([]));
}
