//! Erlang-like terms and their normalized text (docs/otp/oracle.md#oracle-terms).

use std::fmt::{self, Write as _};

use arbor_process::Pid;

/// A value printed in a trace: results of API ops and exit reasons.
///
/// Pids are printed through a [`PidNames`] table as `<id>/gen=<n>`; stack
/// traces and OTP's internal child record are [`Term::Wild`] (`_`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// An atom, printed bare (`normal`, `EXIT`, `undefined`).
    Atom(String),
    /// An integer, printed in decimal.
    Int(i64),
    /// `{a,b}`.
    Tuple(Vec<Term>),
    /// `[a,b]`.
    List(Vec<Term>),
    /// A process, printed as `<id>/gen=<n>` (or `pid` if unknown).
    Pid(Pid),
    /// Something normalized away: a stack trace or OTP's child record.
    Wild,
}

/// Resolves a pid to the `<id>/gen=<n>` text the trace uses.
pub trait PidNames {
    /// `Some((id, gen))` for a process started by a probe start function or
    /// as a supervisor.
    fn name_of(&self, pid: Pid) -> Option<(String, u32)>;
}

impl Term {
    /// The atom `name`.
    pub fn atom(name: &str) -> Term {
        Term::Atom(name.to_owned())
    }

    /// A tuple of `items`.
    pub fn tuple(items: impl IntoIterator<Item = Term>) -> Term {
        Term::Tuple(items.into_iter().collect())
    }

    /// `{ok, t}`.
    pub fn ok(t: Term) -> Term {
        Term::tuple([Term::atom("ok"), t])
    }

    /// `{error, t}`.
    pub fn error(t: Term) -> Term {
        Term::tuple([Term::atom("error"), t])
    }

    /// `{error, atom}`.
    pub fn error_atom(a: &str) -> Term {
        Term::error(Term::atom(a))
    }

    /// Renders the term with pids resolved through `names`.
    pub fn render(&self, names: &dyn PidNames) -> String {
        let mut out = String::new();
        self.write(&mut out, names);
        out
    }

    fn write(&self, out: &mut String, names: &dyn PidNames) {
        match self {
            Term::Atom(a) => out.push_str(a),
            Term::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Term::Wild => out.push('_'),
            Term::Pid(p) => match names.name_of(*p) {
                Some((id, generation)) => {
                    let _ = write!(out, "{id}/gen={generation}");
                }
                None => out.push_str("pid"),
            },
            Term::Tuple(items) => Self::seq(out, '{', '}', items, names),
            Term::List(items) => Self::seq(out, '[', ']', items, names),
        }
    }

    fn seq(out: &mut String, open: char, close: char, items: &[Term], names: &dyn PidNames) {
        out.push(open);
        for (i, t) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            t.write(out, names);
        }
        out.push(close);
    }
}

/// A table that knows no pids: every pid prints as `pid`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNames;

impl PidNames for NoNames {
    fn name_of(&self, _: Pid) -> Option<(String, u32)> {
        None
    }
}

impl fmt::Display for Term {
    /// Renders with unknown pids (`pid`); use [`Term::render`] for traces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&NoNames))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_without_spaces() {
        let t = Term::error(Term::tuple([
            Term::atom("shutdown"),
            Term::tuple([
                Term::atom("failed_to_start_child"),
                Term::atom("c"),
                Term::tuple([
                    Term::atom("EXIT"),
                    Term::tuple([Term::atom("probe_crash"), Term::Wild]),
                ]),
            ]),
        ]));
        assert_eq!(
            t.to_string(),
            "{error,{shutdown,{failed_to_start_child,c,{EXIT,{probe_crash,_}}}}}"
        );
        let l = Term::List(vec![
            Term::tuple([Term::atom("specs"), Term::Int(1)]),
            Term::List(vec![]),
        ]);
        assert_eq!(l.to_string(), "[{specs,1},[]]");
    }
}
