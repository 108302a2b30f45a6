//! One test per error variant of the supervisor API: the exact term text
//! (docs/conformance.md#error-terms).

use arbor_process::{CallError, ExitReason, Pid};
use arbor_supervisor::{
    ChildId, DeleteChildError, GetChildSpecError, IntoSimpleError, RestartChildError, SpecError,
    StartChildError, StartSimpleChildError, TerminateChildError, WhichChildError,
};

use super::ErrorTerm;

fn text(e: &impl ErrorTerm) -> String {
    e.error_term().to_string()
}

fn probe_error() -> ExitReason {
    ExitReason::custom("probe_error")
}

fn probe_crash() -> ExitReason {
    ExitReason::Panic("probe_crash".into())
}

// ===== CallError: {EXIT,Reason} =====

#[test]
fn call_no_process() {
    assert_eq!(text(&CallError::NoProcess), "{EXIT,noproc}");
}

#[test]
fn call_timeout() {
    assert_eq!(text(&CallError::Timeout), "{EXIT,timeout}");
}

#[test]
fn call_exited() {
    assert_eq!(
        text(&CallError::Exited(ExitReason::Killed)),
        "{EXIT,killed}"
    );
    assert_eq!(
        text(&CallError::Exited(ExitReason::shutdown_with("x"))),
        "{EXIT,{shutdown,x}}"
    );
}

#[test]
fn call_calling_self() {
    assert_eq!(text(&CallError::CallingSelf), "{EXIT,calling_self}");
}

// ===== StartChildError =====

#[test]
fn start_child_invalid_spec_is_the_spec_error() {
    let e = StartChildError::InvalidSpec(SpecError::SignificantWithoutAutoShutdown(ChildId::from(
        "c",
    )));
    assert_eq!(
        text(&e),
        "{error,{bad_combination,[{auto_shutdown,never},{significant,true}]}}"
    );
    let e = StartChildError::InvalidSpec(SpecError::SignificantPermanent(ChildId::from("d")));
    assert_eq!(
        text(&e),
        "{error,{bad_combination,[{restart,permanent},{significant,true}]}}"
    );
    assert_eq!(
        text(&StartChildError::InvalidSpec(SpecError::MissingId)),
        "{error,missing_id}"
    );
}

#[test]
fn start_child_already_started() {
    assert_eq!(
        text(&StartChildError::AlreadyStarted(Pid::ANONYMOUS)),
        "{error,{already_started,pid}}"
    );
}

#[test]
fn start_child_already_present() {
    assert_eq!(
        text(&StartChildError::AlreadyPresent),
        "{error,already_present}"
    );
}

#[test]
fn start_child_start_failed_is_wrapped_with_the_child_record() {
    assert_eq!(
        text(&StartChildError::StartFailed(probe_error())),
        "{error,{probe_error,_}}"
    );
    assert_eq!(
        text(&StartChildError::StartFailed(probe_crash())),
        "{error,{{EXIT,{probe_crash,_}},_}}"
    );
}

#[test]
fn start_child_simple_one_for_one() {
    assert_eq!(
        text(&StartChildError::SimpleOneForOne),
        "{error,simple_one_for_one}"
    );
}

#[test]
fn start_child_call() {
    assert_eq!(
        text(&StartChildError::Call(CallError::NoProcess)),
        "{EXIT,noproc}"
    );
}

// ===== StartSimpleChildError =====

#[test]
fn start_simple_child_start_failed_is_not_wrapped() {
    assert_eq!(
        text(&StartSimpleChildError::StartFailed(probe_error())),
        "{error,probe_error}"
    );
    assert_eq!(
        text(&StartSimpleChildError::StartFailed(probe_crash())),
        "{error,{EXIT,{probe_crash,_}}}"
    );
}

#[test]
fn start_simple_child_call() {
    assert_eq!(
        text(&StartSimpleChildError::Call(CallError::Timeout)),
        "{EXIT,timeout}"
    );
}

// ===== IntoSimpleError (arbor only) =====

