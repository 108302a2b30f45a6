//! Lexing, declarations, probe options, ops and whole-scenario validation.

use std::collections::BTreeMap;

use super::{
    AutoShutdown, ChildDecl, Delay, Kind, Op, OpLine, ParseError, ProbeOpts, Reason, Restart,
    Scenario, Shutdown, StartMode, Strategy, SupDecl, Target,
};

mod check;

use check::check_tree;

type Res<T> = Result<T, ParseError>;

fn perr<T>(line: usize, message: impl Into<String>) -> Res<T> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// Splits a line into tokens; a token starting with `#` ends the line.
pub fn tokens(line: &str) -> Vec<&str> {
    line.split([' ', '\t', '\r'])
        .filter(|t| !t.is_empty())
        .take_while(|t| !t.starts_with('#'))
        .collect()
}

const SUP_KEYS: &[&str] = &[
    "strategy",
    "intensity",
    "period",
    "auto_shutdown",
    "init",
    "name",
];
const CHILD_KEYS: &[&str] = &[
    "restart",
    "shutdown",
    "type",
    "significant",
    "missing_id",
    "duplicate",
    "start",
    "plan",
    "trap",
    "stop_delay",
    "start_delay",
    "name",
    "unlink",
];
const PROBE_KEYS: &[&str] = &[
    "start",
    "plan",
    "trap",
    "stop_delay",
    "start_delay",
    "name",
    "unlink",
];
const START_MODES: &[&str] = &["ok", "ignore", "error", "crash", "ok_info", "bad"];

/// The ops that may follow `restarting_ok` (v2).
const RESTARTING_OK_OPS: &[&str] = &[
    "crash",
    "kill",
    "exit_signal",
    "start_child",
    "terminate_child",
    "restart_child",
    "delete_child",
    "get_childspec",
    "which_children",
    "count_children",
    "whereis",
];

const USAGE: &[&str] = &[
    "restarting_ok <op> ...",
    "whereis <name>",
    "mark",
    "elapsed <min_ms> <max_ms>",
    "start <sup>",
    "stop <sup>",
    "crash <id> <reason>",
    "kill <id>",
    "exit_signal <id> <reason>",
    "settle",
    "await_restarted <id>",
    "sleep_past_period <sup>",
    "start_child <sup> ...",
    "terminate_child <sup> <id|@id>",
    "restart_child <sup> <id|@id>",
    "delete_child <sup> <id|@id>",
    "get_childspec <sup> <id|@id>",
    "which_children <sup>",
    "count_children <sup>",
];

/// Parses and validates a scenario.
///
/// # Errors
///
/// [`ParseError`] for anything docs/otp/oracle.md#oracle-rejected rejects before running.
pub fn parse(text: &str) -> Res<Scenario> {
    let mut p = Parser::default();
    for (i, raw) in text.split('\n').enumerate() {
        p.line(i + 1, &tokens(raw))?;
    }
    let scn = Scenario {
        sups: p.sups,
        children: p.children,
        ops: p.ops,
    };
    check_tree(&scn)?;
    Ok(scn)
}

#[derive(Default)]
struct Parser {
    sups: BTreeMap<String, SupDecl>,
    children: Vec<ChildDecl>,
    ops: Vec<OpLine>,
}

impl Parser {
    fn line(&mut self, n: usize, toks: &[&str]) -> Res<()> {
        let Some((&op, args)) = toks.split_first() else {
            return Ok(());
        };
        let decl_phase = self.ops.is_empty();
        match (op, args) {
            ("sup", [name, opts @ ..]) if decl_phase => self.sup(n, name, opts),
            ("child", [parent, id, opts @ ..]) if decl_phase => {
                let mut c = child_decl(n, id, opts)?;
                c.parent = name(n, parent)?;
                self.children.push(c);
                Ok(())
            }
            ("sup" | "child", _) if !decl_phase => perr(
                n,
                "declarations (sup, child) must come before the first action",
            ),
            ("sup", _) => perr(n, "usage: sup <name> [key=value ...]"),
            ("child", _) => perr(n, "usage: child <parent> <id> [key=value ...]"),
            _ => {
                let parsed = self.op(n, op, args)?;
                self.ops.push(OpLine {
                    line: n,
                    echo: toks.join(" "),
                    op: parsed,
                });
                Ok(())
            }
        }
    }

