//! The `arbor-conformance` binary: exit statuses and messages as the
//! oracle's (README "Running it").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn run(scenario: &str) -> Output {
    run_args(&[], scenario)
}

fn run_args(args: &[&str], scenario: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arbor-conformance"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the runner");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(scenario.as_bytes())
        .expect("write");
    child.wait_with_output().expect("output")
}

#[test]
fn a_malformed_scenario_names_its_line_and_exits_2() {
    let out = run("sup root\nchild root a\nfrob a\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "arbor-conformance: line 3: unknown op 'frob'\n"
    );
}

#[test]
fn an_impossible_op_exits_2_with_the_partial_trace() {
    let out = run("sup root\nchild root a\ncrash a boom\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "partial trace:\n> crash a boom\narbor-conformance: line 3: 'a' is not running\n"
    );
}

#[test]
fn a_missing_file_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_arbor-conformance"))
        .arg("/nonexistent/scenario.txt")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_scenario_prints_its_trace() {
    let out = run("sup root\nchild root a\nstart root\ncrash a boom\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "> start root\nsup_start root gen=1\nstart a gen=1\n= {ok,root/gen=1}\n\
         > crash a boom\nstop a gen=1 reason=boom\nstart a gen=2\n\
         tree root sup=root/gen=1\ntree root id=a child=a/gen=2 type=worker\n"
    );
}

/// Found by differential fuzzing: the oracle resolves `@id` for a
/// supervisor whose only `init` failed (it had a process), so an unknown
/// `@id` is a scenario error, not `{EXIT,noproc}`.
#[test]
fn a_target_on_a_supervisor_whose_init_failed_is_resolved() {
    let out = run("sup s2\nchild s2 w4 start=crash\nstart s2\ndelete_child s2 @w4\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "partial trace:\n> start s2\nsup_start s2 gen=1\nstart w4 gen=1 result=crash\n\
         sup_exit s2 gen=1 reason={shutdown,{failed_to_start_child,w4,{EXIT,{probe_crash,_}}}}\n\
         = {error,{shutdown,{failed_to_start_child,w4,{EXIT,{probe_crash,_}}}}}\n\
         > delete_child s2 @w4\n\
         arbor-conformance: line 4: @w4: no process was ever started for it\n"
    );
}

#[test]
fn genevent_prints_its_trace() {
    let out = run_args(&["genevent"], "handler h\nstart\nadd h\nnotify e\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "> start\n= {ok,mgr/gen=1}\n> add h\nh/gen=1 init add -> ok\n= ok\n\
         > notify e\nh/gen=1 event e -> ok\n= ok\nend mgr/gen=1 handlers=[h]\n"
    );
}

#[test]
fn genevent_malformed_scenario_exits_2_with_the_oracles_message() {
    let out = run_args(&["genevent"], "handler h\nstart\nadd g\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "arbor-conformance: line 3: undeclared handler g\n"
    );
}

#[test]
fn genevent_impossible_op_exits_2_with_the_partial_trace() {
    let out = run_args(&["genevent"], "owner o\nkill o\nkill o\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "partial trace:\n> kill o\no exit reason=killed\n> kill o\n\
         arbor-conformance: line 3: owner 'o' is not running\n"
    );
}

#[test]
fn genevent_op_before_start_exits_2() {
    let out = run_args(&["genevent"], "notify x\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "partial trace:\n> notify x\narbor-conformance: line 1: no manager was started yet\n"
    );
}
