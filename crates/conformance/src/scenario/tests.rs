#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn err(text: &str) -> String {
    match parse(text) {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_golden_scenario_parses() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("golden dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "txt") {
            let text = std::fs::read_to_string(&path).expect("read");
            let scn = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!scn.ops.is_empty(), "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 18, "only {n} scenarios");
}

#[test]
fn lexical_rules() {
    assert_eq!(tokens("  a\tb\r  # c d"), vec!["a", "b"]);
    assert_eq!(tokens("a w#1 #x"), vec!["a", "w#1"]);
    assert!(tokens("   \r").is_empty());
    let s = parse("sup r # comment\r\nchild r a trap=true\n\n start r  # go\n").expect("ok");
    assert_eq!(s.ops[0].echo, "start r");
    assert_eq!(s.ops[0].line, 4);
    assert_eq!(s.children[0].probe.trap, Some(true));
}

#[test]
fn declarations_and_defaults() {
    let s = parse(
        "sup r strategy=rest_for_one intensity=0 period=3 auto_shutdown=any_significant\n\
         sup p strategy=simple_one_for_one\n\
         child r p type=supervisor restart=transient significant=true\n\
         child p w shutdown=brutal_kill plan=ok*2,error start=crash stop_delay=infinity\n\
         start r\n",
    )
    .expect("ok");
    let r = &s.sups["r"];
    assert_eq!(r.strategy, Some(Strategy::RestForOne));
    assert_eq!((r.intensity, r.period), (Some(0), Some(3)));
    assert_eq!(r.auto_shutdown, Some(AutoShutdown::AnySignificant));
    let w = &s.children[1];
    assert_eq!(w.shutdown, Some(Shutdown::BrutalKill));
    assert_eq!(w.restart, None);
    assert_eq!(
        w.probe.plan,
        Some(vec![StartMode::Ok, StartMode::Ok, StartMode::Error])
    );
    assert_eq!(w.probe.mode_for(2), StartMode::Ok);
    assert_eq!(w.probe.mode_for(3), StartMode::Error);
    assert_eq!(w.probe.mode_for(4), StartMode::Crash);
    assert_eq!(w.probe.stop_delay, Some(Delay::Infinity));
}

#[test]
fn ops_parse() {
    let s = parse(
        "sup r\nsup p strategy=simple_one_for_one\nchild p w\n\
         start r\nstart p\nstop r\ncrash a shutdown:x\nkill w#2\nexit_signal r kill\n\
         settle\nawait_restarted a\nsleep_past_period r\nstart_child r b restart=temporary\n\
         start_child p trap=true\nterminate_child p @w#1\nrestart_child r b\n\
         delete_child r b\nget_childspec p w\nwhich_children r\ncount_children p\n",
    )
    .expect("ok");
    let ops: Vec<&Op> = s.ops.iter().map(|o| &o.op).collect();
    assert_eq!(
        *ops[3],
        Op::Crash("a".into(), Reason::ShutdownWith("x".into()))
    );
    assert_eq!(
        *ops[5],
        Op::ExitSignal("r".into(), Reason::Atom("kill".into()))
    );
    assert!(
        matches!(ops[9], Op::StartChild(s, c) if s == "r" && c.restart == Some(Restart::Temporary))
    );
    assert!(matches!(ops[10], Op::StartChildExtra(s, p) if s == "p" && p.trap == Some(true)));
    assert_eq!(
        *ops[11],
        Op::TerminateChild("p".into(), Target::Pid("w#1".into()))
    );
}

#[test]
fn malformed_inputs_name_the_line() {
    let cases: &[(&str, &str)] = &[
        ("frob x\n", "line 1: unknown op 'frob'"),
        ("sup r\nstart\n", "line 2: usage: start <sup>"),
        (
            "sup r\nstart_child\n",
            "line 2: usage: start_child <sup> ...",
        ),
        (
            "sup r\nstart_child r\n",
            "line 2: usage: start_child <sup> <id> [key=value ...]",
        ),
        ("sup\n", "line 1: usage: sup <name> [key=value ...]"),
        (
            "child r\n",
            "line 1: usage: child <parent> <id> [key=value ...]",
        ),
        ("sup R\n", "line 1: bad name 'R' (expected [a-z][a-z0-9_]*)"),
        ("sup r\nsup r\n", "line 2: supervisor r declared twice"),
        (
            "sup r foo=1\n",
            "line 1: unknown option 'foo' (allowed: strategy intensity period auto_shutdown init name)",
        ),
        (
            "sup r intensity=1 intensity=2\n",
            "line 1: option 'intensity' given twice",
        ),
        (
            "sup r intensity\n",
            "line 1: expected key=value, got 'intensity'",
        ),
        (
            "sup r intensity=\n",
            "line 1: expected key=value, got 'intensity='",
        ),
        (
            "sup r intensity=-1\n",
            "line 1: intensity=-1: expected an integer >= 0",
        ),
        (
            "sup r period=-1\n",
            "line 1: period=-1: expected an integer >= 0",
        ),
        (
            "sup r strategy=x\n",
            "line 1: strategy=x: expected one of one_for_one | one_for_all | rest_for_one | simple_one_for_one",
        ),
        (
            "sup r\nchild r a plan=ok*0\n",
            "line 2: plan=0: expected an integer >= 1",
        ),
        (
            "sup r\nchild r a plan=ok,,ok\n",
            "line 2: plan=: expected one of ok | ignore | error | crash | ok_info | bad",
        ),
        (
            "sup r\nchild r a shutdown=soon\n",
            "line 2: shutdown=soon: expected an integer >= 0",
        ),
        (
            "sup r\nsup s\nchild r s type=supervisor trap=true\n",
            "line 3: start/plan/trap/stop_delay are for workers only",
        ),
        (
            "sup r\nstart r\nsup s\n",
            "line 3: declarations (sup, child) must come before the first action",
        ),
        (
            "sup r\nstart r\nchild r a\n",
            "line 3: declarations (sup, child) must come before the first action",
        ),
        ("sup r\nstart s\n", "line 2: unknown supervisor 's'"),
        (
            "sup r\ncrash a#x boom\n",
            "line 2: instance=x: expected an integer >= 1",
        ),
        (
            "sup r\ncrash a#0 boom\n",
            "line 2: instance=0: expected an integer >= 1",
        ),
        (
            "sup r\ncrash a shutdown:\n",
            "line 2: bad name '' (expected [a-z][a-z0-9_]*)",
        ),
        (
            "sup r\ncrash a Boom\n",
            "line 2: bad name 'Boom' (expected [a-z][a-z0-9_]*)",
        ),
        (
            "sup r\nterminate_child r @\n",
            "line 2: bad name '' (expected [a-z][a-z0-9_]*)",
        ),
        ("child r a\n", "line 1: unknown parent supervisor 'r'"),
        (
            "sup r\nchild r a\nchild r a\n",
            "line 3: child id 'a' used twice",
        ),
        (
            "sup r\nchild r s type=supervisor\n",
            "line 2: type=supervisor but no 'sup s' declared",
        ),
        (
            "sup r\nsup s\nchild r s\n",
            "line 3: 's' is a declared supervisor: give type=supervisor",
        ),
        (
            "sup p strategy=simple_one_for_one\nchild p i type=supervisor\nsup i\nchild i x\n",
            "line 2: supervisor 'i' is the template of simple_one_for_one 'p': it cannot have children",
        ),
        (
            "sup p strategy=simple_one_for_one\nchild p i type=supervisor\nsup i\nstart p\nstart_child p trap=true\n",
            "line 5: start_child: the template of 'p' is a supervisor: no probe options",
        ),
        (
            "sup r\nsup s\nchild r a\nchild s a duplicate=true\n",
            "line 4: duplicate=true but no earlier child 'a' of 's'",
        ),
        (
            "sup r\nsup s\nchild r s type=supervisor name=x\n",
            "line 3: start_delay/name/unlink are for workers only",
        ),
        (
            "sup r\nsup s\nchild r s type=supervisor duplicate=true\n",
            "line 3: duplicate=true is for workers only",
        ),
        (
            "sup r\nchild r a\nstart r\nstart_child r b duplicate=true\n",
            "line 4: duplicate=true is for child lines only",
        ),
        (
            "sup r\nstart r\nwhereis foo\n",
            "line 3: whereis: no name=foo anywhere in the scenario",
        ),
        (
            "sup r\nstart r\nelapsed 1 2\n",
            "line 3: elapsed: no earlier mark",
        ),
        (
            "sup r\nstart r\nmark\nelapsed 2 2\n",
            "line 4: elapsed=2: expected an integer >= 3",
        ),
        (
            "sup r\nstart r\nrestarting_ok stop r\n",
            "line 3: restarting_ok: not allowed before 'stop' (allowed: crash kill exit_signal \
             start_child terminate_child restart_child delete_child get_childspec which_children \
             count_children whereis)",
        ),
        (
            "sup r\nrestarting_ok\n",
            "line 2: usage: restarting_ok <op> ...",
        ),
        (
            "sup r init=maybe\n",
            "line 1: init=maybe: expected one of ok | ignore",
        ),
        (
            "sup r\nsup s\nchild r s type=supervisor\nchild s r type=supervisor\n",
            "line 1: supervisor 'r' contains itself",
        ),
        (
            "sup r\nsup s\nchild r s type=supervisor\nstart s\n",
            "line 4: 's' is a child of 'r'; start its top-level supervisor",
        ),
        (
            "sup r\nsup s\nchild r a\nstart_child s a\n",
            "line 4: id 'a' already belongs to supervisor 'r'",
        ),
        ("sup r\nsettle x\n", "line 2: usage: settle"),
    ];
    for (text, want) in cases {
        assert_eq!(&err(text), want, "scenario {text:?}");
    }
}

#[test]
fn plan_repetition_and_ints() {
    let s =
        parse("sup r intensity=+3 period=007\nchild r a plan=crash*2,ok\nstart r\n").expect("ok");
    assert_eq!(s.sups["r"].intensity, Some(3));
    assert_eq!(s.sups["r"].period, Some(7));
    assert_eq!(s.children[0].probe.mode_for(1), StartMode::Crash);
    assert_eq!(s.children[0].probe.mode_for(3), StartMode::Ok);
}
