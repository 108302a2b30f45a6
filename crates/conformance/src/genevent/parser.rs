//! Parsing and validating a gen_event scenario
//! (docs/otp/genevent-oracle.md#gev-scenarios). Every error text is the
//! oracle's, word for word, so a malformed scenario gets the same
//! `line N: <what>` from both runners.

use std::collections::BTreeMap;

use super::scenario::{Callback, Hid, Op, OpLine, Outcome, OwnerDecl, Rule, Scenario, Target};
use crate::scenario::{ParseError, tokens};
use crate::term::Term;

mod term;

pub(crate) use term::parse_term;

type Res<T> = Result<T, ParseError>;

fn perr<T>(line: usize, message: impl Into<String>) -> Res<T> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

const OP_USAGE: &[&str] = &[
    "start [named=true|false] [link=true|false]",
    "stop [reason]",
    "kill mgr|<owner>",
    "crash <owner> <reason>",
    "exit_signal mgr|<owner> <reason> [from=<owner>]",
    "add <handler> [arg] [owner=<owner>]",
    "remove <handler>",
    "swap <old> <new> [arg] [owner=<owner>]",
    "notify <event>",
    "sync_notify <event>",
    "call <handler> <request> [timeout=MS]",
    "info <message>",
    "which_handlers",
];

/// Parses and validates a gen_event scenario.
///
/// # Errors
///
/// [`ParseError`] for anything the oracle rejects before running
/// (docs/otp/genevent-oracle.md#gev-rejected), with the oracle's message.
pub fn parse(text: &str) -> Res<Scenario> {
    let mut p = Parser::default();
    for (i, raw) in text.split('\n').enumerate() {
        p.line(i + 1, &tokens(raw))?;
    }
    Ok(Scenario {
        handlers: p.handlers,
        owners: p.owners,
        rules: p.rules,
        ops: p.ops,
    })
}

#[derive(Default)]
struct Parser {
    handlers: Vec<Hid>,
    owners: Vec<OwnerDecl>,
    rules: BTreeMap<(Hid, Callback), Vec<Rule>>,
    ops: Vec<OpLine>,
}

/// `key=value` options (in `allowed`) and positional arguments, checked
/// right to left as the oracle's `foldr` does.
struct Split<'a> {
    pos: Vec<&'a str>,
    kv: BTreeMap<&'a str, &'a str>,
}

fn split_opts<'a>(n: usize, toks: &[&'a str], allowed: &[&str]) -> Res<Split<'a>> {
    let mut pos = Vec::new();
    let mut kv = BTreeMap::new();
    for tok in toks.iter().rev() {
        match tok.split_once('=') {
            None => pos.push(*tok),
            Some((k, v)) if !k.is_empty() && !v.is_empty() => {
                if !allowed.contains(&k) {
                    let hint = if allowed.is_empty() {
                        " (this line takes no options)".to_owned()
                    } else {
                        format!(" (allowed: {})", allowed.join(" "))
                    };
                    return perr(n, format!("unknown option '{k}'{hint}"));
                }
                if kv.insert(k, v).is_some() {
                    return perr(n, format!("option '{k}' given twice"));
                }
            }
            Some(_) => return perr(n, format!("expected key=value, got '{tok}'")),
        }
    }
    pos.reverse();
    Ok(Split { pos, kv })
}

fn enumerate(n: usize, key: &str, v: &str, allowed: &[&str]) -> Res<usize> {
    allowed.iter().position(|a| *a == v).map_or_else(
        || {
            perr(
                n,
                format!("{key}={v}: expected one of {}", allowed.join(" | ")),
            )
        },
        Ok,
    )
}

fn bool_opt(n: usize, key: &str, kv: &BTreeMap<&str, &str>, default: bool) -> Res<bool> {
    match kv.get(key) {
        Some(v) => Ok(enumerate(n, key, v, &["true", "false"])? == 0),
        None => Ok(default),
    }
}

/// `string:to_integer/1` of the whole value, at least `min`.
fn int(n: usize, key: &str, v: &str, min: i64) -> Res<u64> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match v.parse::<i64>() {
        Ok(i) if ok && i >= min => Ok(u64::try_from(i).unwrap_or(0)),
        _ => perr(n, format!("{key}={v}: expected an integer >= {min}")),
    }
}

