//! OTP conformance for arbor: run the OTP oracle's supervision scenarios on
//! arbor's supervisor, and the gen_event oracle's event-manager scenarios
//! on arbor's event manager ([`genevent`]), and print each oracle's trace,
//! byte for byte.
//!
//! The scenario language and the trace format are specified by the oracle's
//! README (`docs/otp/oracle.md#oracle-scenarios`); `docs/conformance.md` says how to
//! run the runner, the golden tests and the differential tests, and lists
//! where arbor differs from OTP 25.
//!
//! ```
//! let trace = arbor_conformance::run_text(
//!     "sup root strategy=one_for_all\nchild root a\nchild root b\nstart root\ncrash a boom\n",
//! )
//! .unwrap();
//! assert!(trace.contains("> crash a boom\nstop a gen=1 reason=boom\nstop b gen=1 reason=shutdown\n"));
//! assert!(trace.ends_with("tree root id=a child=a/gen=2 type=worker\n"));
//!
//! let err = arbor_conformance::run_text("sup root\nfrob\n").unwrap_err();
//! assert_eq!((err.code, err.message.as_str()), (2, "line 2: unknown op 'frob'"));
//! ```
//!
//! # Which item do I need?
//!
//! - Run a scenario on arbor: [`run_text`] (or [`parse`] then [`run`]) →
//!   the trace, or a [`RunError`] with the oracle's exit status.
//! - Run a gen_event scenario on arbor: [`genevent::run_text`] (or
//!   [`genevent::parse`] then [`genevent::run`]), same results.
//! - Compare two traces readably: [`line_diff`].
//! - Print terms like the oracle: [`Term`].
//!
//! # Guarantees
//!
//! - A run is deterministic: one current-thread runtime with paused time;
//!   timers fire only when every task is idle, so no scenario sleeps for
//!   real.
//! - Lines are recorded in causal order by one recorder process (deaths
//!   through monitors, starts through synchronous reports from inside the
//!   supervisor), as the oracle records them.
#![doc(test(attr(deny(warnings))))]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod diff;
pub mod genevent;
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
