//! The scenario language (docs/otp/oracle.md#oracle-scenarios): the parsed form of a scenario.
//! The parser and the whole-scenario checks are in `parser.rs`; their error
//! texts follow `oracle.erl` word for word, so a malformed scenario gets the
//! same `line N: <what>` from both runners.

use std::collections::BTreeMap;

/// A parsed, validated scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Declared supervisors by name.
    pub sups: BTreeMap<String, SupDecl>,
    /// `child` lines in file order.
    pub children: Vec<ChildDecl>,
    /// Actions in file order.
    pub ops: Vec<OpLine>,
}

/// `sup <name> [strategy=S] [intensity=N] [period=N] [auto_shutdown=A]`.
/// A flag left out is `None`: the runner must use the library default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupDecl {
    /// The supervisor's name.
    pub name: String,
    /// Line of the declaration.
    pub line: usize,
    /// `strategy=`.
    pub strategy: Option<Strategy>,
    /// `intensity=`.
    pub intensity: Option<u32>,
    /// `period=` (seconds).
    pub period: Option<u32>,
    /// `auto_shutdown=`.
    pub auto_shutdown: Option<AutoShutdown>,
    /// (v2) `init=ignore`: the start function returns ignore.
    pub init_ignore: bool,
    /// (v2) `name=`: registered under this name on every start.
    pub reg_name: Option<String>,
}

impl SupDecl {
    /// The strategy, OTP's default (`one_for_one`) when not given.
    pub fn strategy(&self) -> Strategy {
        self.strategy.unwrap_or(Strategy::OneForOne)
    }
}

/// Restart strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Strategy {
    OneForOne,
    OneForAll,
    RestForOne,
    SimpleOneForOne,
}

/// `auto_shutdown=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AutoShutdown {
    Never,
    AnySignificant,
    AllSignificant,
}

/// `restart=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Restart {
    Permanent,
    Transient,
    Temporary,
}

impl Restart {
    /// The atom.
    pub fn name(self) -> &'static str {
        match self {
            Restart::Permanent => "permanent",
            Restart::Transient => "transient",
            Restart::Temporary => "temporary",
        }
    }
}

/// `shutdown=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// `brutal_kill`.
    BrutalKill,
    /// `infinity`.
    Infinity,
    /// Milliseconds.
    Ms(u64),
}

/// `type=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A probe.
    Worker,
    /// The supervisor declared under the child's id.
    Supervisor,
}

impl Kind {
    /// The atom.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Worker => "worker",
            Kind::Supervisor => "supervisor",
        }
    }
}

/// Outcome of one start attempt of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// Spawn the probe.
    Ok,
    /// Return ignore.
    Ignore,
    /// Return `{error, probe_error}`.
    Error,
    /// Raise `probe_crash`.
    Crash,
    /// (v2) Spawn the probe and return `{ok, Pid, probe_info}`.
    OkInfo,
    /// (v2) Return the bare value `probe_bad`.
    Bad,
}

impl StartMode {
    /// The atom.
    pub fn name(self) -> &'static str {
        match self {
            StartMode::Ok => "ok",
            StartMode::Ignore => "ignore",
            StartMode::Error => "error",
            StartMode::Crash => "crash",
            StartMode::OkInfo => "ok_info",
            StartMode::Bad => "bad",
        }
    }
}

/// `stop_delay=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// Milliseconds.
    Ms(u64),
    /// Never exits on its own.
    Infinity,
}

/// Probe options; `None` = not given (defaults apply after merging).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeOpts {
    /// `start=`.
    pub start: Option<StartMode>,
    /// `plan=`, expanded.
    pub plan: Option<Vec<StartMode>>,
    /// `trap=`.
    pub trap: Option<bool>,
    /// `stop_delay=`.
    pub stop_delay: Option<Delay>,
    /// (v2) `start_delay=` (ms).
    pub start_delay: Option<u64>,
    /// (v2) `name=`.
    pub name: Option<String>,
    /// (v2) `unlink=`.
    pub unlink: Option<bool>,
}

impl ProbeOpts {
    /// `self` with every option `over` gives replaced (`maps:merge`).
    pub fn merged(&self, over: &ProbeOpts) -> ProbeOpts {
        ProbeOpts {
            start: over.start.or(self.start),
            plan: over.plan.clone().or_else(|| self.plan.clone()),
            trap: over.trap.or(self.trap),
            stop_delay: over.stop_delay.or(self.stop_delay),
            start_delay: over.start_delay.or(self.start_delay),
            name: over.name.clone().or_else(|| self.name.clone()),
            unlink: over.unlink.or(self.unlink),
        }
    }

    fn is_empty(&self) -> bool {
        *self == ProbeOpts::default()
    }

    /// The outcome of start attempt number `generation` (from 1).
    pub fn mode_for(&self, generation: u32) -> StartMode {
        let plan = self.plan.as_deref().unwrap_or(&[]);
        let i = generation as usize;
        if i >= 1 && i <= plan.len() {
            plan[i - 1]
        } else {
            self.start.unwrap_or(StartMode::Ok)
        }
    }
}

/// A `child` line, or the spec of a non-simple `start_child`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildDecl {
    /// Parent supervisor (for `start_child`: the supervisor addressed).
    pub parent: String,
    /// Child id.
    pub id: String,
    /// Line.
    pub line: usize,
    /// `restart=`.
    pub restart: Option<Restart>,
    /// `shutdown=`.
    pub shutdown: Option<Shutdown>,
    /// `type=` (worker when not given).
    pub kind: Kind,
    /// Whether `type=` was given.
    pub kind_given: bool,
    /// `significant=`.
    pub significant: Option<bool>,
    /// Probe options (workers only).
    pub probe: ProbeOpts,
    /// (v2) `missing_id=true`: the spec has no id.
    pub missing_id: bool,
    /// (v2) `duplicate=true`: a deliberate second spec with this id.
    pub duplicate: bool,
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

/// An exit reason given in a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// `normal`.
    Normal,
    /// `shutdown`.
    Shutdown,
    /// `shutdown:<name>`.
    ShutdownWith(String),
    /// Any other name, including `kill`.
    Atom(String),
}

/// An API target: an id (atom) or the pid of an id's latest process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `<name>`.
    Id(String),
    /// `@<id>`.
    Pid(String),
}

/// The actions (docs/otp/oracle.md#oracle-actions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Start(String),
    Stop(String),
    Crash(String, Reason),
    Kill(String),
    ExitSignal(String, Reason),
    Settle,
    AwaitRestarted(String),
    SleepPastPeriod(String),
    /// Non-simple supervisors: a full spec.
    StartChild(String, ChildDecl),
    /// simple_one_for_one: probe overrides.
    StartChildExtra(String, ProbeOpts),
    TerminateChild(String, Target),
    RestartChild(String, Target),
    DeleteChild(String, Target),
    GetChildspec(String, Target),
    WhichChildren(String),
    CountChildren(String),
    /// (v2) Run the op, then settle accepting children in state restarting.
    RestartingOk(Box<Op>),
    /// (v2) The process registered under a name.
    Whereis(String),
    /// (v2) Remember the current time.
    Mark,
    /// (v2) The time since the latest mark lies in `[min, max)` ms.
    Elapsed(u64, u64),
}

/// A rejected scenario: `line N: <what>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong, as the oracle words it.
    pub message: String,
}

mod parser;

pub use parser::{is_name, parse, tokens};

#[cfg(test)]
mod tests;
