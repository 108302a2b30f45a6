//! Random valid gen_event scenarios (the gen_event oracle's language) for
//! differential testing against OTP, generated around arbor's documented
//! differences (docs/conformance.md, "What the gen_event generator
//! avoids") so that every trace must match:
//!
//! - no duplicate handler ids: an id is added or swapped in only when it is
//!   certainly not installed (a conservative model: `remove` and stops make
//!   an id certainly absent; anything else leaves it "maybe installed");
//!   a callback swap's target is an id of its own (`x`, `y`), never added,
//!   with one source (a plain id, or `x` for `y`: a chain), added only
//!   when every id it can turn into is certainly absent;
//! - owners that ever owned a handler in the live manager (OTP: linked)
//!   die only when every handler that may be installed is theirs for sure
//!   (OTP forwards the death to the others as info; a quarter of the
//!   scenarios give every handler to `o1` while it lives, so that it can),
//!   and never while the manager is killed or stopped with a reason other
//!   than `normal`;
//!   trapping owners never own handlers; `exit_signal mgr .. from=` only
//!   from owners that never owned one;
//! - `notify` never goes to a named manager that may be dead (`badarg`);
//! - a callback swap whose new handler may fail its init only in scenarios
//!   without `owner=` (OTP's notice says `crash`, arbor's the reason);
//! - `terminate` never exits (arbor's terminate can only panic).
//!
//! The oracle's own rules are kept too: at most one `notify=` rule (on one
//! event, notifying an event with no such rule); delays only on calls, with
//! timeouts at least 250 ms away from them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use proptest::prelude::*;

/// One scripted rule, interpreted by [`render`].
#[derive(Debug, Clone)]
pub(crate) struct RawRule {
    pub(crate) h: u8,
    pub(crate) cb: u8,
    pub(crate) pat: u8,
    pub(crate) out: u8,
}

/// One op, interpreted by [`render`].
#[derive(Debug, Clone)]
pub(crate) struct RawOp {
    pub(crate) kind: u8,
    pub(crate) a: u8,
    pub(crate) b: u8,
    pub(crate) c: u8,
}

/// A whole generated scenario before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) rules: Vec<RawRule>,
    /// The plain handlers that swap to `x` and to `y`.
    pub(crate) x_src: u8,
    pub(crate) y_src: u8,
    /// 0: no `notify=` rule; else on this handler (1-based).
    pub(crate) notifier: u8,
    /// 0: every handler added or swapped in while `o1` lives is `o1`'s,
    /// so that `o1` may die with handlers installed.
    pub(crate) owners: u8,
    pub(crate) ops: Vec<RawOp>,
}

pub(crate) fn raw() -> impl Strategy<Value = Raw> {
    let rule =
        (0u8..5, 0u8..5, 0u8..5, 0u8..8).prop_map(|(h, cb, pat, out)| RawRule { h, cb, pat, out });
    let op = (0u8..32, any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(kind, a, b, c)| RawOp {
        kind,
        a,
        b,
        c,
    });
    (
        prop::collection::vec(rule, 4..16),
        0u8..3,
        0u8..4,
        (0u8..5, 0u8..4),
        prop::collection::vec(op, 6..30),
    )
        .prop_map(|(rules, x_src, y_src, (notifier, owners), ops)| Raw {
            rules,
            x_src,
            y_src,
            notifier,
            owners,
            ops,
        })
}

const PLAIN: [&str; 3] = ["a", "b", "{c,1}"];
const TARGETS: [&str; 2] = ["x", "y"];
const EVENTS: [&str; 4] = ["e1", "e2", "up", "{ev,3}"];
const INFOS: [&str; 3] = ["m1", "up", "{m,2}"];
const REQUESTS: [&str; 4] = ["q1", "slow", "up", "{q,2}"];
const REASONS: [&str; 5] = ["boom", "normal", "shutdown", "{shutdown,x}", "kill"];
/// Owners that may own handlers (never trapping) and one that traps.
const OWNERS: [&str; 3] = ["o1", "o2", "o3"];
const TRAPPER: &str = "o2";

fn pick<'a>(pool: &[&'a str], i: u8) -> &'a str {
    pool[usize::from(i) % pool.len()]
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mgr {
    None,
    Alive { link: bool, named: bool },
    Dead { named: bool },
}

/// The conservative model of the manager (module docs).
struct Model {
    mgr: Mgr,
    /// Ids that may be installed, with the owners they may have (`None`: no owner).
    maybe: BTreeMap<&'static str, BTreeSet<Option<&'static str>>>,
    /// Owners that owned a handler in the live manager (OTP: linked).
    linked: BTreeSet<&'static str>,
    dead: BTreeSet<&'static str>,
}

