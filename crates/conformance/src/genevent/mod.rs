//! The gen_event oracle's language (docs/otp/genevent-oracle.md): run an
//! event-manager scenario on arbor's event manager
//! (`arbor_genevent`) through its public API and print the oracle's trace,
//! byte for byte. `docs/conformance.md` says how to run it and lists where
//! arbor differs from OTP 25.
//!
//! ```
//! let trace = arbor_conformance::genevent::run_text(
//!     "handler h\non h event boom crash oops\nstart\nadd h\nsync_notify boom\n",
//! )
//! .unwrap();
//! assert!(trace.contains(
//!     "> sync_notify boom\nh/gen=1 event boom -> crash oops\n\
//!      h/gen=1 terminate {error,{EXIT,{oops,_}}} -> return ok\n= ok\n"
//! ));
//! let err = arbor_conformance::genevent::run_text("handler h\nfrob\n").unwrap_err();
//! assert_eq!((err.code, err.message.as_str()), (2, "line 2: unknown op 'frob'"));
//! ```
//!
//! Files: `scenario.rs` (the parsed form), `parser.rs` (with `term.rs`),
//! `runner.rs` (the driver and the settle), `probe.rs` (the scripted
//! handler), `owner.rs`, `recorder.rs` (grouping), `render.rs` (arbor's
//! values as OTP's terms).

mod owner;
mod parser;
mod probe;
mod recorder;
mod render;
mod runner;
mod scenario;

pub use parser::parse;
pub use runner::{run, run_text};
pub use scenario::{
    Callback, Hid, Op, OpLine, Outcome, OwnerDecl, Rule, Scenario, Target, matches,
};
