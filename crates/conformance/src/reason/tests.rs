//! One test per error variant: the exact term text (docs/conformance.md#error-terms).

use std::time::Duration;

use arbor_process::{ExitReason, Pid, StartError};
use arbor_supervisor::{AutoShutdown, ChildId, FlagsError, SpecError, Strategy, SupStartError};

use super::*;

fn text(t: Term) -> String {
    t.to_string()
}

#[test]
fn reasons_print_like_otp() {
    let cases = [
        (Reason::Normal, "normal"),
        (Reason::Shutdown, "shutdown"),
        (Reason::ShutdownWith("x".into()), "{shutdown,x}"),
        (Reason::Atom("kill".into()), "kill"),
        (Reason::Atom("boom".into()), "boom"),
    ];
    for (r, t) in cases {
        assert_eq!(reason_term(&scenario_reason(&r)).to_string(), t);
    }
    assert_eq!(reason_term(&ExitReason::Killed).to_string(), "killed");
    assert_eq!(reason_term(&ExitReason::NoProc).to_string(), "noproc");
    assert_eq!(
        reason_term(&ExitReason::Panic("probe_crash".into())).to_string(),
        "{EXIT,{probe_crash,_}}"
    );
}

#[test]
fn an_unknown_error_reason_is_error_with_its_text() {
    let r = ExitReason::error(std::io::Error::other("bad thing"));
    assert_eq!(text(reason_term(&r)), "{error,bad_thing}");
}

// ===== FlagsError (inside {supervisor_data,_}) =====

#[test]
fn flags_invalid_period() {
    let e = FlagsError::InvalidPeriod(Duration::ZERO);
    assert_eq!(text(flags_error_term(&e)), "{invalid_period,0}");
}

#[test]
fn flags_bad_combination() {
    let e = FlagsError::BadCombination {
        auto_shutdown: AutoShutdown::AnySignificant,
        strategy: Strategy::SimpleOneForOne,
    };
    assert_eq!(
        text(flags_error_term(&e)),
        "{bad_combination,[{auto_shutdown,any_significant},{strategy,simple_one_for_one}]}"
    );
    let e = FlagsError::BadCombination {
        auto_shutdown: AutoShutdown::AllSignificant,
        strategy: Strategy::SimpleOneForOne,
    };
    assert_eq!(
        text(flags_error_term(&e)),
        "{bad_combination,[{auto_shutdown,all_significant},{strategy,simple_one_for_one}]}"
    );
}

// ===== SpecError (inside {start_spec,_} or {error,_}) =====

#[test]
fn spec_missing_id() {
    assert_eq!(text(spec_error_term(&SpecError::MissingId)), "missing_id");
}

#[test]
fn spec_duplicate_child_name() {
    let e = SpecError::DuplicateChildName(ChildId::from("t1"));
    assert_eq!(text(spec_error_term(&e)), "{duplicate_child_name,t1}");
}

#[test]
fn spec_significant_without_auto_shutdown() {
    let e = SpecError::SignificantWithoutAutoShutdown(ChildId::from("a"));
    assert_eq!(
        text(spec_error_term(&e)),
        "{bad_combination,[{auto_shutdown,never},{significant,true}]}"
    );
}

#[test]
fn spec_significant_permanent() {
    let e = SpecError::SignificantPermanent(ChildId::from("b"));
    assert_eq!(
        text(spec_error_term(&e)),
        "{bad_combination,[{restart,permanent},{significant,true}]}"
    );
}

#[test]
fn spec_invalid_backoff_is_arbor_only() {
    let e = SpecError::InvalidBackoff(ChildId::from("c"));
    assert_eq!(text(spec_error_term(&e)), "{invalid_backoff,c}");
}

#[test]
fn spec_temporary_only_is_arbor_only() {
    let e = SpecError::TemporaryOnly(ChildId::from("d"));
    assert_eq!(text(spec_error_term(&e)), "{temporary_only,d}");
}

// ===== SupStartError (inside {error,_} of start_link; the exit reason) =====

#[test]
fn sup_start_flags() {
    let e = SupStartError::Flags(FlagsError::InvalidPeriod(Duration::ZERO));
    assert_eq!(
        text(sup_start_error_term(&e)),
        "{supervisor_data,{invalid_period,0}}"
    );
}

#[test]
fn sup_start_spec() {
    let e = SupStartError::Spec(SpecError::SignificantWithoutAutoShutdown(ChildId::from(
        "a",
    )));
    assert_eq!(
        text(sup_start_error_term(&e)),
        "{start_spec,{bad_combination,[{auto_shutdown,never},{significant,true}]}}"
    );
    let e = SupStartError::Spec(SpecError::MissingId);
    assert_eq!(text(sup_start_error_term(&e)), "{start_spec,missing_id}");
}

#[test]
fn sup_start_bad_start_spec_prints_one_wild_per_spec() {
    assert_eq!(
        text(sup_start_error_term(&SupStartError::BadStartSpec(0))),
        "{bad_start_spec,[]}"
    );
    assert_eq!(
        text(sup_start_error_term(&SupStartError::BadStartSpec(2))),
        "{bad_start_spec,[_,_]}"
    );
}

#[test]
fn sup_start_failed_to_start_child() {
    let e = SupStartError::FailedToStartChild {
        id: ChildId::from("c"),
        reason: ExitReason::custom("probe_error"),
    };
    assert_eq!(
        text(sup_start_error_term(&e)),
        "{shutdown,{failed_to_start_child,c,probe_error}}"
    );
}

#[test]
fn sup_start_already_started() {
    let e = SupStartError::AlreadyStarted(Pid::ANONYMOUS);
    assert_eq!(text(sup_start_error_term(&e)), "{already_started,pid}");
}

#[test]
fn sup_start_exited() {
    let e = SupStartError::Exited(ExitReason::Killed);
    assert_eq!(text(sup_start_error_term(&e)), "killed");
}

#[test]
fn a_nested_supervisor_start_error_is_its_reason() {
    let inner = SupStartError::FailedToStartChild {
        id: ChildId::from("n2"),
        reason: ExitReason::custom("probe_error"),
    };
    let e = SupStartError::FailedToStartChild {
        id: ChildId::from("nested"),
        reason: inner.into(),
    };
    assert_eq!(
        text(sup_start_error_term(&e)),
        "{shutdown,{failed_to_start_child,nested,{shutdown,{failed_to_start_child,n2,probe_error}}}}"
    );
    let flags: ExitReason = SupStartError::Flags(FlagsError::InvalidPeriod(Duration::ZERO)).into();
    assert_eq!(
        text(reason_term(&flags)),
        "{supervisor_data,{invalid_period,0}}"
    );
}

// ===== StartError (a server's start error, wrapped in a child's reason) =====

#[test]
fn server_start_already_started() {
    let e = StartError::AlreadyStarted(Pid::ANONYMOUS);
    assert_eq!(text(start_error_term(&e)), "{already_started,pid}");
    let r: ExitReason = e.into();
    assert_eq!(text(reason_term(&r)), "{already_started,pid}");
}

#[test]
fn server_start_init_and_exited_are_their_reason() {
    let e = StartError::Init(ExitReason::custom("probe_bad"));
    assert_eq!(text(start_error_term(&e)), "probe_bad");
    let e = StartError::Exited(ExitReason::Killed);
    assert_eq!(text(start_error_term(&e)), "killed");
}
