//! The gen_event scenario language (docs/otp/genevent-oracle.md): the
//! parsed form of a scenario. The parser is `parser.rs`; its error texts
//! follow the oracle's word for word.

use std::collections::BTreeMap;

use crate::term::Term;

/// A handler id: `<kind>` or `{<kind>,<tag>}`, tag an atom or an integer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hid {
    /// The kind (OTP's callback module).
    pub kind: String,
    /// The tag, printed as written (an atom or an integer).
    pub tag: Option<String>,
}

impl Hid {
    /// The id as the trace prints it: `h` or `{h,2}`.
    pub fn text(&self) -> String {
        match &self.tag {
            None => self.kind.clone(),
            Some(t) => format!("{{{},{t}}}", self.kind),
        }
    }

    /// The id as a term.
    pub fn term(&self) -> Term {
        Term::Atom(self.text())
    }
}

/// The callbacks a rule can script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum Callback {
    Init,
    Event,
    Call,
    Info,
    Terminate,
}

impl Callback {
    /// The callback's name in rules and traces.
    pub fn name(self) -> &'static str {
        match self {
            Callback::Init => "init",
            Callback::Event => "event",
            Callback::Call => "call",
            Callback::Info => "info",
            Callback::Terminate => "terminate",
        }
    }
}

/// What a callback does (docs/otp/genevent-oracle.md#gev-declarations), defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// init/event/info: `{ok,S}`.
    Ok,
    /// event/info: `remove_handler`.
    Remove,
    /// event/info: swap to a handler with this argument.
    Swap(Hid, Term),
    /// call: reply and swap.
    CallSwap(Term, Hid, Term),
    /// call: `{ok,T,S}`.
    Reply(Term),
    /// call: `{remove_handler,T}`.
    CallRemove(Term),
    /// terminate: return T.
    Return(Term),
    /// A bad return value.
    Fail(Term),
    /// `erlang:error(T)`.
    Crash(Term),
    /// `exit(T)`.
    Exit(Term),
    /// A synchronous call to its own manager.
    SelfCall,
}

impl Outcome {
    /// The outcome as the trace prints it (`-> <outcome>`).
    pub fn text(&self) -> String {
        match self {
            Outcome::Ok => "ok".to_owned(),
            Outcome::Remove => "remove".to_owned(),
            Outcome::SelfCall => "selfcall".to_owned(),
            Outcome::Swap(h, a) => format!("swap {} {a}", h.text()),
            Outcome::CallSwap(r, h, a) => format!("swap {r} {} {a}", h.text()),
            Outcome::Reply(t) => format!("reply {t}"),
            Outcome::CallRemove(t) => format!("remove {t}"),
            Outcome::Return(t) => format!("return {t}"),
            Outcome::Fail(t) => format!("fail {t}"),
            Outcome::Crash(t) => format!("crash {t}"),
            Outcome::Exit(t) => format!("exit {t}"),
        }
    }
}

/// `on <hid> <callback> <pattern> <outcome...> [delay=MS] [notify=TERM]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The pattern (`Term::Wild` is `_`).
    pub pattern: Term,
    /// What the callback does.
    pub outcome: Outcome,
    /// `delay=` in ms.
    pub delay: Option<u64>,
    /// `notify=`.
    pub notify: Option<Term>,
}

/// `owner <name> [trap=B]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerDecl {
    /// The name.
    pub name: String,
    /// Whether it traps exits.
    pub trap: bool,
}

/// A process an op targets: the manager or an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `mgr`.
    Mgr,
    /// An owner.
    Owner(String),
}

/// The actions (docs/otp/genevent-oracle.md#gev-actions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Start {
        named: bool,
        link: bool,
    },
    Stop(Option<Term>),
    Kill(Target),
    Crash(String, Term),
    ExitSignal {
        target: Target,
        reason: Term,
        from: Option<String>,
    },
    Add {
        hid: Hid,
        arg: Term,
        owner: Option<String>,
    },
    Remove(Hid),
    Swap {
        old: Hid,
        new: Hid,
        arg: Term,
        owner: Option<String>,
    },
    Notify(Term),
    SyncNotify(Term),
    Call {
        hid: Hid,
        request: Term,
        timeout: Option<u64>,
    },
    Info(Term),
    WhichHandlers,
}

/// An op with its line and its echo (`> ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpLine {
    /// Line number.
    pub line: usize,
    /// Tokens joined by one space.
    pub echo: String,
    /// The action.
    pub op: Op,
}

/// A parsed gen_event scenario.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scenario {
    /// Declared handler ids, in file order.
    pub handlers: Vec<Hid>,
    /// Declared owners, in file order.
    pub owners: Vec<OwnerDecl>,
    /// Rules per (handler, callback), in file order.
    pub rules: BTreeMap<(Hid, Callback), Vec<Rule>>,
    /// Actions in file order.
    pub ops: Vec<OpLine>,
}

impl Scenario {
    /// The first rule of `(hid, cb)` whose pattern matches `arg`.
    pub fn rule(&self, hid: &Hid, cb: Callback, arg: &Term) -> Option<&Rule> {
        self.rules
            .get(&(hid.clone(), cb))?
            .iter()
            .find(|r| matches(&r.pattern, arg))
    }

    /// Whether any rule has a `delay=`.
    pub fn has_delays(&self) -> bool {
        self.rules.values().flatten().any(|r| r.delay.is_some())
    }
}

/// Pattern matching on printed terms: `_` (`Term::Wild`) matches anything.
pub fn matches(p: &Term, t: &Term) -> bool {
    match (p, t) {
        (Term::Wild, _) => true,
        (Term::Tuple(ps), Term::Tuple(ts)) | (Term::List(ps), Term::List(ts)) => {
            ps.len() == ts.len() && ps.iter().zip(ts).all(|(p, t)| matches(p, t))
        }
        _ => p == t,
    }
}
