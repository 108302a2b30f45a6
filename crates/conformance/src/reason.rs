//! arbor values → oracle terms (docs/otp/oracle.md#oracle-terms).

use arbor_process::ExitReason;
use arbor_supervisor::SupStartError;

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
fn atomish(s: &str) -> String {
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

/// An exit reason as OTP would print it.
///
/// `Panic(m)` is a raised error caught by the supervisor: `{EXIT,{m,_}}`
/// (OTP's `catch` form, stack normalized away).
pub(crate) fn reason_term(r: &ExitReason) -> Term {
    match r {
        ExitReason::Normal => Term::atom("normal"),
        ExitReason::Shutdown => Term::atom("shutdown"),
        ExitReason::ShutdownWith(t) => Term::tuple([Term::atom("shutdown"), Term::atom(t)]),
        ExitReason::Killed => Term::atom("killed"),
        ExitReason::Kill => Term::atom("kill"),
        ExitReason::NoProc => Term::atom("noproc"),
        ExitReason::Custom(a) => Term::atom(a),
        ExitReason::Panic(m) => Term::tuple([
            Term::atom("EXIT"),
            Term::tuple([Term::atom(&atomish(m)), Term::Wild]),
        ]),
        ExitReason::Error(e) => error_term(&**e).unwrap_or_else(|| {
            Term::tuple([Term::atom("error"), Term::atom(&atomish(&e.to_string()))])
        }),
    }
}

/// Errors arbor carries inside [`ExitReason::Error`] that have an OTP shape.
fn error_term(e: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<Term> {
    e.downcast_ref::<SupStartError>().map(sup_start_error_term)
}

/// `{shutdown,{failed_to_start_child,Id,Reason}}` and friends: the reason
/// of a failed `start_link`, which is also the failed supervisor's exit
/// reason.
pub(crate) fn sup_start_error_term(e: &SupStartError) -> Term {
    match e {
        SupStartError::FailedToStartChild { id, reason } => Term::tuple([
            Term::atom("shutdown"),
            Term::tuple([
                Term::atom("failed_to_start_child"),
                Term::atom(id.as_str()),
                reason_term(reason),
            ]),
        ]),
        SupStartError::AlreadyStarted(p) => {
            Term::tuple([Term::atom("already_started"), Term::Pid(*p)])
        }
        SupStartError::Exited(r) => reason_term(r),
        SupStartError::Flags(f) => Term::tuple([
            Term::atom("supervisor_data"),
            Term::atom(&atomish(&f.to_string())),
        ]),
        SupStartError::Spec(e) => Term::tuple([
            Term::atom("start_spec"),
            Term::atom(&atomish(&e.to_string())),
        ]),
        SupStartError::BadStartSpec(n) => Term::tuple([
            Term::atom("bad_start_spec"),
            Term::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_print_like_otp() {
        let cases = [
            (Reason::Normal, "normal"),
            (Reason::Shutdown, "shutdown"),
            (Reason::ShutdownWith("x".into()), "{shutdown,x}"),
            (Reason::Atom("kill".into()), "kill"),
            (Reason::Atom("boom".into()), "boom"),
        ];
        for (r, text) in cases {
            assert_eq!(reason_term(&scenario_reason(&r)).to_string(), text);
        }
        assert_eq!(reason_term(&ExitReason::Killed).to_string(), "killed");
        assert_eq!(
            reason_term(&ExitReason::Panic("probe_crash".into())).to_string(),
            "{EXIT,{probe_crash,_}}"
        );
    }
}
