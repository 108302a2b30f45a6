//! arbor supervisor results → the terms OTP 25 returns (docs/otp/oracle.md#oracle-terms).

use arbor_process::{CallError, Pid};
use arbor_supervisor::{
    ChildCounts, ChildInfo, ChildSpec, ChildState, ChildType, DeleteChildError, GetChildSpecError,
    IntoSimpleError, RestartChildError, Shutdown, StartChildError, StartSimpleChildError,
    StartedChild, TerminateChildError, WhichChildError,
};

use crate::reason::{reason_term, spec_error_term};
use crate::term::Term;

fn a(s: &str) -> Term {
    Term::atom(s)
}

/// What an API op returns for one of its errors: `{error,E}`, or
/// `{EXIT,R}` when the call itself failed. The table of every variant and
/// its term is in docs/conformance.md#error-terms.
///
/// Every impl matches exhaustively, so a new variant needs a term here.
pub(crate) trait ErrorTerm {
    fn error_term(&self) -> Term;
}

/// `{EXIT,Reason}`: OTP's caller exits `{Reason,{gen_server,call,...}}`
/// and the oracle keeps only `Reason`.
impl ErrorTerm for CallError {
    fn error_term(&self) -> Term {
        let r = match self {
            CallError::NoProcess => a("noproc"),
            CallError::Timeout => a("timeout"),
            CallError::CallingSelf => a("calling_self"),
            CallError::Exited(r) => reason_term(r),
        };
        Term::tuple([a("EXIT"), r])
    }
}

fn already_started(p: Pid) -> Term {
    Term::error(Term::tuple([a("already_started"), Term::Pid(p)]))
}

/// `start_child` with a spec: the start error is wrapped with OTP's child
/// record, `{error,{Reason,_}}`; a spec error is `{error,E}`.
impl ErrorTerm for StartChildError {
    fn error_term(&self) -> Term {
        match self {
            StartChildError::Call(c) => c.error_term(),
            StartChildError::InvalidSpec(e) => Term::error(spec_error_term(e)),
            StartChildError::AlreadyStarted(p) => already_started(*p),
            StartChildError::AlreadyPresent => Term::error_atom("already_present"),
            StartChildError::StartFailed(r) => {
                Term::error(Term::tuple([reason_term(r), Term::Wild]))
            }
            StartChildError::SimpleOneForOne => Term::error_atom("simple_one_for_one"),
        }
    }
}

/// simple_one_for_one `start_child`: the start error is not wrapped.
impl ErrorTerm for StartSimpleChildError {
    fn error_term(&self) -> Term {
        match self {
            StartSimpleChildError::Call(c) => c.error_term(),
            StartSimpleChildError::StartFailed(r) => Term::error(reason_term(r)),
        }
    }
}

/// arbor only (OTP has no typed handle). A static supervisor given extra
/// arguments answers as OTP's does, which takes them for a malformed spec;
/// a template of another argument type is `bad_argument_type`.
impl ErrorTerm for IntoSimpleError {
    fn error_term(&self) -> Term {
        match self {
            IntoSimpleError::Call(c) => c.error_term(),
            IntoSimpleError::NotSimpleOneForOne => {
                Term::error(Term::tuple([a("invalid_child_spec"), Term::Wild]))
            }
            IntoSimpleError::ArgumentType => Term::error_atom("bad_argument_type"),
        }
    }
}

impl ErrorTerm for TerminateChildError {
    fn error_term(&self) -> Term {
        match self {
            TerminateChildError::Call(c) => c.error_term(),
            TerminateChildError::NotFound => Term::error_atom("not_found"),
            TerminateChildError::SimpleOneForOne => Term::error_atom("simple_one_for_one"),
        }
    }
}

/// `restart_child`: the start error is not wrapped.
impl ErrorTerm for RestartChildError {
    fn error_term(&self) -> Term {
        match self {
            RestartChildError::Call(c) => c.error_term(),
            RestartChildError::NotFound => Term::error_atom("not_found"),
            RestartChildError::Running => Term::error_atom("running"),
            RestartChildError::Restarting => Term::error_atom("restarting"),
            RestartChildError::StartFailed(r) => Term::error(reason_term(r)),
            RestartChildError::SimpleOneForOne => Term::error_atom("simple_one_for_one"),
        }
    }
}

impl ErrorTerm for DeleteChildError {
    fn error_term(&self) -> Term {
        match self {
            DeleteChildError::Call(c) => c.error_term(),
            DeleteChildError::NotFound => Term::error_atom("not_found"),
            DeleteChildError::Running => Term::error_atom("running"),
            DeleteChildError::Restarting => Term::error_atom("restarting"),
            DeleteChildError::SimpleOneForOne => Term::error_atom("simple_one_for_one"),
        }
    }
}

impl ErrorTerm for WhichChildError {
    fn error_term(&self) -> Term {
        match self {
            WhichChildError::Call(c) => c.error_term(),
            WhichChildError::NotFound => Term::error_atom("not_found"),
            WhichChildError::SimpleOneForOne => Term::error_atom("simple_one_for_one"),
        }
    }
}

impl ErrorTerm for GetChildSpecError {
    fn error_term(&self) -> Term {
        match self {
            GetChildSpecError::Call(c) => c.error_term(),
            GetChildSpecError::NotFound => Term::error_atom("not_found"),
        }
    }
}

fn started(s: &StartedChild) -> Term {
    let pid = match s.pid() {
        Some(p) => Term::Pid(p),
        None => a("undefined"),
    };
    // `{ok,Pid,Info}`: the only info the probes return is `probe_info`.
    match s.info().and_then(|i| i.get::<&str>()) {
        Some(info) => Term::tuple([a("ok"), pid, a(info)]),
        None => Term::ok(pid),
    }
}

/// `start_child` and `restart_child`.
pub(crate) fn started_term(r: &Result<StartedChild, impl ErrorTerm>) -> Term {
    match r {
        Ok(s) => started(s),
        Err(e) => e.error_term(),
    }
}

/// `terminate_child`, `delete_child`.
pub(crate) fn unit_term(r: &Result<(), impl ErrorTerm>) -> Term {
    match r {
        Ok(()) => a("ok"),
        Err(e) => e.error_term(),
    }
}

fn type_atom(t: ChildType) -> Term {
    match t {
        ChildType::Worker => a("worker"),
        ChildType::Supervisor => a("supervisor"),
    }
}

/// `get_childspec`, reduced to restart, shutdown and type.
pub(crate) fn childspec_term(r: &Result<ChildSpec, GetChildSpecError>) -> Term {
    match r {
        Ok(spec) => {
            let restart = match spec.restart {
                arbor_supervisor::Restart::Permanent => a("permanent"),
                arbor_supervisor::Restart::Transient => a("transient"),
                arbor_supervisor::Restart::Temporary => a("temporary"),
            };
            let shutdown = match spec.shutdown {
                Shutdown::BrutalKill => a("brutal_kill"),
                Shutdown::Infinity => a("infinity"),
                Shutdown::Timeout(d) => Term::Int(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            };
            Term::ok(Term::List(vec![
                Term::tuple([a("restart"), restart]),
                Term::tuple([a("shutdown"), shutdown]),
                Term::tuple([a("type"), type_atom(spec.child_type)]),
            ]))
        }
        Err(e) => e.error_term(),
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

/// `count_children`.
pub(crate) fn counts_term(r: &Result<ChildCounts, CallError>) -> Term {
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
        Err(e) => e.error_term(),
    }
}

#[cfg(test)]
mod tests;
