#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arbor_genevent::HandlerId;

use super::*;

#[test]
fn exit_reasons_round_trip_through_terms() {
    for text in [
        "normal",
        "shutdown",
        "kill",
        "killed",
        "boom",
        "{shutdown,x}",
        "{a,[1,2]}",
    ] {
        let t = parse_term(text, false).unwrap();
        assert_eq!(reason_term(&exit_reason(&t)).to_string(), text);
    }
    assert_eq!(
        reason_term(&ExitReason::Panic(Arc::from("oops"))).to_string(),
        "{EXIT,{oops,_}}"
    );
}

#[test]
fn removal_reasons_as_terminate_arguments_and_notices() {
    let fail = RemoveReason::Failed(HandlerError::new(BadReturn(Term::atom("junk"))));
    let exit = RemoveReason::Failed(HandlerError::new(ExitValue(Term::atom("bye"))));
    let me = RemoveReason::Failed(HandlerError::new(CallError::CallingSelf));
    let panic = RemoveReason::Panicked(Arc::from("{a,1}"));
    let swapped = RemoveReason::Swapped {
        to: HandlerId::new("h2"),
    };
    let owner = RemoveReason::OwnerExited(ExitReason::Killed);
    let cases = [
        (RemoveReason::Deleted, "delete", "normal"),
        (RemoveReason::Removed, "remove_handler", "normal"),
        (fail, "{error,junk}", "junk"),
        (exit, "{error,{EXIT,bye}}", "{EXIT,bye}"),
        (me, "{error,{EXIT,calling_self}}", "{EXIT,calling_self}"),
        (panic, "{error,{EXIT,{{a,1},_}}}", "{EXIT,{{a,1},_}}"),
        (swapped, "swap", "{swapped,h2,o1}"),
        (RemoveReason::Stop, "stop", "shutdown"),
        (owner, "{stop,killed}", "{stop,killed}"),
    ];
    for (r, arg, notice) in cases {
        assert_eq!(terminate_arg(&r).to_string(), arg, "{r:?}");
        assert_eq!(notice_reason(&r, "o1").to_string(), notice, "{r:?}");
    }
}

#[test]
fn api_errors_as_the_oracles_results() {
    let init = HandlerError::new(BadReturn(parse_term("{error,nope}", false).unwrap()));
    assert_eq!(
        add_error_term(&AddError::Init(init.clone())).to_string(),
        "{error,nope}"
    );
    assert_eq!(
        add_error_term(&AddError::InitPanicked(Arc::from("boom"))).to_string(),
        "{EXIT,{boom,_}}"
    );
    assert_eq!(
        add_error_term(&AddError::AlreadyPresent(HandlerId::new("h"))).to_string(),
        "{error,already_present}"
    );
    assert_eq!(
        add_error_term(&AddError::Manager(CallError::NoProcess)).to_string(),
        "{EXIT,noproc}"
    );
    assert_eq!(
        remove_error_term(&RemoveError::NotFound).to_string(),
        "{error,module_not_found}"
    );
    assert_eq!(
        remove_error_term(&RemoveError::TerminatePanicked(Arc::from("oops"))).to_string(),
        "{EXIT,{oops,_}}"
    );
    assert_eq!(
        swap_error_term(&SwapError::Init(init)).to_string(),
        "{error,{error,nope}}"
    );
    assert_eq!(
        handler_call_error_term(&HandlerCallError::NotFound).to_string(),
        "{error,bad_module}"
    );
    assert_eq!(
        handler_call_error_term(&HandlerCallError::Manager(CallError::Timeout)).to_string(),
        "{EXIT,timeout}"
    );
    assert_eq!(
        stop_error_term(&StopError::NoProcess).to_string(),
        "{EXIT,noproc}"
    );
}
