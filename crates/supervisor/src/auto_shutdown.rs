//! [`AutoShutdown`], the auto-shutdown supervisor flag.

use std::fmt;

/// When a supervisor shuts itself down because *significant* children
/// terminated (see [`ChildSpec::significant`](crate::ChildSpec::significant)).
///
/// # OTP
///
/// The `auto_shutdown` supervisor flag (OTP 24+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum AutoShutdown {
    /// Never; significant children are not allowed.
    #[default]
    Never,
    /// As soon as any significant child terminates by itself.
    AnySignificant,
    /// When no significant child is left running.
    AllSignificant,
}

impl fmt::Display for AutoShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AutoShutdown::Never => "never",
            AutoShutdown::AnySignificant => "any_significant",
            AutoShutdown::AllSignificant => "all_significant",
        })
    }
}
