//! arbor supervisor results → the terms OTP 25 returns (docs/otp/oracle.md#oracle-terms).

use arbor_process::{CallError, ExitReason, Pid};
use arbor_supervisor::{
    ChildCounts, ChildInfo, ChildSpec, ChildState, ChildType, DeleteChildError, GetChildSpecError,
    IntoSimpleError, RestartChildError, Shutdown, StartChildError, StartSimpleChildError,
    StartedChild, TerminateChildError, WhichChildError,
};

use crate::reason::reason_term;
use crate::term::Term;

fn a(s: &str) -> Term {
    Term::atom(s)
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

/// The error values the API ops share, borrowed from each op's own
/// error enum.
pub(crate) enum ApiError<'a> {
    Call(&'a CallError),
    NotFound,
    Running,
    Restarting,
    AlreadyPresent,
    SimpleOneForOne,
    AlreadyStarted(Pid),
    StartFailed(&'a ExitReason),
    /// Anything else, as an atom made of its text.
    Other(String),
}

/// An op's error enum as the shared values.
pub(crate) trait AsApiError {
    fn api_error(&self) -> ApiError<'_>;
}

impl AsApiError for CallError {
    fn api_error(&self) -> ApiError<'_> {
        ApiError::Call(self)
    }
}

impl AsApiError for StartChildError {
    fn api_error(&self) -> ApiError<'_> {
        match self {
            StartChildError::Call(c) => ApiError::Call(c),
            StartChildError::AlreadyStarted(p) => ApiError::AlreadyStarted(*p),
            StartChildError::AlreadyPresent => ApiError::AlreadyPresent,
            StartChildError::StartFailed(r) => ApiError::StartFailed(r),
            StartChildError::SimpleOneForOne => ApiError::SimpleOneForOne,
            other => ApiError::Other(other.to_string()),
        }
    }
}

impl AsApiError for StartSimpleChildError {
    fn api_error(&self) -> ApiError<'_> {
        match self {
            StartSimpleChildError::Call(c) => ApiError::Call(c),
            StartSimpleChildError::StartFailed(r) => ApiError::StartFailed(r),
        }
    }
}

impl AsApiError for IntoSimpleError {
    fn api_error(&self) -> ApiError<'_> {
        match self {
            IntoSimpleError::Call(c) => ApiError::Call(c),
            other => ApiError::Other(other.to_string()),
        }
    }
}

impl AsApiError for TerminateChildError {
    fn api_error(&self) -> ApiError<'_> {
        match self {
            TerminateChildError::Call(c) => ApiError::Call(c),
            TerminateChildError::NotFound => ApiError::NotFound,
            TerminateChildError::SimpleOneForOne => ApiError::SimpleOneForOne,
        }
    }
}

impl AsApiError for RestartChildError {
    fn api_error(&self) -> ApiError<'_> {
        match self {
            RestartChildError::Call(c) => ApiError::Call(c),
            RestartChildError::NotFound => ApiError::NotFound,
            RestartChildError::Running => ApiError::Running,
            RestartChildError::Restarting => ApiError::Restarting,
            RestartChildError::StartFailed(r) => ApiError::StartFailed(r),
            RestartChildError::SimpleOneForOne => ApiError::SimpleOneForOne,
        }
    }
}

impl AsApiError for DeleteChildError {
    fn api_error(&self) -> ApiError<'_> {
        match self {
            DeleteChildError::Call(c) => ApiError::Call(c),
            DeleteChildError::NotFound => ApiError::NotFound,
            DeleteChildError::Running => ApiError::Running,
            DeleteChildError::Restarting => ApiError::Restarting,
            DeleteChildError::SimpleOneForOne => ApiError::SimpleOneForOne,
        }
    }
}

impl AsApiError for WhichChildError {
    fn api_error(&self) -> ApiError<'_> {
        match self {
            WhichChildError::Call(c) => ApiError::Call(c),
            WhichChildError::NotFound => ApiError::NotFound,
            WhichChildError::SimpleOneForOne => ApiError::SimpleOneForOne,
        }
    }
}

impl AsApiError for GetChildSpecError {
    fn api_error(&self) -> ApiError<'_> {
        match self {
            GetChildSpecError::Call(c) => ApiError::Call(c),
            GetChildSpecError::NotFound => ApiError::NotFound,
        }
    }
}

/// The error part shared by every API op.
fn sup_error(e: &impl AsApiError) -> Term {
    match e.api_error() {
        ApiError::Call(c) => call_failure(c),
        ApiError::NotFound => Term::error_atom("not_found"),
        ApiError::Running => Term::error_atom("running"),
        ApiError::Restarting => Term::error_atom("restarting"),
        ApiError::AlreadyPresent => Term::error_atom("already_present"),
        ApiError::SimpleOneForOne => Term::error_atom("simple_one_for_one"),
        ApiError::AlreadyStarted(p) => {
            Term::error(Term::tuple([a("already_started"), Term::Pid(p)]))
        }
        ApiError::StartFailed(r) => Term::error(reason_term(r)),
        ApiError::Other(text) => Term::error(a(&atomish(&text))),
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
pub(crate) fn start_child_term(r: &Result<StartedChild, StartChildError>) -> Term {
    match r {
        Ok(s) => started(s),
        Err(StartChildError::StartFailed(reason)) => {
            Term::error(Term::tuple([reason_term(reason), Term::Wild]))
        }
        Err(e) => sup_error(e),
    }
}

/// `start_child` on simple_one_for_one and `restart_child`: not wrapped.
pub(crate) fn started_term(r: &Result<StartedChild, impl AsApiError>) -> Term {
    match r {
        Ok(s) => started(s),
        Err(e) => sup_error(e),
    }
}

/// `terminate_child`, `delete_child`.
pub(crate) fn unit_term(r: &Result<(), impl AsApiError>) -> Term {
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
pub(crate) fn error_term(e: &impl AsApiError) -> Term {
    sup_error(e)
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
        Err(e) => sup_error(e),
    }
}
