//! [`Strategy`], the restart strategy supervisor flag.

use std::fmt;

/// How a supervisor reacts when a child has to be restarted.
///
/// # OTP
///
/// The `strategy` supervisor flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Strategy {
    /// Restart only the child that exited.
    #[default]
    OneForOne,
    /// Stop all other children (reverse start order), then start every
    /// child again (start order).
    OneForAll,
    /// Stop the children started after the exited one (reverse start
    /// order), then start it and them again (start order).
    RestForOne,
    /// One child template; children are added dynamically with
    /// [`SimpleSupervisorRef::start_child`](crate::SimpleSupervisorRef::start_child)
    /// and restarted one by one.
    SimpleOneForOne,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::OneForOne => "one_for_one",
            Strategy::OneForAll => "one_for_all",
            Strategy::RestForOne => "rest_for_one",
            Strategy::SimpleOneForOne => "simple_one_for_one",
        })
    }
}
