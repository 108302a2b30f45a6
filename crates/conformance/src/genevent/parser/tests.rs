#![allow(clippy::unwrap_used)]

use super::*;

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn terms_and_patterns_parse_as_the_oracle_reads_them() {
    let t = parse_term("{a,[1,-2],{},EXIT}", false).unwrap();
    assert_eq!(t.to_string(), "{a,[1,-2],{},EXIT}");
    assert_eq!(
        parse_term("{error,_}", true).unwrap().to_string(),
        "{error,_}"
    );
    assert!(parse_term("{error,_}", false).is_none());
    assert!(parse_term("_x", true).is_none());
    assert!(parse_term("{a,}", false).is_none());
    assert!(parse_term("a b", false).is_none());
}

#[test]
fn malformed_scenarios_get_the_oracles_messages() {
    assert_eq!(err("handler h\nfrob\n"), "line 2: unknown op 'frob'");
    assert_eq!(
        err("start x=1\n"),
        "line 1: unknown option 'x' (allowed: named link)"
    );
    assert_eq!(err("notify a b\n"), "line 1: usage: notify <event>");
    assert_eq!(
        err("handler h\nhandler h\n"),
        "line 2: handler h declared twice"
    );
    assert_eq!(err("owner mgr\n"), "line 1: 'mgr' is reserved");
    assert_eq!(
        err("owner o\nhandler o\n"),
        "line 2: 'o' is already an owner name"
    );
    assert_eq!(err("add h\n"), "line 1: undeclared handler h");
    assert_eq!(
        err("start\nhandler h\n"),
        "line 2: declarations (handler, owner, on) must come before the first action"
    );
    assert_eq!(
        err("handler h\non h event x fail {ok,1}\n"),
        "line 2: fail value {ok,1} is a valid gen_event return; use another term"
    );
    assert_eq!(
        err("handler h\non h call x ok\n"),
        "line 2: bad call outcome (expected reply T | remove T | swap R H [A] | fail T | crash T | exit T | selfcall)"
    );
    assert_eq!(
        err("info {x,y,stop}\n"),
        "line 1: info {x,y,stop} looks like a gen_event protocol message (README 1.4)"
    );
    assert_eq!(
        err("owner o\nexit_signal o r from=o\n"),
        "line 2: an owner cannot signal itself (use crash)"
    );
    assert_eq!(
        err("call h q timeout=-1\n"),
        "line 1: timeout=-1: expected an integer >= 0"
    );
    assert_eq!(
        err("handler {H,1}\n"),
        "line 1: bad name 'H' (expected [a-z][a-z0-9_]*)"
    );
}

#[test]
fn rules_keep_file_order_and_fill_defaults() {
    let s = parse("handler h\non h event _ swap h\non h event x remove\nstart\n").unwrap();
    let rules = &s.rules[&(s.handlers[0].clone(), Callback::Event)];
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].outcome.text(), "swap h swap");
    let first = s
        .rule(&s.handlers[0], Callback::Event, &Term::atom("x"))
        .unwrap();
    assert_eq!(first.outcome.text(), "swap h swap");
}
