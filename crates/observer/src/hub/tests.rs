use super::*;

fn exit(key: &str, pid: Pid, reason: &str) -> Change {
    Change {
        key: key.into(),
        id: Some(key.into()),
        kind: EventKind::Exit,
        pid: Some(pid),
        old_pid: None,
        reason: Some(reason.into()),
    }
}

/// Invariant 1: a client that reads nothing never holds the publisher;
/// what it missed is reported as lagged, to be counted.
#[tokio::test]
async fn a_client_that_never_reads_does_not_block_publishing_and_its_loss_is_counted() {
    let hub = Hub::new(4, false);
    let mut stuck = hub.subscribe();
    let pid: Pid = "<0.7>".parse().unwrap();
    for n in 0..100 {
        hub.record("t", vec![exit("t/a", pid, &format!("r{n}"))]);
    }
    match stuck.recv().await {
        Err(broadcast::error::RecvError::Lagged(n)) => {
            assert_eq!(n, 96, "the ring keeps the newest 4");
            hub.count_dropped(n);
        }
        other => panic!("expected a lag, got {other:?}"),
    }
    assert_eq!(hub.dropped(), 96);
    let next = stuck.recv().await.unwrap();
    assert!(next.data.contains("\"r96\""), "{}", next.data);
    assert_eq!(hub.timeline_since(98).len(), 2);
    assert_eq!(hub.timeline_since(0).first().map(|e| e.seq), Some(1));
}

#[test]
fn an_exit_is_remembered_for_its_pid_and_its_slot() {
    let hub = Hub::new(4, false);
    let pid: Pid = "<0.9>".parse().unwrap();
    hub.record("t", vec![exit("t/a", pid, "killed")]);
    let rec = hub.pid_record(pid).unwrap();
    assert_eq!((rec.tree.as_str(), rec.key.as_str()), ("t", "t/a"));
    assert_eq!(rec.exit_reason.as_deref(), Some("killed"));
    assert_eq!(hub.slot_exit("t/a").as_deref(), Some("killed"));
    assert_eq!(hub.slot_exit("t/b"), None);
}

#[test]
fn the_timeline_keeps_the_newest_entries() {
    let hub = Hub::new(4, false);
    let pid: Pid = "<0.9>".parse().unwrap();
    for _ in 0..TIMELINE_KEPT + 5 {
        hub.record("t", vec![exit("t/a", pid, "x")]);
    }
    let all = hub.timeline_since(0);
    assert_eq!(all.len(), TIMELINE_KEPT);
    assert_eq!(all[0].seq, 6);
}
