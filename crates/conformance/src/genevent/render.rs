//! arbor's event-manager values → the oracle's terms (docs/otp/genevent-oracle.md#gev-args):
//! exit reasons, removal reasons, owner notices and API errors. Pure; the
//! table is in docs/conformance.md#genevent-terms.

use std::fmt;

use arbor_genevent::{
    AddError, HandlerCallError, HandlerError, RemoveError, RemoveReason, SwapError,
};
use arbor_process::{CallError, ExitReason, StopError};

use super::parser::parse_term;
use crate::term::Term;

fn a(s: &str) -> Term {
    Term::atom(s)
}

fn exit_of(t: Term) -> Term {
    Term::tuple([a("EXIT"), t])
}

/// A scenario's exit reason that no [`ExitReason`] variant names (any
/// compound term but `{shutdown,Atom}`): carried as an error value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TermReason(pub(crate) Term);

impl fmt::Display for TermReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for TermReason {}

/// The value a handler returns with `fail V`: the callback failed with
/// this error (OTP: a bad return value, printed as itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadReturn(pub(crate) Term);

impl fmt::Display for BadReturn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for BadReturn {}

/// The error a handler returns with `exit T` (OTP: `exit(T)` inside the
/// callback, caught as `{'EXIT',T}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExitValue(pub(crate) Term);

impl fmt::Display for ExitValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for ExitValue {}

/// The exit reason a scenario term names.
pub(crate) fn exit_reason(t: &Term) -> ExitReason {
    match t {
        Term::Atom(s) => match s.as_str() {
            "normal" => ExitReason::Normal,
            "shutdown" => ExitReason::Shutdown,
            "kill" => ExitReason::Kill,
            "killed" => ExitReason::Killed,
            "noproc" => ExitReason::NoProc,
            other => ExitReason::custom(other),
        },
        Term::Tuple(items) => match items.as_slice() {
            [Term::Atom(s), Term::Atom(d)] if s == "shutdown" => {
                ExitReason::shutdown_with(d.as_str())
            }
            _ => ExitReason::Error(std::sync::Arc::new(TermReason(t.clone()))),
        },
        _ => ExitReason::Error(std::sync::Arc::new(TermReason(t.clone()))),
    }
}

/// An exit reason as the oracle prints it. A panic is a raised error:
/// `{EXIT,{R,_}}`.
pub(crate) fn reason_term(r: &ExitReason) -> Term {
    match r {
        ExitReason::Normal => a("normal"),
        ExitReason::Shutdown => a("shutdown"),
        ExitReason::ShutdownWith(d) => Term::tuple([a("shutdown"), a(d)]),
        ExitReason::Killed => a("killed"),
        ExitReason::Kill => a("kill"),
        ExitReason::NoProc => a("noproc"),
        ExitReason::Custom(s) => a(s),
        ExitReason::Panic(m) => panic_term(m),
        ExitReason::Error(e) => match e.downcast_ref::<TermReason>() {
            Some(t) => t.0.clone(),
            None => Term::tuple([a("error"), a(&e.to_string())]),
        },
    }
}

/// A panic with message `m` as OTP's caught raise: `{EXIT,{M,_}}`. The
/// runner's handlers panic with a term's text, which reads back as it.
pub(crate) fn panic_term(m: &str) -> Term {
    let what = parse_term(m, false).unwrap_or_else(|| a(m));
    exit_of(Term::tuple([what, Term::Wild]))
}

/// What a callback's error is as a term: `fail V` → `V`, `exit T` →
/// `{EXIT,T}`, a failed call to its own manager → `{EXIT,calling_self}`.
pub(crate) fn failure_term(e: &HandlerError) -> Term {
    let inner = e.inner();
    if let Some(b) = inner.downcast_ref::<BadReturn>() {
        return b.0.clone();
    }
    if let Some(x) = inner.downcast_ref::<ExitValue>() {
        return exit_of(x.0.clone());
    }
    if let Some(c) = inner.downcast_ref::<CallError>() {
        return call_error_term(c);
    }
    Term::tuple([a("error"), a(&e.to_string())])
}

