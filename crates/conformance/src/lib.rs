//! OTP conformance for arbor: run the OTP oracle's supervision scenarios on
//! arbor's supervisor and print the oracle's trace, byte for byte.
//!
//! The scenario language and the trace format are specified by the oracle's
//! README (`shared/otp-oracle/README.md`); `docs/conformance.md` says how to
//! run the runner, the golden tests and the differential tests.
//!
//! ```
//! let scn = arbor_conformance::parse("sup root\nchild root a\nstart root\n").unwrap();
//! assert_eq!(scn.ops[0].echo, "start root");
//! assert!(arbor_conformance::parse("sup Root\n").is_err());
//! ```
//!
//! # Which item do I need?
//!
//! - Parse a scenario: [`parse`] → [`Scenario`] or [`ParseError`].
//! - Print terms like the oracle: [`Term`].
//! - Compare two traces readably: [`line_diff`].
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod diff;
mod probe;
mod reason;
mod recorder;
mod result;
mod runner;
pub mod scenario;
mod term;
mod world;

pub use diff::line_diff;
pub use runner::{RunError, run, run_text};
pub use scenario::{ParseError, Scenario, parse};
pub use term::{NoNames, PidNames, Term};
