//! arbor supervisor results → the terms OTP 25 returns (README §2.5).

use arbor_process::CallError;
use arbor_supervisor::{
    ChildCounts, ChildInfo, ChildSpec, ChildState, ChildType, Shutdown, StartedChild, SupError,
    SupStartError,
};

use crate::reason::reason_term;
use crate::term::Term;

fn a(s: &str) -> Term {
    Term::atom(s)
}

/// `{shutdown,{failed_to_start_child,Id,Reason}}` and friends: the reason
/// of a failed `start_link`, which is also the failed supervisor's exit
/// reason.
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
        SupStartError::Flags(f) => Term::tuple([a("supervisor_data"), a(&atomish(&f.to_string()))]),
        SupStartError::Spec(e) => Term::tuple([a("start_spec"), a(&atomish(&e.to_string()))]),
        SupStartError::BadStartSpec(n) => Term::tuple([
            a("bad_start_spec"),
            Term::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
        ]),
    }
}

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

/// `{EXIT,Reason}` when the call itself failed (OTP: the caller exits
/// `{Reason,{gen_server,call,...}}` and only `Reason` is kept).
fn call_failure(e: &CallError) -> Term {
    let r = match e {
        CallError::NoProcess => a("noproc"),
        CallError::Exited(r) => reason_term(r),
        other => a(&atomish(&other.to_string())),
    };
    Term::tuple([a("EXIT"), r])
}

/// The error part shared by every API op.
fn sup_error(e: &SupError) -> Term {
    match e {
        SupError::Call(c) => call_failure(c),
        SupError::NotFound => Term::error_atom("not_found"),
        SupError::Running => Term::error_atom("running"),
        SupError::Restarting => Term::error_atom("restarting"),
        SupError::AlreadyPresent => Term::error_atom("already_present"),
        SupError::SimpleOneForOne => Term::error_atom("simple_one_for_one"),
        SupError::AlreadyStarted(p) => {
            Term::error(Term::tuple([a("already_started"), Term::Pid(*p)]))
        }
        SupError::StartFailed(r) => Term::error(reason_term(r)),
        other => Term::error(a(&atomish(&other.to_string()))),
    }
}

fn started(s: &StartedChild) -> Term {
    Term::ok(match s.pid() {
        Some(p) => Term::Pid(p),
        None => a("undefined"),
    })
}

/// `start_child` on a non-simple supervisor: start errors are wrapped
/// with OTP's child record, `{error,{Reason,_}}`.
pub(crate) fn start_child_term(r: &Result<StartedChild, SupError>) -> Term {
    match r {
        Ok(s) => started(s),
        Err(SupError::StartFailed(reason)) => {
            Term::error(Term::tuple([reason_term(reason), Term::Wild]))
        }
        Err(e) => sup_error(e),
    }
}

/// `start_child` on simple_one_for_one and `restart_child`: not wrapped.
pub(crate) fn started_term(r: &Result<StartedChild, SupError>) -> Term {
    match r {
        Ok(s) => started(s),
        Err(e) => sup_error(e),
    }
}

/// `terminate_child`, `delete_child`.
pub(crate) fn unit_term(r: &Result<(), SupError>) -> Term {
    match r {
        Ok(()) => a("ok"),
        Err(e) => sup_error(e),
    }
}

fn type_atom(t: ChildType) -> Term {
    match t {
        ChildType::Worker => a("worker"),
        ChildType::Supervisor => a("supervisor"),
    }
}

/// `get_childspec`, reduced to restart, shutdown and type.
pub(crate) fn childspec_term(r: &Result<ChildSpec, SupError>) -> Term {
    match r {
        Ok(spec) => {
            let restart = match spec.restart_type() {
                arbor_supervisor::Restart::Permanent => a("permanent"),
                arbor_supervisor::Restart::Transient => a("transient"),
                arbor_supervisor::Restart::Temporary => a("temporary"),
            };
            let shutdown = match spec.shutdown_value() {
                Shutdown::BrutalKill => a("brutal_kill"),
                Shutdown::Infinity => a("infinity"),
                Shutdown::Timeout(d) => Term::Int(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            };
            Term::ok(Term::List(vec![
                Term::tuple([a("restart"), restart]),
                Term::tuple([a("shutdown"), shutdown]),
                Term::tuple([a("type"), type_atom(spec.kind())]),
            ]))
        }
        Err(e) => sup_error(e),
    }
}

/// One `which_children` entry without the modules: `{Id,Child,Type}`.
pub(crate) fn child_entry(c: &ChildInfo) -> Term {
    let id = match &c.id {
        Some(id) => a(id.as_str()),
        None => a("undefined"),
    };
    let child = match &c.state {
        ChildState::Running(p) => Term::Pid(*p),
        ChildState::Undefined => a("undefined"),
        ChildState::Restarting => a("restarting"),
    };
    Term::tuple([id, child, type_atom(c.child_type)])
}

/// A `which_children` failure.
pub(crate) fn error_term(e: &SupError) -> Term {
    sup_error(e)
}

/// `count_children`.
pub(crate) fn counts_term(r: &Result<ChildCounts, SupError>) -> Term {
    match r {
        Ok(c) => {
            let n = |v: usize| Term::Int(i64::try_from(v).unwrap_or(i64::MAX));
            Term::List(vec![
                Term::tuple([a("specs"), n(c.specs)]),
                Term::tuple([a("active"), n(c.active)]),
                Term::tuple([a("supervisors"), n(c.supervisors)]),
                Term::tuple([a("workers"), n(c.workers)]),
            ])
        }
        Err(e) => sup_error(e),
    }
}

/// `ExitReason::Error` payloads with an OTP shape.
pub(crate) fn error_payload_term(
    e: &(dyn std::error::Error + Send + Sync + 'static),
) -> Option<Term> {
    e.downcast_ref::<SupStartError>().map(sup_start_error_term)
}
