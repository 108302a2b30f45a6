use super::*;

#[test]
fn reasons_render_like_erlang_terms() {
    let cases = [
        (RemoveReason::Deleted, "deleted"),
        (RemoveReason::Removed, "remove_handler"),
        (
            RemoveReason::Failed(HandlerError::msg("bad")),
            "{error,\"bad\"}",
        ),
        (
            RemoveReason::Panicked(Arc::from("boom")),
            "{panic,\"boom\"}",
        ),
        (
            RemoveReason::Swapped {
                to: HandlerId::new("h2"),
            },
            "{swapped,h2}",
        ),
        (RemoveReason::Stop, "stop"),
        (
            RemoveReason::OwnerExited(ExitReason::Killed),
            "{stop,killed}",
        ),
    ];
    for (reason, text) in cases {
        assert_eq!(reason.to_string(), text);
    }
}

#[test]
fn callback_result_fits_in_two_registers() {
    use crate::Step;
    assert_eq!(std::mem::size_of::<HandlerError>(), 8);
    assert_eq!(std::mem::size_of::<Result<Step<u64>, HandlerError>>(), 16);
}

#[test]
fn only_failures_are_crashes() {
    assert!(RemoveReason::Failed(HandlerError::msg("x")).is_crash());
    assert!(RemoveReason::Panicked(Arc::from("x")).is_crash());
    assert!(!RemoveReason::Removed.is_crash());
    assert!(!RemoveReason::OwnerExited(ExitReason::custom("x")).is_crash());
}

#[test]
fn handler_errors_compare_by_message() {
    #[derive(Debug)]
    struct Io;
    impl fmt::Display for Io {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("disk full")
        }
    }
    impl Error for Io {}
    assert_eq!(HandlerError::new(Io), HandlerError::msg("disk full"));
    assert_ne!(HandlerError::msg("a"), HandlerError::msg("b"));
    assert_eq!(
        format!("{:?}", HandlerError::msg("a")),
        "HandlerError(\"a\")"
    );
}