fn is_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_ascii_lowercase())
        && cs.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn name(n: usize, s: &str) -> Res<String> {
    if is_name(s) {
        Ok(s.to_owned())
    } else {
        perr(n, format!("bad name '{s}' (expected [a-z][a-z0-9_]*)"))
    }
}

fn term(n: usize, tok: &str, pattern: bool) -> Res<Term> {
    parse_term(tok, pattern).map_or_else(|| perr(n, format!("bad term '{tok}'")), Ok)
}

fn hid(n: usize, tok: &str) -> Res<Hid> {
    match term(n, tok, false)? {
        Term::Atom(k) => Ok(Hid {
            kind: name(n, &k)?,
            tag: None,
        }),
        Term::Tuple(items) if items.len() == 2 => match (&items[0], &items[1]) {
            (Term::Atom(k), Term::Atom(_) | Term::Int(_)) => Ok(Hid {
                kind: name(n, k)?,
                tag: Some(items[1].to_string()),
            }),
            _ => bad_hid(n, tok),
        },
        _ => bad_hid(n, tok),
    }
}

fn bad_hid<T>(n: usize, tok: &str) -> Res<T> {
    perr(
        n,
        format!("bad handler id '{tok}' (expected <name> or {{<name>,<atom|integer>}})"),
    )
}

fn opt_arg(n: usize, a: &[&str], default: &str) -> Res<Term> {
    match a {
        [] => Ok(Term::atom(default)),
        [t] => term(n, t, false),
        _ => perr(n, "too many arguments"),
    }
}

/// A `fail` value must be one gen_event rejects as a return.
fn fail_value(n: usize, v: Term) -> Res<Term> {
    let first_is = |names: &[&str]| match &v {
        Term::Atom(a) => names.contains(&a.as_str()),
        Term::Tuple(items) => {
            matches!(items.first(), Some(Term::Atom(a)) if names.contains(&a.as_str()))
        }
        _ => false,
    };
    let bad = match &v {
        Term::Atom(_) => first_is(&["ok", "remove_handler"]),
        Term::Tuple(_) => first_is(&["ok", "remove_handler", "swap_handler"]),
        _ => false,
    };
    if bad {
        return perr(
            n,
            format!("fail value {v} is a valid gen_event return; use another term"),
        );
    }
    Ok(v)
}

/// A plain message must not be one gen_event interprets itself.
fn protocol(m: &Term) -> bool {
    let Term::Tuple(items) = m else {
        return false;
    };
    let atom = |t: &Term, names: &[&str]| matches!(t, Term::Atom(a) if names.contains(&a.as_str()));
    match items.as_slice() {
        [tag, _] if atom(tag, &["notify"]) => true,
        [tag, _, _] if atom(tag, &["system", "EXIT"]) => true,
        [_, _, r] if atom(r, &["stop", "which_handlers", "get_modules"]) => true,
        [_, _, Term::Tuple(r)] => r.first().is_some_and(|f| {
            atom(
                f,
                &[
                    "sync_notify",
                    "call",
                    "add_handler",
                    "add_sup_handler",
                    "delete_handler",
                    "swap_handler",
                    "swap_sup_handler",
                ],
            )
        }),
        _ => false,
    }
}

