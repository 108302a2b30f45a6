use crate::call::RemoteCallError;
use crate::wire::{NodeId, WireExitReason};

#[test]
fn every_call_error_has_its_own_kind_label() {
    let cases = [
        (
            RemoteCallError::NoConnection {
                node: NodeId::new("n2"),
            },
            "noconnection",
        ),
        (RemoteCallError::NoProcess, "noproc"),
        (RemoteCallError::Timeout, "timeout"),
        (
            RemoteCallError::Exited(WireExitReason::Custom("x".into())),
            "exited",
        ),
        (
            RemoteCallError::Decode {
                expected: "a".into(),
                got: "b".into(),
            },
            "decode",
        ),
        (RemoteCallError::Encode("e".into()), "encode"),
        (
            RemoteCallError::PayloadTooLarge { size: 2, max: 1 },
            "payload_too_large",
        ),
    ];
    for (error, label) in cases {
        assert_eq!(error.kind(), label, "{error:?}");
    }
}