/// How a removal reason makes a handler fail, as a term (`RemoveReason::
/// Failed`/`Panicked`), else `None`.
fn crash_term(r: &RemoveReason) -> Option<Term> {
    match r {
        RemoveReason::Failed(e) => Some(failure_term(e)),
        RemoveReason::Panicked(m) => Some(panic_term(m)),
        _ => None,
    }
}

/// `terminate`'s argument (docs/otp/genevent-oracle.md#gev-args).
pub(crate) fn terminate_arg(r: &RemoveReason) -> Term {
    match r {
        RemoveReason::Deleted => a("delete"),
        RemoveReason::Removed => a("remove_handler"),
        RemoveReason::Swapped { .. } => a("swap"),
        RemoveReason::Stop => a("stop"),
        RemoveReason::OwnerExited(x) => Term::tuple([a("stop"), reason_term(x)]),
        other => Term::tuple([
            a("error"),
            crash_term(other).unwrap_or_else(|| a("unknown")),
        ]),
    }
}

/// The reason in an owner's `{gen_event_EXIT,H,Reason}`; `new_owner` is
/// the new handler's owner after a swap.
pub(crate) fn notice_reason(r: &RemoveReason, new_owner: &str) -> Term {
    match r {
        RemoveReason::Deleted | RemoveReason::Removed => a("normal"),
        RemoveReason::Swapped { to } => {
            Term::tuple([a("swapped"), a(&to.to_string()), a(new_owner)])
        }
        RemoveReason::Stop => a("shutdown"),
        RemoveReason::OwnerExited(x) => Term::tuple([a("stop"), reason_term(x)]),
        other => crash_term(other).unwrap_or_else(|| a("unknown")),
    }
}

/// A failed call to the manager, as the oracle's `{EXIT,R}`.
pub(crate) fn call_error_term(c: &CallError) -> Term {
    exit_of(match c {
        CallError::NoProcess => a("noproc"),
        CallError::Timeout => a("timeout"),
        CallError::CallingSelf => a("calling_self"),
        CallError::Exited(r) => reason_term(r),
    })
}

/// `add`'s result for an error.
pub(crate) fn add_error_term(e: &AddError) -> Term {
    match e {
        AddError::Init(e) => failure_term(e),
        AddError::InitPanicked(m) => panic_term(m),
        // arbor only: OTP installs a duplicate.
        AddError::AlreadyPresent(_) => Term::error(a("already_present")),
        AddError::NotAProcess => Term::error(a("not_a_process")),
        AddError::Manager(c) => call_error_term(c),
    }
}

/// `remove`'s result for an error.
pub(crate) fn remove_error_term(e: &RemoveError) -> Term {
    match e {
        RemoveError::NotFound => Term::error(a("module_not_found")),
        RemoveError::TerminatePanicked(m) => panic_term(m),
        RemoveError::Manager(c) => call_error_term(c),
    }
}

/// `swap`'s result for an error.
pub(crate) fn swap_error_term(e: &SwapError) -> Term {
    match e {
        SwapError::Init(e) => Term::error(failure_term(e)),
        SwapError::InitPanicked(m) => Term::error(panic_term(m)),
        SwapError::AlreadyPresent(_) => Term::error(a("already_present")),
        SwapError::NotAProcess => Term::error(a("not_a_process")),
        SwapError::Manager(c) => call_error_term(c),
    }
}

/// `call`'s result for an error.
pub(crate) fn handler_call_error_term(e: &HandlerCallError) -> Term {
    match e {
        HandlerCallError::NotFound => Term::error(a("bad_module")),
        HandlerCallError::Failed(r) => Term::error(crash_term(r).unwrap_or_else(|| a("unknown"))),
        HandlerCallError::WrongReplyType => Term::error(a("wrong_reply_type")),
        HandlerCallError::Manager(c) => call_error_term(c),
    }
}

/// `stop`'s result for an error.
pub(crate) fn stop_error_term(e: &StopError) -> Term {
    match e {
        StopError::NoProcess => exit_of(a("noproc")),
        StopError::Timeout => exit_of(a("timeout")),
        StopError::CallingSelf => exit_of(a("calling_self")),
        StopError::Exited(r) => exit_of(reason_term(r)),
    }
}

#[cfg(test)]
mod tests;