#[test]
fn into_simple_not_simple_one_for_one() {
    assert_eq!(
        text(&IntoSimpleError::NotSimpleOneForOne),
        "{error,{invalid_child_spec,_}}"
    );
}

#[test]
fn into_simple_argument_type() {
    assert_eq!(
        text(&IntoSimpleError::ArgumentType),
        "{error,bad_argument_type}"
    );
}

#[test]
fn into_simple_call() {
    assert_eq!(
        text(&IntoSimpleError::Call(CallError::NoProcess)),
        "{EXIT,noproc}"
    );
}

// ===== TerminateChildError =====

#[test]
fn terminate_child_not_found() {
    assert_eq!(text(&TerminateChildError::NotFound), "{error,not_found}");
}

#[test]
fn terminate_child_simple_one_for_one() {
    assert_eq!(
        text(&TerminateChildError::SimpleOneForOne),
        "{error,simple_one_for_one}"
    );
}

#[test]
fn terminate_child_call() {
    assert_eq!(
        text(&TerminateChildError::Call(CallError::Exited(
            ExitReason::Shutdown
        ))),
        "{EXIT,shutdown}"
    );
}

// ===== RestartChildError =====

#[test]
fn restart_child_not_found() {
    assert_eq!(text(&RestartChildError::NotFound), "{error,not_found}");
}

#[test]
fn restart_child_running() {
    assert_eq!(text(&RestartChildError::Running), "{error,running}");
}

#[test]
fn restart_child_restarting() {
    assert_eq!(text(&RestartChildError::Restarting), "{error,restarting}");
}

#[test]
fn restart_child_start_failed_is_not_wrapped() {
    assert_eq!(
        text(&RestartChildError::StartFailed(probe_error())),
        "{error,probe_error}"
    );
    assert_eq!(
        text(&RestartChildError::StartFailed(probe_crash())),
        "{error,{EXIT,{probe_crash,_}}}"
    );
}

#[test]
fn restart_child_simple_one_for_one() {
    assert_eq!(
        text(&RestartChildError::SimpleOneForOne),
        "{error,simple_one_for_one}"
    );
}

#[test]
fn restart_child_call() {
    assert_eq!(
        text(&RestartChildError::Call(CallError::NoProcess)),
        "{EXIT,noproc}"
    );
}

// ===== DeleteChildError =====

#[test]
fn delete_child_not_found() {
    assert_eq!(text(&DeleteChildError::NotFound), "{error,not_found}");
}

#[test]
fn delete_child_running() {
    assert_eq!(text(&DeleteChildError::Running), "{error,running}");
}

#[test]
fn delete_child_restarting() {
    assert_eq!(text(&DeleteChildError::Restarting), "{error,restarting}");
}

#[test]
fn delete_child_simple_one_for_one() {
    assert_eq!(
        text(&DeleteChildError::SimpleOneForOne),
        "{error,simple_one_for_one}"
    );
}

#[test]
fn delete_child_call() {
    assert_eq!(
        text(&DeleteChildError::Call(CallError::NoProcess)),
        "{EXIT,noproc}"
    );
}

// ===== WhichChildError =====

#[test]
fn which_child_not_found() {
    assert_eq!(text(&WhichChildError::NotFound), "{error,not_found}");
}

#[test]
fn which_child_simple_one_for_one() {
    assert_eq!(
        text(&WhichChildError::SimpleOneForOne),
        "{error,simple_one_for_one}"
    );
}

#[test]
fn which_child_call() {
    assert_eq!(
        text(&WhichChildError::Call(CallError::NoProcess)),
        "{EXIT,noproc}"
    );
}

// ===== GetChildSpecError =====

#[test]
fn get_childspec_not_found() {
    assert_eq!(text(&GetChildSpecError::NotFound), "{error,not_found}");
}

#[test]
fn get_childspec_call() {
    assert_eq!(
        text(&GetChildSpecError::Call(CallError::NoProcess)),
        "{EXIT,noproc}"
    );
}