impl Parser {
    fn line(&mut self, n: usize, toks: &[&str]) -> Res<()> {
        let Some((&op, args)) = toks.split_first() else {
            return Ok(());
        };
        let decl = matches!(op, "handler" | "owner" | "on");
        if decl && !self.ops.is_empty() {
            return perr(
                n,
                "declarations (handler, owner, on) must come before the first action",
            );
        }
        match (op, args) {
            ("handler", [h]) => self.handler(n, h),
            ("handler", _) => perr(n, "usage: handler <id>"),
            ("owner", [o, opts @ ..]) => self.owner(n, o, opts),
            ("owner", _) => perr(n, "usage: owner <name> [trap=true|false]"),
            ("on", [h, cb, pat, rest @ ..]) => self.rule(n, h, cb, pat, rest),
            ("on", _) => perr(
                n,
                "usage: on <handler> <callback> <pattern> <outcome...> [delay=MS] [notify=TERM]",
            ),
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

    fn handler(&mut self, n: usize, h: &str) -> Res<()> {
        let id = hid(n, h)?;
        if self.handlers.contains(&id) {
            return perr(n, format!("handler {h} declared twice"));
        }
        if self.owners.iter().any(|o| o.name == id.kind) {
            return perr(n, format!("'{}' is already an owner name", id.kind));
        }
        self.handlers.push(id);
        Ok(())
    }

    fn owner(&mut self, n: usize, o: &str, opts: &[&str]) -> Res<()> {
        let nm = name(n, o)?;
        if nm == "mgr" || nm == "runner" {
            return perr(n, format!("'{o}' is reserved"));
        }
        if self.owners.iter().any(|d| d.name == nm) {
            return perr(n, format!("owner {o} declared twice"));
        }
        if self.handlers.iter().any(|h| h.kind == nm) {
            return perr(n, format!("'{o}' is already a handler name"));
        }
        let split = split_opts(n, opts, &["trap"])?;
        if !split.pos.is_empty() {
            return perr(n, "usage: owner <name> [trap=true|false]");
        }
        let trap = bool_opt(n, "trap", &split.kv, false)?;
        self.owners.push(OwnerDecl { name: nm, trap });
        Ok(())
    }

    fn declared(&self, n: usize, tok: &str) -> Res<Hid> {
        let id = hid(n, tok)?;
        if !self.handlers.contains(&id) {
            return perr(n, format!("undeclared handler {}", id.text()));
        }
        Ok(id)
    }

    fn rule(&mut self, n: usize, h: &str, cb: &str, pat: &str, rest: &[&str]) -> Res<()> {
        let id = self.declared(n, h)?;
        let names = ["init", "event", "call", "info", "terminate"];
        let callback = match enumerate(n, "callback", cb, &names)? {
            0 => Callback::Init,
            1 => Callback::Event,
            2 => Callback::Call,
            3 => Callback::Info,
            _ => Callback::Terminate,
        };
        let pattern = term(n, pat, true)?;
        let split = split_opts(n, rest, &["delay", "notify"])?;
        let outcome = self.outcome(n, callback, &split.pos)?;
        let delay = match split.kv.get("delay") {
            Some(v) => Some(int(n, "delay", v, 0)?),
            None => None,
        };
        let notify = match split.kv.get("notify") {
            Some(v) => Some(term(n, v, false)?),
            None => None,
        };
        self.rules.entry((id, callback)).or_default().push(Rule {
            pattern,
            outcome,
            delay,
            notify,
        });
        Ok(())
    }

    fn outcome(&self, n: usize, cb: Callback, pos: &[&str]) -> Res<Outcome> {
        use Callback as C;
        let event_like = matches!(cb, C::Event | C::Info);
        Ok(match pos {
            ["ok"] if cb == C::Init || event_like => Outcome::Ok,
            ["remove"] if event_like => Outcome::Remove,
            ["swap", h, a @ ..] if event_like && a.len() <= 1 => {
                Outcome::Swap(self.declared(n, h)?, opt_arg(n, a, "swap")?)
            }
            ["selfcall"] if event_like || cb == C::Call => Outcome::SelfCall,
            ["reply", t] if cb == C::Call => Outcome::Reply(term(n, t, false)?),
            ["remove", t] if cb == C::Call => Outcome::CallRemove(term(n, t, false)?),
            ["swap", r, h, a @ ..] if cb == C::Call && a.len() <= 1 => {
                let r = term(n, r, false)?;
                Outcome::CallSwap(r, self.declared(n, h)?, opt_arg(n, a, "swap")?)
            }
            ["return", t] if cb == C::Terminate => Outcome::Return(term(n, t, false)?),
            ["fail", t] if cb != C::Terminate => Outcome::Fail(fail_value(n, term(n, t, false)?)?),
            ["crash", t] => Outcome::Crash(term(n, t, false)?),
            ["exit", t] => Outcome::Exit(term(n, t, false)?),
            _ => {
                let usage = match cb {
                    C::Init => "ok | fail T | crash T | exit T",
                    C::Event | C::Info => {
                        "ok | remove | swap H [A] | fail T | crash T | exit T | selfcall"
                    }
                    C::Call => {
                        "reply T | remove T | swap R H [A] | fail T | crash T | exit T | selfcall"
                    }
                    C::Terminate => "return T | crash T | exit T",
                };
                return perr(n, format!("bad {} outcome (expected {usage})", cb.name()));
            }
        })
    }

    fn owner_ref(&self, n: usize, o: &str) -> Res<String> {
        let nm = name(n, o)?;
        if !self.owners.iter().any(|d| d.name == nm) {
            return perr(n, format!("unknown owner '{o}'"));
        }
        Ok(nm)
    }

    fn target(&self, n: usize, t: &str) -> Res<Target> {
        if t == "mgr" {
            Ok(Target::Mgr)
        } else {
            Ok(Target::Owner(self.owner_ref(n, t)?))
        }
    }

    fn op_owner(&self, n: usize, kv: &BTreeMap<&str, &str>) -> Res<Option<String>> {
        match kv.get("owner") {
            Some(o) => Ok(Some(self.owner_ref(n, o)?)),
            None => Ok(None),
        }
    }

    fn op(&self, n: usize, op: &str, args: &[&str]) -> Res<Op> {
        let allowed: &[&str] = match op {
            "start" => &["named", "link"],
            "exit_signal" => &["from"],
            "add" | "swap" => &["owner"],
            "call" => &["timeout"],
            _ => &[],
        };
        let Split { pos, kv } = split_opts(n, args, allowed)?;
        Ok(match (op, pos.as_slice()) {
            ("start", []) => Op::Start {
                named: bool_opt(n, "named", &kv, false)?,
                link: bool_opt(n, "link", &kv, true)?,
            },
            ("stop", []) => Op::Stop(None),
            ("stop", [r]) => Op::Stop(Some(term(n, r, false)?)),
            ("kill", [t]) => Op::Kill(self.target(n, t)?),
            ("crash", [o, r]) => Op::Crash(self.owner_ref(n, o)?, term(n, r, false)?),
            ("exit_signal", [t, r]) => {
                let from = match kv.get("from") {
                    Some(f) => Some(self.owner_ref(n, f)?),
                    None => None,
                };
                let target = self.target(n, t)?;
                if matches!((&target, &from), (Target::Owner(a), Some(b)) if a == b) {
                    return perr(n, "an owner cannot signal itself (use crash)");
                }
                Op::ExitSignal {
                    target,
                    reason: term(n, r, false)?,
                    from,
                }
            }
            ("add", [h, a @ ..]) if a.len() <= 1 => Op::Add {
                hid: self.declared(n, h)?,
                arg: opt_arg(n, a, "add")?,
                owner: self.op_owner(n, &kv)?,
            },
            ("remove", [h]) => Op::Remove(self.declared(n, h)?),
            ("swap", [h1, h2, a @ ..]) if a.len() <= 1 => Op::Swap {
                old: self.declared(n, h1)?,
                new: self.declared(n, h2)?,
                arg: opt_arg(n, a, "swap")?,
                owner: self.op_owner(n, &kv)?,
            },
            ("notify", [e]) => Op::Notify(term(n, e, false)?),
            ("sync_notify", [e]) => Op::SyncNotify(term(n, e, false)?),
            ("call", [h, q]) => {
                let timeout = match kv.get("timeout") {
                    Some(t) => Some(int(n, "timeout", t, 0)?),
                    None => None,
                };
                Op::Call {
                    hid: self.declared(n, h)?,
                    request: term(n, q, false)?,
                    timeout,
                }
            }
            ("info", [m]) => {
                let m = term(n, m, false)?;
                if protocol(&m) {
                    return perr(
                        n,
                        format!("info {m} looks like a gen_event protocol message (README 1.4)"),
                    );
                }
                Op::Info(m)
            }
            ("which_handlers", []) => Op::WhichHandlers,
            _ => {
                return match OP_USAGE.iter().find(|u| u.split(' ').next() == Some(op)) {
                    Some(u) => perr(n, format!("usage: {u}")),
                    None => perr(n, format!("unknown op '{op}'")),
                };
            }
        })
    }
}

#[cfg(test)]
mod tests;