    fn sup(&mut self, n: usize, raw: &str, opts: &[&str]) -> Res<()> {
        let sup = name(n, raw)?;
        if self.sups.contains_key(&sup) {
            return perr(n, format!("supervisor {raw} declared twice"));
        }
        let kv = kv(n, opts, SUP_KEYS)?;
        let mut d = SupDecl {
            name: sup.clone(),
            line: n,
            strategy: None,
            intensity: None,
            period: None,
            auto_shutdown: None,
            init_ignore: false,
            reg_name: None,
        };
        // maps:map visits keys in atom order.
        for (k, v) in &kv {
            match *k {
                "auto_shutdown" => {
                    d.auto_shutdown = Some(
                        match enumerate(n, k, v, &["never", "any_significant", "all_significant"])?
                        {
                            0 => AutoShutdown::Never,
                            1 => AutoShutdown::AnySignificant,
                            _ => AutoShutdown::AllSignificant,
                        },
                    );
                }
                "intensity" => d.intensity = Some(to_u32(n, k, v, 0)?),
                // v2: 0 reaches the library (invalid_period).
                "period" => d.period = Some(to_u32(n, k, v, 0)?),
                "init" => d.init_ignore = enumerate(n, k, v, &["ok", "ignore"])? == 1,
                "name" => d.reg_name = Some(name(n, v)?),
                _ => {
                    d.strategy = Some(
                        match enumerate(
                            n,
                            k,
                            v,
                            &[
                                "one_for_one",
                                "one_for_all",
                                "rest_for_one",
                                "simple_one_for_one",
                            ],
                        )? {
                            0 => Strategy::OneForOne,
                            1 => Strategy::OneForAll,
                            2 => Strategy::RestForOne,
                            _ => Strategy::SimpleOneForOne,
                        },
                    );
                }
            }
        }
        self.sups.insert(sup, d);
        Ok(())
    }

    fn sup_ref(&self, n: usize, raw: &str) -> Res<String> {
        let sup = name(n, raw)?;
        if !self.sups.contains_key(&sup) {
            return perr(n, format!("unknown supervisor '{raw}'"));
        }
        Ok(sup)
    }

    fn op(&self, n: usize, op: &str, args: &[&str]) -> Res<Op> {
        Ok(match (op, args) {
            ("restarting_ok", [inner, rest @ ..]) => {
                if !RESTARTING_OK_OPS.contains(inner) {
                    return perr(
                        n,
                        format!(
                            "restarting_ok: not allowed before '{inner}' (allowed: {})",
                            RESTARTING_OK_OPS.join(" ")
                        ),
                    );
                }
                Op::RestartingOk(Box::new(self.op(n, inner, rest)?))
            }
            ("whereis", [r]) => Op::Whereis(name(n, r)?),
            ("mark", []) => Op::Mark,
            ("elapsed", [lo, hi]) => {
                let lo = to_int(n, "elapsed", lo, 0)?;
                Op::Elapsed(lo, to_int(n, "elapsed", hi, lo + 1)?)
            }
            ("start", [s]) => Op::Start(self.sup_ref(n, s)?),
            ("stop", [s]) => Op::Stop(self.sup_ref(n, s)?),
            ("crash", [id, r]) => Op::Crash(proc_id(n, id)?, reason(n, r)?),
            ("kill", [id]) => Op::Kill(proc_id(n, id)?),
            ("exit_signal", [id, r]) => Op::ExitSignal(proc_id(n, id)?, reason(n, r)?),
            ("settle", []) => Op::Settle,
            ("await_restarted", [id]) => Op::AwaitRestarted(proc_id(n, id)?),
            ("sleep_past_period", [s]) => Op::SleepPastPeriod(self.sup_ref(n, s)?),
            ("start_child", [s, rest @ ..]) => {
                let sup = self.sup_ref(n, s)?;
                if self.sups[&sup].strategy() == Strategy::SimpleOneForOne {
                    let over = probe_opts(n, &kv(n, rest, PROBE_KEYS)?)?;
                    let mine: Vec<&ChildDecl> =
                        self.children.iter().filter(|c| c.parent == sup).collect();
                    if let [c] = mine.as_slice()
                        && c.kind == Kind::Supervisor
                        && !over.is_empty()
                    {
                        return perr(
                            n,
                            format!(
                                "start_child: the template of '{sup}' is a supervisor: no probe options"
                            ),
                        );
                    }
                    Op::StartChildExtra(sup, over)
                } else if let [id, opts @ ..] = rest {
                    let mut c = child_decl(n, id, opts)?;
                    if c.duplicate {
                        return perr(n, "duplicate=true is for child lines only");
                    }
                    c.parent = sup.clone();
                    Op::StartChild(sup, c)
                } else {
                    return perr(n, "usage: start_child <sup> <id> [key=value ...]");
                }
            }
            ("terminate_child", [s, t]) => Op::TerminateChild(self.sup_ref(n, s)?, target(n, t)?),
            ("restart_child", [s, t]) => Op::RestartChild(self.sup_ref(n, s)?, target(n, t)?),
            ("delete_child", [s, t]) => Op::DeleteChild(self.sup_ref(n, s)?, target(n, t)?),
            ("get_childspec", [s, t]) => Op::GetChildspec(self.sup_ref(n, s)?, target(n, t)?),
            ("which_children", [s]) => Op::WhichChildren(self.sup_ref(n, s)?),
            ("count_children", [s]) => Op::CountChildren(self.sup_ref(n, s)?),
            _ => {
                return match USAGE.iter().find(|u| u.split(' ').next() == Some(op)) {
                    Some(u) => perr(n, format!("usage: {u}")),
                    None => perr(n, format!("unknown op '{op}'")),
                };
            }
        })
    }
}

