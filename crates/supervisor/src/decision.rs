//! The restart decision: what a supervisor does when a child exits by
//! itself. A pure core, unit-tested without a runtime; the reference model
//! in arbor-testkit writes the same table again on purpose, so that a bug
//! here shows up as a difference between the two.

use arbor_process::ExitReason;

use crate::Restart;

/// What happens to a child that exited by itself.
///
/// # OTP
///
/// The table of docs/otp/supervisor.md#sup-child-exit (`supervisor:do_restart/3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitAction {
    /// Restart it (subject to the intensity check and the strategy).
    Restart,
    /// Keep the spec; the child is not running (pid `undefined`).
    Keep,
    /// Delete the spec (temporary children).
    Remove,
}

/// Decides by restart type and exit reason:
///
/// | restart | `normal` / `shutdown` / `{shutdown, _}` | any other reason |
/// |---|---|---|
/// | permanent | restart | restart |
/// | transient | keep | restart |
/// | temporary | remove | remove |
///
/// # Examples
///
/// ```
/// use arbor_process::ExitReason;
/// use arbor_supervisor::{ExitAction, Restart, exit_action};
///
/// assert_eq!(exit_action(Restart::Transient, &ExitReason::Shutdown), ExitAction::Keep);
/// assert_eq!(exit_action(Restart::Transient, &ExitReason::Killed), ExitAction::Restart);
/// ```
pub fn exit_action(restart: Restart, reason: &ExitReason) -> ExitAction {
    match restart {
        Restart::Permanent => ExitAction::Restart,
        Restart::Transient if reason.is_normal_for_transient() => ExitAction::Keep,
        Restart::Transient => ExitAction::Restart,
        Restart::Temporary => ExitAction::Remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifteen_combinations_of_the_restart_table() {
        let reasons = [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::shutdown_with("x"),
            ExitReason::custom("boom"),
            ExitReason::Killed,
        ];
        let expect = |restart, i: usize| match (restart, i) {
            (Restart::Permanent, _) => ExitAction::Restart,
            (Restart::Transient, 0..=2) => ExitAction::Keep,
            (Restart::Transient, _) => ExitAction::Restart,
            (Restart::Temporary, _) => ExitAction::Remove,
        };
        for restart in [Restart::Permanent, Restart::Transient, Restart::Temporary] {
            for (i, reason) in reasons.iter().enumerate() {
                assert_eq!(
                    exit_action(restart, reason),
                    expect(restart, i),
                    "{restart} {reason}"
                );
            }
        }
    }

    #[test]
    fn a_panic_is_abnormal_for_transient() {
        let r = ExitReason::Panic("p".into());
        assert_eq!(exit_action(Restart::Transient, &r), ExitAction::Restart);
    }
}
