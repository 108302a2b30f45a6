//! Golden tests of the gen_event runner: every scenario of the gen_event
//! oracle (copied to `tests/golden/genevent/`, with the trace real OTP 25
//! produced) runs on arbor's event manager and must match line by line.
//! Where arbor keeps a documented difference (docs/conformance.md,
//! "gen_event differences") the scenario also has arbor's own trace
//! (`.arbor.trace`), and the lines that differ from OTP's are checked to be
//! exactly the documented ones. No Erlang needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/genevent")
}

fn read(name: &str, ext: &str) -> String {
    std::fs::read_to_string(dir().join(format!("{name}.{ext}")))
        .unwrap_or_else(|e| panic!("{name}.{ext}: {e}"))
}

fn run(name: &str) -> String {
    match arbor_conformance::genevent::run_text(&read(name, "txt")) {
        Ok(trace) => trace,
        Err(e) => panic!(
            "{name}: exit {}: {e}\npartial trace:\n{}",
            e.code,
            e.partial_trace.clone().unwrap_or_default()
        ),
    }
}

/// The scenario's trace equals OTP's.
fn golden(name: &str) {
    if let Some(diff) = arbor_conformance::line_diff(&read(name, "trace"), &run(name)) {
        panic!("{name}: {diff}");
    }
}

/// Lines of `a` not in `b`, counted (a multiset difference), in `a`'s order.
fn only_in<'a>(a: &'a str, b: &str) -> Vec<&'a str> {
    let mut left: BTreeMap<&str, usize> = BTreeMap::new();
    for l in b.lines() {
        *left.entry(l).or_default() += 1;
    }
    a.lines()
        .filter(|l| match left.get_mut(l) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

/// The scenario's trace equals arbor's recorded one, and differs from
/// OTP's in exactly `otp_only` / `arbor_only` (the documented difference).
fn differs(name: &str, otp_only: &[&str], arbor_only: &[&str]) {
    let actual = run(name);
    if let Some(diff) = arbor_conformance::line_diff(&read(name, "arbor.trace"), &actual) {
        panic!("{name} (arbor's trace): {diff}");
    }
    let otp = read(name, "trace");
    assert_eq!(
        only_in(&otp, &actual),
        otp_only,
        "{name}: OTP's lines arbor does not print"
    );
    assert_eq!(
        only_in(&actual, &otp),
        arbor_only,
        "{name}: arbor's lines OTP does not print"
    );
}

macro_rules! golden {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                golden($file);
            }
        )*
    };
}

golden! {
    add_notify => "01_add_notify",
    init_failures => "02_init_failures",
    event_outcomes => "03_event_outcomes",
    call => "04_call",
    info => "05_info",
    remove => "06_remove",
    swap_api => "07_swap_api",
    swap_callback => "08_swap_callback",
    owner_notices => "09_owner_notices",
    stop => "11_stop",
    handler_ids => "14_handler_ids",
    exit_signals => "15_exit_signals",
    // Hand-written for the runner (traces from the oracle): what the shared
    // scenarios do not show.
    call_timeouts => "16_call_timeouts",
    selfcall_and_self_notify => "17_selfcall_and_self_notify",
    exit_signals_and_owners => "18_exit_signals_and_owners",
    swap_edge_cases => "19_swap_edge_cases",
    stop_with_reason => "20_stop_with_reason",
}

/// Owners are watched, not linked: an owner's death is not forwarded to
/// the other handlers as an info message.
#[test]
fn owner_death_is_not_info_to_other_handlers() {
    differs(
        "10_owner_death",
        &[
            "c/gen=1 info {EXIT,o1,boom} -> ok",
            "d/gen=1 info {EXIT,o1,boom} -> ok",
            "keep/gen=1 info {EXIT,o1,boom} -> ok",
            "d/gen=1 info {EXIT,o2,normal} -> ok",
            "keep/gen=1 info {EXIT,o2,normal} -> ok",
            "keep/gen=1 info {EXIT,o3,killed} -> ok",
            "keep/gen=1 info {EXIT,o4,{shutdown,x}} -> ok",
        ],
        &[],
    );
}

/// Owners are watched, not linked: a killed manager does not take its
/// owners down (nor sends trapping ones an exit message).
#[test]
fn killed_manager_does_not_kill_its_owners() {
    differs(
        "12_kill_manager",
        &[
            "plain exit reason=killed",
            "trapper got {EXIT,mgr/gen=1,killed}",
            "end plain dead",
        ],
        &["end plain alive"],
    );
}

/// `notify` never fails, also for a name nobody holds.
#[test]
fn notify_to_an_unregistered_name_is_ok() {
    differs("13_named_manager", &["= {EXIT,badarg}"], &["= ok"]);
}

/// A callback swap whose new handler's init fails: the old owner is told
/// the init's own failure, not OTP's fixed `crash`.
#[test]
fn failed_callback_swap_init_tells_the_owner_its_reason() {
    differs(
        "21_callback_swap_init_fails_owned",
        &["o1 got {gen_event_EXIT,b,crash}"],
        &["o1 got {gen_event_EXIT,b,{error,refused}}"],
    );
}

/// Duplicate ids are rejected, by add and by a swap into an installed id.
#[test]
fn duplicate_ids_are_rejected() {
    differs(
        "22_duplicate_ids",
        &[
            "h/gen=2 init add -> ok",
            "= ok",
            "h/gen=3 init {swap,ok} -> ok",
            "= ok",
            "= [h,h,h]",
            "end mgr/gen=1 handlers=[h,h,h]",
        ],
        &[
            "= {error,already_present}",
            "= {error,already_present}",
            "= [h]",
            "end mgr/gen=1 handlers=[h]",
        ],
    );
}

/// A terminate can fail only by panicking: an `exit` prints as a raise.
#[test]
fn terminate_fails_only_by_panicking() {
    differs(
        "23_terminate_exits",
        &["= {EXIT,bye}", "b/gen=1 init {swap,{EXIT,bye}} -> ok"],
        &[
            "= {EXIT,{bye,_}}",
            "b/gen=1 init {swap,{EXIT,{bye,_}}} -> ok",
        ],
    );
}

/// Every `.txt` in the directory has a test above.
#[test]
fn every_genevent_golden_file_has_a_test() {
    let n = std::fs::read_dir(dir())
        .expect("golden dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "txt"))
        })
        .count();
    assert_eq!(n, 23, "add the new golden scenario to this file");
}