fn child_decl(n: usize, id: &str, opts: &[&str]) -> Res<ChildDecl> {
    let kv = kv(n, opts, CHILD_KEYS)?;
    let mut c = ChildDecl {
        parent: String::new(),
        id: String::new(),
        line: n,
        restart: None,
        shutdown: None,
        kind: Kind::Worker,
        kind_given: false,
        significant: None,
        probe: ProbeOpts::default(),
        missing_id: false,
        duplicate: false,
    };
    for (k, v) in &kv {
        match *k {
            "restart" => {
                c.restart = Some(
                    match enumerate(n, k, v, &["permanent", "transient", "temporary"])? {
                        0 => Restart::Permanent,
                        1 => Restart::Transient,
                        _ => Restart::Temporary,
                    },
                );
            }
            "shutdown" => {
                c.shutdown = Some(match *v {
                    "brutal_kill" => Shutdown::BrutalKill,
                    "infinity" => Shutdown::Infinity,
                    _ => Shutdown::Ms(to_int(n, k, v, 0)?),
                });
            }
            "significant" => c.significant = Some(enumerate(n, k, v, &["true", "false"])? == 0),
            "missing_id" => c.missing_id = enumerate(n, k, v, &["true", "false"])? == 0,
            "duplicate" => c.duplicate = enumerate(n, k, v, &["true", "false"])? == 0,
            "type" => {
                c.kind_given = true;
                c.kind = match enumerate(n, k, v, &["worker", "supervisor"])? {
                    0 => Kind::Worker,
                    _ => Kind::Supervisor,
                };
            }
            _ => {}
        }
    }
    let probe: Vec<(&str, &str)> = kv
        .iter()
        .filter(|(k, _)| PROBE_KEYS.contains(k))
        .copied()
        .collect();
    c.probe = probe_opts(n, &probe)?;
    if c.kind == Kind::Supervisor {
        let p = &c.probe;
        if p.start.is_some() || p.plan.is_some() || p.trap.is_some() || p.stop_delay.is_some() {
            return perr(n, "start/plan/trap/stop_delay are for workers only");
        }
        if !p.is_empty() {
            return perr(n, "start_delay/name/unlink are for workers only");
        }
        if c.duplicate {
            return perr(n, "duplicate=true is for workers only");
        }
    }
    c.id = name(n, id)?;
    Ok(c)
}