impl Model {
    fn alive(&self) -> bool {
        matches!(self.mgr, Mgr::Alive { .. })
    }

    fn absent(&self, h: &str) -> bool {
        !self.maybe.contains_key(h)
    }

    fn manager_gone(&mut self) {
        if let Mgr::Alive { named, .. } = self.mgr {
            self.mgr = Mgr::Dead { named };
        }
        self.maybe.clear();
        self.linked.clear();
    }

    /// May owner `o` die now? (Module docs.)
    fn may_die(&self, o: &'static str) -> bool {
        !self.alive()
            || !self.linked.contains(o)
            || self
                .maybe
                .values()
                .all(|owners| owners.len() == 1 && owners.contains(&Some(o)))
    }

    fn owner_died(&mut self, o: &'static str) {
        self.dead.insert(o);
        if self.linked.remove(o) {
            self.maybe
                .retain(|_, owners| !(owners.len() == 1 && owners.contains(&Some(o))));
        }
    }
}

/// Renders a raw scenario into scenario text (always valid for the parser,
/// and never an op that is impossible in the state it reaches).
pub(crate) fn render(raw: &Raw) -> String {
    let mut s = String::new();
    let x_src = pick(&PLAIN, raw.x_src);
    // `y`'s source may be `x`: a chain of callback swaps.
    let y_src = pick(&["a", "b", "{c,1}", "x"], raw.y_src);
    let target_of = |h: &str| -> Vec<&'static str> {
        let mut v = Vec::new();
        if h == x_src {
            v.push("x");
        }
        if h == y_src {
            v.push("y");
        }
        v
    };
    // Every id a handler can turn into by callback swaps.
    let all_targets = |h: &str| -> Vec<&'static str> {
        let mut v = target_of(h);
        if v.contains(&"x") && y_src == "x" {
            v.push("y");
        }
        v
    };
    for h in PLAIN.iter().chain(TARGETS.iter()) {
        let _ = writeln!(s, "handler {h}");
    }
    for o in OWNERS {
        let trap = if o == TRAPPER { " trap=true" } else { "" };
        let _ = writeln!(s, "owner {o}{trap}");
    }
    // Rules.
    let mut target_init_fails = false;
    let mut delays = BTreeSet::new();
    let all: Vec<&str> = PLAIN.iter().chain(TARGETS.iter()).copied().collect();
    for r in &raw.rules {
        let h = pick(&all, r.h);
        let is_target = TARGETS.contains(&h);
        let line = match r.cb {
            0 => {
                let pat = pick(
                    &["add", "{swap,_}", "_", "{carry,_}", "{swap,{EXIT,_}}"],
                    r.pat,
                );
                // Mostly `ok`: a handler that never installs sees nothing.
                let out = match r.out {
                    0 => "fail {error,no}",
                    1 => "crash boom",
                    2 => "exit bye",
                    _ => "ok",
                };
                if is_target && out != "ok" {
                    target_init_fails = true;
                }
                format!("on {h} init {pat} {out}")
            }
            1 | 2 => {
                let (cb, pool) = if r.cb == 1 {
                    ("event", &EVENTS[..])
                } else {
                    ("info", &INFOS[..])
                };
                let swaps = target_of(h);
                // A source's swap outcomes are on `up`, so that they fire.
                let pat = if matches!(r.out, 5 | 6) && !swaps.is_empty() {
                    "up"
                } else if r.pat == 4 {
                    "_"
                } else {
                    pick(pool, r.pat)
                };
                let out = match r.out {
                    0 => "remove".to_owned(),
                    1 => "fail {bad,1}".to_owned(),
                    2 => "crash kaboom".to_owned(),
                    3 => "exit leaving".to_owned(),
                    4 => "selfcall".to_owned(),
                    5 | 6 if pat == "up" && !swaps.is_empty() => {
                        let t = swaps[usize::from(r.out) % swaps.len()];
                        if r.out == 5 {
                            format!("swap {t}")
                        } else {
                            format!("swap {t} {{carry,1}}")
                        }
                    }
                    _ => "ok".to_owned(),
                };
                format!("on {h} {cb} {pat} {out}")
            }
            3 => {
                let swaps = target_of(h);
                let pat = if r.out == 5 && !swaps.is_empty() {
                    "up"
                } else {
                    pick(&REQUESTS, r.pat)
                };
                let out = match r.out {
                    0 => "remove bye".to_owned(),
                    1 => "fail {bad,2}".to_owned(),
                    2 => "crash kaboom".to_owned(),
                    3 => "exit leaving".to_owned(),
                    4 => "selfcall".to_owned(),
                    5 if pat == "up" && !swaps.is_empty() => format!("swap done {}", swaps[0]),
                    _ => "reply {r,1}".to_owned(),
                };
                if pat == "slow" && delays.insert(h) {
                    format!("on {h} call slow reply late delay=500")
                } else {
                    format!("on {h} call {pat} {out}")
                }
            }
            _ => {
                let pat = pick(&["delete", "swap", "stop", "_", "remove_handler"], r.pat);
                let out = pick(&["return {t,1}", "crash tdead", "return ok"], r.out);
                format!("on {h} terminate {pat} {out}")
            }
        };
        let _ = writeln!(s, "{line}");
    }
    if raw.notifier > 0 {
        let h = pick(&all, raw.notifier - 1);
        let _ = writeln!(s, "on {h} event e1 ok notify=e2");
    }
    let owners_allowed = !target_init_fails;
    let mut m = Model {
        mgr: Mgr::None,
        maybe: BTreeMap::new(),
        linked: BTreeSet::new(),
        dead: BTreeSet::new(),
    };
    let live_owner = |m: &Model, i: u8, may_own: bool| -> Option<&'static str> {
        let o = pick(&OWNERS, i);
        (!m.dead.contains(o) && (!may_own || o != TRAPPER)).then_some(o)
    };
    // Every scenario starts a manager first (its options from the first op).
    let first = raw.ops.first().map_or(
        RawOp {
            kind: 0,
            a: 1,
            b: 1,
            c: 0,
        },
        |o| RawOp {
            kind: 0,
            ..o.clone()
        },
    );
    let one_owner = raw.owners == 0 && owners_allowed;
    let owner_for = |m: &Model, i: u8, c: u8| -> Option<&'static str> {
        if one_owner && !m.dead.contains("o1") {
            Some("o1")
        } else {
            live_owner(m, i, true).filter(|_| owners_allowed && !c.is_multiple_of(3))
        }
    };
    for op in std::iter::once(&first).chain(raw.ops.iter()) {
        // A dead manager is mostly started again, so that later ops see
        // handlers.
        let kind = match m.mgr {
            Mgr::Dead { .. } if (7..=22).contains(&op.kind) && op.c % 3 != 0 => 0,
            _ => op.kind,
        };
        let line = match kind {
            // start
            0..=1 => match m.mgr {
                Mgr::Alive { named: true, .. } if op.a % 2 == 0 => {
                    Some("start named=true".to_owned())
                }
                Mgr::Alive { .. } => None,
                _ => {
                    let named = op.a % 3 == 0;
                    let link = op.b % 3 != 0;
                    m.mgr = Mgr::Alive { link, named };
                    m.maybe.clear();
                    m.linked.clear();
                    let mut l = "start".to_owned();
                    if named {
                        l.push_str(" named=true");
                    }
                    if !link {
                        l.push_str(" link=false");
                    }
                    Some(l)
                }
            },
            // stop
            2 => match m.mgr {
                Mgr::None => None,
                Mgr::Dead { .. } => Some("stop".to_owned()),
                Mgr::Alive { .. } => {
                    let with_reason = op.a % 2 == 0 && m.linked.is_empty();
                    m.manager_gone();
                    Some(if with_reason {
                        format!("stop {}", pick(&REASONS[..4], op.b))
                    } else {
                        "stop".to_owned()
                    })
                }
            },
            // kill mgr, exit_signal mgr
            3..=4 => {
                if !m.alive() {
                    None
                } else {
                    let Mgr::Alive { link, .. } = m.mgr else {
                        unreachable!()
                    };
                    let reason = pick(&REASONS, op.a);
                    let from = live_owner(&m, op.b, false)
                        .filter(|o| op.c % 2 == 0 && !m.linked.contains(o));
                    let stops = op.kind == 3 || reason == "kill" || (link && from.is_none());
                    if stops && !m.linked.is_empty() {
                        None
                    } else if op.kind == 3 {
                        m.manager_gone();
                        Some("kill mgr".to_owned())
                    } else {
                        if stops {
                            m.manager_gone();
                        }
                        Some(match from {
                            Some(o) => format!("exit_signal mgr {reason} from={o}"),
                            None => format!("exit_signal mgr {reason}"),
                        })
                    }
                }
            }
            // owner deaths and signals
            5..=6 => match live_owner(&m, op.a, false) {
                None => None,
                Some(o) => {
                    let reason = pick(&REASONS, op.b);
                    let (line, dies) = match op.c % 3 {
                        0 => (format!("crash {o} {reason}"), true),
                        1 => (format!("kill {o}"), true),
                        _ => {
                            let from = live_owner(&m, op.b, false).filter(|f| *f != o);
                            let dies = reason == "kill" || (o != TRAPPER && reason != "normal");
                            let l = match from {
                                Some(f) => format!("exit_signal {o} {reason} from={f}"),
                                None => format!("exit_signal {o} {reason}"),
                            };
                            (l, dies)
                        }
                    };
                    if dies && !m.may_die(o) {
                        None
                    } else {
                        if dies {
                            m.owner_died(o);
                        }
                        Some(line)
                    }
                }
            },
            // add
            7..=10 => {
                if m.mgr == Mgr::None {
                    None
                } else {
                    let h = pick(&PLAIN, op.a);
                    let owner = owner_for(&m, op.b, op.c);
                    let ok =
                        !m.alive() || (m.absent(h) && all_targets(h).iter().all(|t| m.absent(t)));
                    if !ok {
                        None
                    } else {
                        let arg = if op.c % 3 == 0 { " {carry,2}" } else { "" };
                        if m.alive() {
                            let owners: BTreeSet<Option<&'static str>> = [owner].into();
                            for id in std::iter::once(h).chain(all_targets(h)) {
                                m.maybe.insert(static_id(id), owners.clone());
                            }
                            if let Some(o) = owner {
                                m.linked.insert(o);
                            }
                        }
                        Some(match owner {
                            Some(o) => format!("add {h}{arg} owner={o}"),
                            None => format!("add {h}{arg}"),
                        })
                    }
                }
            }
            // remove
            11..=12 => {
                if m.mgr == Mgr::None {
                    None
                } else {
                    let h = pick(&all, op.a);
                    m.maybe.remove(h);
                    Some(format!("remove {h}"))
                }
            }
            // swap
            13..=14 => {
                if m.mgr == Mgr::None {
                    None
                } else {
                    let h1 = pick(&all, op.a);
                    let h2 = pick(&PLAIN, op.b);
                    let owner = owner_for(&m, op.c, op.c);
                    let old = m.maybe.remove(h1);
                    let ok =
                        !m.alive() || (m.absent(h2) && all_targets(h2).iter().all(|t| m.absent(t)));
                    if !ok {
                        if let Some(o) = old {
                            m.maybe.insert(static_id(h1), o);
                        }
                        None
                    } else {
                        if m.alive() {
                            let owners: BTreeSet<Option<&'static str>> = match owner {
                                Some(o) => [Some(o)].into(),
                                None => {
                                    let mut s = old.unwrap_or_default();
                                    s.insert(None);
                                    s
                                }
                            };
                            for id in std::iter::once(h2).chain(all_targets(h2)) {
                                m.maybe.insert(static_id(id), owners.clone());
                            }
                            if let Some(o) = owner {
                                m.linked.insert(o);
                            }
                        }
                        let arg = if op.c % 3 == 0 { " {carry,3}" } else { "" };
                        Some(match owner {
                            Some(o) => format!("swap {h1} {h2}{arg} owner={o}"),
                            None => format!("swap {h1} {h2}{arg}"),
                        })
                    }
                }
            }
            // notify, sync_notify
            15..=19 => {
                let named_dead = matches!(m.mgr, Mgr::Dead { named: true });
                if m.mgr == Mgr::None || (named_dead && op.kind < 18) {
                    None
                } else if op.kind < 18 {
                    Some(format!("notify {}", event(op.a)))
                } else {
                    Some(format!("sync_notify {}", event(op.a)))
                }
            }
            // info
            20..=22 => (m.mgr != Mgr::None).then(|| format!("info {}", info(op.a))),
            // call
            23..=27 => {
                if m.mgr == Mgr::None {
                    None
                } else {
                    let h = pick(&all, op.a);
                    let q = pick(&REQUESTS, op.b);
                    Some(if q == "slow" {
                        let t = if op.c % 2 == 0 { 250 } else { 800 };
                        format!("call {h} slow timeout={t}")
                    } else {
                        format!("call {h} {q}")
                    })
                }
            }
            _ => (m.mgr != Mgr::None).then(|| "which_handlers".to_owned()),
        };
        if let Some(l) = line {
            let _ = writeln!(s, "{l}");
        }
    }
    s
}

/// An event: `up` (which fires swaps) a third of the time.
fn event(i: u8) -> &'static str {
    if i.is_multiple_of(3) {
        "up"
    } else {
        pick(&EVENTS, i / 3)
    }
}

/// An info message: `up` a third of the time.
fn info(i: u8) -> &'static str {
    if i.is_multiple_of(3) {
        "up"
    } else {
        pick(&INFOS, i / 3)
    }
}

fn static_id(h: &str) -> &'static str {
    PLAIN
        .iter()
        .chain(TARGETS.iter())
        .find(|x| **x == h)
        .copied()
        .unwrap_or("a")
}
