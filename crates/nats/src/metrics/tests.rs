use super::*;
use crate::wire::{NodeId, WireExitReason};

#[test]
fn every_call_error_has_its_own_outcome_label() {
    let cases: Vec<(Result<(), RemoteCallError>, &str)> = vec![
        (Ok(()), "ok"),
        (
            Err(RemoteCallError::NoConnection {
                node: NodeId::new("n2"),
            }),
            "noconnection",
        ),
        (Err(RemoteCallError::NoProcess), "noproc"),
        (Err(RemoteCallError::Timeout), "timeout"),
        (
            Err(RemoteCallError::Exited(WireExitReason::Custom("x".into()))),
            "exited",
        ),
        (
            Err(RemoteCallError::Decode {
                expected: "a".into(),
                got: "b".into(),
            }),
            "decode",
        ),
        (Err(RemoteCallError::Encode("e".into())), "encode"),
        (
            Err(RemoteCallError::PayloadTooLarge { size: 2, max: 1 }),
            "payload_too_large",
        ),
    ];
    for (result, label) in cases {
        assert_eq!(outcome(&result), label, "{result:?}");
    }
}