fn probe_opts(n: usize, kv: &[(&str, &str)]) -> Res<ProbeOpts> {
    let mut p = ProbeOpts::default();
    for (k, v) in kv {
        match *k {
            "start" => p.start = Some(start_mode(n, k, v)?),
            "trap" => p.trap = Some(enumerate(n, k, v, &["true", "false"])? == 0),
            "stop_delay" => {
                p.stop_delay = Some(match *v {
                    "infinity" => Delay::Infinity,
                    _ => Delay::Ms(to_int(n, k, v, 0)?),
                });
            }
            "start_delay" => p.start_delay = Some(to_int(n, k, v, 0)?),
            "name" => p.name = Some(name(n, v)?),
            "unlink" => p.unlink = Some(enumerate(n, k, v, &["true", "false"])? == 0),
            _ => {
                let mut plan = Vec::new();
                for item in v.split(',') {
                    match item.split_once('*') {
                        None => plan.push(start_mode(n, "plan", item)?),
                        Some((m, count)) => {
                            let count = to_int(n, "plan", count, 1)?;
                            let m = start_mode(n, "plan", m)?;
                            // Bounded: a plan longer than this is never reached.
                            plan.extend(std::iter::repeat_n(m, count.min(100_000) as usize));
                        }
                    }
                }
                p.plan = Some(plan);
            }
        }
    }
    Ok(p)
}

fn start_mode(n: usize, key: &str, v: &str) -> Res<StartMode> {
    Ok(match enumerate(n, key, v, START_MODES)? {
        0 => StartMode::Ok,
        1 => StartMode::Ignore,
        2 => StartMode::Error,
        3 => StartMode::Crash,
        4 => StartMode::OkInfo,
        _ => StartMode::Bad,
    })
}

/// `key=value` tokens, only `allowed` keys, each at most once; returned in
/// key order (the order `maps:map` visits them in the oracle).
fn kv<'a>(n: usize, toks: &[&'a str], allowed: &[&str]) -> Res<Vec<(&'a str, &'a str)>> {
    let mut out: BTreeMap<&str, &str> = BTreeMap::new();
    for tok in toks {
        match tok.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => {
                if !allowed.contains(&k) {
                    return perr(
                        n,
                        format!("unknown option '{k}' (allowed: {})", allowed.join(" ")),
                    );
                }
                if out.insert(k, v).is_some() {
                    return perr(n, format!("option '{k}' given twice"));
                }
            }
            _ => return perr(n, format!("expected key=value, got '{tok}'")),
        }
    }
    Ok(out.into_iter().collect())
}

fn enumerate(n: usize, key: &str, v: &str, allowed: &[&str]) -> Res<usize> {
    match allowed.iter().position(|a| *a == v) {
        Some(i) => Ok(i),
        None => perr(
            n,
            format!("{key}={v}: expected one of {}", allowed.join(" | ")),
        ),
    }
}

/// `string:to_integer/1` accepting the whole token: optional sign, digits.
fn to_int(n: usize, key: &str, v: &str, min: u64) -> Res<u64> {
    let bad = || perr(n, format!("{key}={v}: expected an integer >= {min}"));
    let (neg, digits) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return bad();
    }
    let value: u64 = digits.parse().unwrap_or(u64::MAX);
    let is_zero = value == 0;
    if (neg && !is_zero) || value < min {
        return bad();
    }
    Ok(value)
}

fn to_u32(n: usize, key: &str, v: &str, min: u64) -> Res<u32> {
    let i = to_int(n, key, v, min)?;
    Ok(u32::try_from(i).unwrap_or(u32::MAX))
}

/// A name: `[a-z][a-z0-9_]*`.
pub fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(b'a'..=b'z'))
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn name(n: usize, s: &str) -> Res<String> {
    if is_name(s) {
        Ok(s.to_owned())
    } else {
        perr(n, format!("bad name '{s}' (expected [a-z][a-z0-9_]*)"))
    }
}

/// A process id: a name, or `tmpl#k`.
fn proc_id(n: usize, s: &str) -> Res<String> {
    match s.split_once('#') {
        Some((t, k)) => {
            name(n, t)?;
            to_int(n, "instance", k, 1)?;
            Ok(s.to_owned())
        }
        None => name(n, s),
    }
}

fn target(n: usize, s: &str) -> Res<Target> {
    match s.strip_prefix('@') {
        Some(id) => Ok(Target::Pid(proc_id(n, id)?)),
        None => Ok(Target::Id(name(n, s)?)),
    }
}

fn reason(n: usize, s: &str) -> Res<Reason> {
    Ok(match s {
        "normal" => Reason::Normal,
        "shutdown" => Reason::Shutdown,
        _ => match s.strip_prefix("shutdown:") {
            Some(t) => Reason::ShutdownWith(name(n, t)?),
            None => Reason::Atom(name(n, s)?),
        },
    })
}
