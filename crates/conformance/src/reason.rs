//! arbor values → oracle terms (docs/otp/oracle.md#oracle-terms): exit
//! reasons, and the errors of a supervisor's start, which are also the
//! failed supervisor's exit reason. The table of every error and its term
//! is in docs/conformance.md#error-terms.

use arbor_process::{ExitReason, StartError};
use arbor_supervisor::{AutoShutdown, FlagsError, SpecError, Strategy, SupStartError};

use crate::scenario::Reason;
use crate::term::Term;

/// The exit reason a scenario names.
pub(crate) fn scenario_reason(r: &Reason) -> ExitReason {
    match r {
        Reason::Normal => ExitReason::Normal,
        Reason::Shutdown => ExitReason::Shutdown,
        Reason::ShutdownWith(t) => ExitReason::shutdown_with(t.as_str()),
        Reason::Atom(a) if a == "kill" => ExitReason::Kill,
        Reason::Atom(a) => ExitReason::custom(a.as_str()),
    }
}

/// An atom-safe rendering of free text (no spaces or separators).
pub(crate) fn atomish(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn a(s: &str) -> Term {
    Term::atom(s)
}

/// An exit reason as OTP would print it.
///
/// `Panic(m)` is a raised error caught by the supervisor: `{EXIT,{m,_}}`
/// (OTP's `catch` form, stack normalized away).
pub(crate) fn reason_term(r: &ExitReason) -> Term {
    match r {
        ExitReason::Normal => a("normal"),
        ExitReason::Shutdown => a("shutdown"),
        ExitReason::ShutdownWith(t) => Term::tuple([a("shutdown"), a(t)]),
        ExitReason::Killed => a("killed"),
        ExitReason::Kill => a("kill"),
        ExitReason::NoProc => a("noproc"),
        ExitReason::Custom(s) => a(s),
        ExitReason::Panic(m) => Term::tuple([a("EXIT"), Term::tuple([a(&atomish(m)), Term::Wild])]),
        ExitReason::Error(e) => error_reason(&**e)
            .unwrap_or_else(|| Term::tuple([a("error"), a(&atomish(&e.to_string()))])),
    }
}

/// The errors arbor carries inside [`ExitReason::Error`] that have an OTP
/// shape: a supervisor child's failed start (`SupStartError`), and a
/// server's start error.
fn error_reason(e: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<Term> {
    if let Some(e) = e.downcast_ref::<SupStartError>() {
        return Some(sup_start_error_term(e));
    }
    if let Some(e) = e.downcast_ref::<StartError>() {
        return Some(start_error_term(e));
    }
    if let Some(e) = e.downcast_ref::<FlagsError>() {
        return Some(flags_error_term(e));
    }
    e.downcast_ref::<SpecError>().map(spec_error_term)
}

/// A server's start error, as `gen_server:start_link` returns it without
/// the `{error,_}`: `{already_started,Pid}`, or the reason of the failed
/// `init`.
pub(crate) fn start_error_term(e: &StartError) -> Term {
    match e {
        StartError::AlreadyStarted(p) => Term::tuple([a("already_started"), Term::Pid(*p)]),
        StartError::Init(r) | StartError::Exited(r) => reason_term(r),
    }
}

/// The reason of a failed `start_link` (inside `{error,_}`), which is also
/// the failed supervisor's exit reason.
pub(crate) fn sup_start_error_term(e: &SupStartError) -> Term {
    match e {
        SupStartError::FailedToStartChild { id, reason } => Term::tuple([
            a("shutdown"),
            Term::tuple([
                a("failed_to_start_child"),
                a(id.as_str()),
                reason_term(reason),
            ]),
        ]),
        SupStartError::AlreadyStarted(p) => Term::tuple([a("already_started"), Term::Pid(*p)]),
        SupStartError::Exited(r) => reason_term(r),
        SupStartError::Flags(f) => Term::tuple([a("supervisor_data"), flags_error_term(f)]),
        SupStartError::Spec(e) => Term::tuple([a("start_spec"), spec_error_term(e)]),
        // OTP prints the specs; each is a map, which the oracle prints `_`.
        SupStartError::BadStartSpec(n) => {
            Term::tuple([a("bad_start_spec"), Term::List(vec![Term::Wild; *n])])
        }
    }
}

fn strategy_atom(s: Strategy) -> Term {
    a(match s {
        Strategy::OneForOne => "one_for_one",
        Strategy::OneForAll => "one_for_all",
        Strategy::RestForOne => "rest_for_one",
        Strategy::SimpleOneForOne => "simple_one_for_one",
    })
}

fn auto_shutdown_atom(s: AutoShutdown) -> Term {
    a(match s {
        AutoShutdown::Never => "never",
        AutoShutdown::AnySignificant => "any_significant",
        AutoShutdown::AllSignificant => "all_significant",
    })
}

/// OTP's `check_flags` error (inside `{supervisor_data,_}`).
pub(crate) fn flags_error_term(e: &FlagsError) -> Term {
    match e {
        // OTP's period is whole seconds; arbor rejects only zero.
        FlagsError::InvalidPeriod(d) => Term::tuple([
            a("invalid_period"),
            Term::Int(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        ]),
        // OTP 26+; OTP 25 accepts the combination.
        FlagsError::BadCombination {
            auto_shutdown,
            strategy,
        } => Term::tuple([
            a("bad_combination"),
            Term::List(vec![
                Term::tuple([a("auto_shutdown"), auto_shutdown_atom(*auto_shutdown)]),
                Term::tuple([a("strategy"), strategy_atom(*strategy)]),
            ]),
        ]),
    }
}

/// OTP's `check_childspec` error (inside `{start_spec,_}` from
/// `start_link`, `{error,_}` from `start_child`).
pub(crate) fn spec_error_term(e: &SpecError) -> Term {
    let combination = |k: &str, v: &str| {
        Term::tuple([
            a("bad_combination"),
            Term::List(vec![
                Term::tuple([a(k), a(v)]),
                Term::tuple([a("significant"), a("true")]),
            ]),
        ])
    };
    match e {
        SpecError::MissingId => a("missing_id"),
        SpecError::DuplicateChildName(id) => {
            Term::tuple([a("duplicate_child_name"), a(id.as_str())])
        }
        SpecError::SignificantWithoutAutoShutdown(_) => combination("auto_shutdown", "never"),
        SpecError::SignificantPermanent(_) => combination("restart", "permanent"),
        // arbor only: OTP has no backoff, nor arguments that cannot be
        // cloned. The `{invalid_..,_}` / `{reason,Id}` shapes of OTP's own.
        SpecError::InvalidBackoff(id) => Term::tuple([a("invalid_backoff"), a(id.as_str())]),
        SpecError::TemporaryOnly(id) => Term::tuple([a("temporary_only"), a(id.as_str())]),
    }
}

#[cfg(test)]
mod tests;
