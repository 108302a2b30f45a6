//! A proptest generator of random valid scenarios for differential runs
//! against the OTP oracle.
//!
//! The strategy produces raw numbers ([`Raw`]); [`render`] turns them into
//! scenario text and applies the rules that keep a scenario deterministic
//! on real OTP (so that any difference is arbor's):
//!
//! - stop delays and shutdown timeouts differ by at least 200 ms;
//! - no shutdown waits forever (`stop_delay=infinity` only with
//!   `brutal_kill` or a timeout), and no orphan that never dies (with an
//!   infinite probe anywhere, supervisors are never killed);
//! - intensity windows are never decided by elapsed time: `period=1` (with
//!   `sleep_past_period`) only in scenarios with no delays, longer periods
//!   otherwise;
//! - `significant=true` only where OTP accepts it; no `auto_shutdown` on
//!   simple_one_for_one (OTP 25 accepts it, newer OTP rejects it);
//! - a simple_one_for_one restart never returns `ignore` (an OTP 25 bug,
//!   docs/otp/oracle.md#oracle-otp25).
//!
//! Language v2 (oracle README, "Language version 2"), each with a small
//! probability: `init=ignore`, `period=0` and `name=` on supervisors;
//! `missing_id=true`, a `duplicate=true` line, `start_delay=300`, `name=`
//! and `unlink=true` on workers; start modes `ok_info` and `bad` (start,
//! plan, `start_child`); `missing_id=true` and `name=` in `start_child`;
//! ops `whereis`, `mark`, `elapsed` and `restarting_ok <op>`. Around what
//! the language rejects or what would not be deterministic on OTP:
//!
//! - names come from a pool of three (`n0`..`n2`), so names clash
//!   (`already_started`); `whereis` only names one the scenario uses;
//! - with registered names or `unlink=true` anywhere, supervisors are never
//!   killed (an orphan would hold its name while its restarted copy starts;
//!   an orphaned unlinked probe never dies); unlinked probes are never
//!   crashed, killed or signalled (exit 2);
//! - `start_delay` counts as a delay (long periods only);
//! - `elapsed` comes after a `mark`; its bounds always hold
//!   (`elapsed 0 2000` when nothing waits, `elapsed 0 600000` otherwise),
//!   as the oracle's real time cannot be predicted to the ms;
//! - `restarting_ok` only in scenarios where no restart can fail (a fast
//!   failing restart loop races with the settle's calls on OTP; oracle
//!   README 1.10); elsewhere the op is generated without it.
//!
//! Shrinking removes ops and children and lowers the numbers, which maps to
//! simpler options.

use std::fmt::Write as _;

use proptest::prelude::*;

/// One child slot of a supervisor.
#[derive(Debug, Clone)]
pub(crate) struct RawChild {
    /// 0 worker; otherwise a nested supervisor (if one is left to attach).
    pub(crate) nest: u8,
    pub(crate) restart: u8,
    pub(crate) shutdown: u8,
    pub(crate) significant: bool,
    pub(crate) start: u8,
    pub(crate) plan: Vec<u8>,
    pub(crate) trap: bool,
    pub(crate) delay: u8,
    /// Language v2 extras (workers): 1 `missing_id=true`, 2 a `duplicate=true`
    /// line after it, 3..=5 `start_delay=300`, 6..=9 `name=`, 10
    /// `unlink=true`; anything else none.
    pub(crate) v2: u8,
}

/// One supervisor.
#[derive(Debug, Clone)]
pub(crate) struct RawSup {
    pub(crate) strategy: u8,
    pub(crate) intensity: u8,
    pub(crate) period: u8,
    pub(crate) auto: u8,
    /// If it ends up top-level (and is not `s0`): add it to `s0` with
    /// `start_child ... type=supervisor` instead of starting it.
    pub(crate) dynamic: bool,
    /// Language v2 extras: 1 `init=ignore`, 2 `period=0`, 3..=4 `name=`;
    /// anything else none.
    pub(crate) v2: u8,
    pub(crate) children: Vec<RawChild>,
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
    pub(crate) sups: Vec<RawSup>,
    pub(crate) ops: Vec<RawOp>,
    /// End by stopping every top-level supervisor (shutdown order,
    /// parallel stops).
    pub(crate) final_stop: bool,
}

fn child() -> impl Strategy<Value = RawChild> {
    (
        (0u8..4, 0u8..4, 0u8..6, any::<bool>()),
        (
            0u8..22,
            prop::collection::vec(0u8..11, 0..3),
            any::<bool>(),
            0u8..5,
            0u8..24,
        ),
    )
        .prop_map(
            |((nest, restart, shutdown, significant), (start, plan, trap, delay, v2))| RawChild {
                nest,
                restart,
                shutdown,
                significant,
                start,
                plan,
                trap,
                delay,
                v2,
            },
        )
}

fn sup() -> impl Strategy<Value = RawSup> {
    (
        0u8..8,
        0u8..8,
        0u8..4,
        0u8..8,
        any::<bool>(),
        0u8..24,
        prop::collection::vec(child(), 1..5),
    )
        .prop_map(
            |(strategy, intensity, period, auto, dynamic, v2, children)| RawSup {
                strategy,
                intensity,
                period,
                auto,
                dynamic,
                v2,
                children,
            },
        )
}

fn op() -> impl Strategy<Value = RawOp> {
    (0u8..48, any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(kind, a, b, c)| RawOp {
        kind,
        a,
        b,
        c,
    })
}

/// The strategy: 1 to 3 supervisors, 1 to 4 child slots each, 1 to 24 ops.
pub(crate) fn raw() -> impl Strategy<Value = Raw> {
    (
        prop::collection::vec(sup(), 1..4),
        prop::collection::vec(op(), 1..25),
        any::<bool>(),
    )
        .prop_map(|(sups, ops, final_stop)| Raw {
            sups,
            ops,
            final_stop,
        })
}

const STRATEGIES: [&str; 4] = [
    "one_for_one",
    "one_for_all",
    "rest_for_one",
    "simple_one_for_one",
];
const REASONS: [&str; 6] = ["normal", "shutdown", "shutdown:x", "boom", "kill", "other"];
const MODES: [&str; 6] = ["ok", "ignore", "error", "crash", "ok_info", "bad"];

#[derive(Debug, Clone)]
struct Sup {
    name: String,
    sofo: bool,
    parent: Option<usize>,
    /// Ids of its children (static, then added by start_child).
    ids: Vec<String>,
    period1: bool,
}

/// Renders a raw scenario into scenario text (always valid for the parser).
pub(crate) fn render(raw: &Raw) -> String {
    // Which delays exist decides periods and kills (module doc).
    let any_infinite = raw
        .sups
        .iter()
        .flat_map(|s| &s.children)
        .any(|c| c.trap && c.delay == 4);
    // Time passes only while a trapping probe delays its exit (a shutdown
    // timeout can only expire then).
    let slow = raw
        .sups
        .iter()
        .flat_map(|s| &s.children)
        .any(|c| c.trap && c.delay >= 3);
    let children = || raw.sups.iter().flat_map(|s| &s.children);
    // A slow start (`start_delay`) also lets time pass.
    let any_start_delay = children().any(|c| matches!(c.v2, 3..=5));
    let slow = slow || any_start_delay;
    // Registered names (v2) on supervisors or probes.
    let names_any =
        raw.sups.iter().any(|s| matches!(s.v2, 3..=4)) || children().any(|c| matches!(c.v2, 6..=9));
    // Supervisors are never killed (no orphans) with an infinite probe, a
    // probe that unlinks itself (it would never die), or registered names
    // (an orphan would hold its name while its restarted copy starts).
    let no_kill = any_infinite || names_any || children().any(|c| c.v2 == 10);
    // Whether a restart can fail (and loop): `restarting_ok` is only used
    // where it cannot, as a fast failing loop's retries race with the
    // settle's calls on OTP (oracle README 1.10).
    let loops = names_any
        || children().any(|c| {
            matches!(c.start, 18 | 19 | 21) || c.plan.iter().any(|m| matches!(m, 7 | 8 | 10))
        })
        || raw.ops.iter().any(|o| {
            (15..=19).contains(&o.kind)
                && (matches!(o.c % 12, 3 | 4 | 9) || matches!(o.c % 11, 1 | 2 | 9))
        });
    let mut names: Vec<String> = Vec::new();

    let n = raw.sups.len();
    let mut sups: Vec<Sup> = (0..n)
        .map(|i| Sup {
            name: format!("s{i}"),
            sofo: matches!(raw.sups[i].strategy, 4 | 5),
            parent: None,
            ids: Vec::new(),
            period1: false,
        })
        .collect();
    let mut out = String::new();
    let mut child_lines = String::new();
    let mut next_nested = 1;
    let mut worker_no = 0;
    let mut workers: Vec<String> = Vec::new();
    let mut templates: Vec<(usize, String)> = Vec::new();
    // Restart type of each addressable worker (0 = default permanent).
    let mut restarts: Vec<(String, u8)> = Vec::new();
    for (i, rs) in raw.sups.iter().enumerate() {
        let s = &sups[i];
        let mut line = format!("sup {}", s.name);
        let sofo = s.sofo;
        // 0: left out; 1: one_for_one; 2, 6: one_for_all; 3, 7: rest_for_one;
        // 4, 5: simple_one_for_one.
        let st = match rs.strategy {
            0 => None,
            1 => Some(0),
            2 | 6 => Some(1),
            3 | 7 => Some(2),
            _ => Some(3),
        };
        if let Some(st) = st {
            let _ = write!(line, " strategy={}", STRATEGIES[st]);
        }
        // Intensity: left out, 0, 1, 2, 3, 5, 10, 10 (high ones keep trees
        // alive through more ops).
        if rs.intensity > 0 {
            let i = [0, 0, 1, 2, 3, 5, 10, 10][rs.intensity as usize % 8];
            let _ = write!(line, " intensity={i}");
        }
        let period1 = rs.period == 1 && !slow && rs.v2 != 2;
        match rs.period {
            _ if rs.v2 == 2 => line.push_str(" period=0"),
            1 if period1 => line.push_str(" period=1"),
            2 | 3 => line.push_str(if rs.period == 2 {
                " period=30"
            } else {
                " period=60"
            }),
            _ if slow => line.push_str(" period=30"),
            _ => {}
        }
        sups[i].period1 = period1;
        let auto = if sofo { 0 } else { rs.auto.saturating_sub(4) };
        match auto {
            1 => line.push_str(" auto_shutdown=never"),
            2 => line.push_str(" auto_shutdown=any_significant"),
            3 => line.push_str(" auto_shutdown=all_significant"),
            _ => {}
        }
        match rs.v2 {
            1 => line.push_str(" init=ignore"),
            3 | 4 => {
                let name = format!("n{}", (rs.intensity + rs.v2) % 3);
                let _ = write!(line, " name={name}");
                names.push(name);
            }
            _ => {}
        }
        out.push_str(&line);
        out.push('\n');

        let slots: &[RawChild] = if sofo {
            &rs.children[..1]
        } else {
            &rs.children
        };
        for c in slots {
            next_nested = next_nested.max(i + 1);
            let nested = !sofo && c.nest == 3 && next_nested < n;
            let (id, mut line) = if nested {
                let j = next_nested;
                next_nested += 1;
                sups[j].parent = Some(i);
                let id = format!("s{j}");
                (
                    id.clone(),
                    format!("child {} {id} type=supervisor", sups[i].name),
                )
            } else {
                let id = format!("w{worker_no}");
                worker_no += 1;
                (id.clone(), format!("child {} {id}", sups[i].name))
            };
            let restart = match c.restart {
                1 => Some("permanent"),
                2 => Some("transient"),
                3 => Some("temporary"),
                _ => None,
            };
            if let Some(r) = restart {
                let _ = write!(line, " restart={r}");
            }
            // Shutdown: 0 default, 1 brutal_kill, 2 infinity, 3 50 ms, 4 1000 ms, 5 5000 ms.
            let infinite_probe = !nested && c.trap && c.delay == 4;
            let shutdown = if nested {
                // A supervisor child: killing it (brutal_kill, an expired
                // timeout) leaves orphans, which must die on their own; its
                // timeout is far from the sum of its children's delays.
                match c.shutdown {
                    _ if no_kill => None,
                    1 => Some("brutal_kill"),
                    2 => Some("infinity"),
                    3 => Some("50"),
                    4 | 5 => Some("5000"),
                    _ => None,
                }
            } else if infinite_probe {
                // Never a shutdown that waits for it.
                Some(if c.shutdown == 1 { "brutal_kill" } else { "50" })
            } else {
                match c.shutdown {
                    1 => Some("brutal_kill"),
                    2 => Some("infinity"),
                    3 => Some("50"),
                    4 => Some("1000"),
                    5 => Some("5000"),
                    _ => None,
                }
            };
            if let Some(s) = shutdown {
                let _ = write!(line, " shutdown={s}");
            }
            if c.significant && matches!(auto, 2 | 3) && matches!(c.restart, 2 | 3) {
                line.push_str(" significant=true");
            }
            if !nested {
                // Default outcome: mostly ok; 17 ignore, 18 error, 19 crash.
                let start = match c.start {
                    17 => 1,
                    18 => 2,
                    19 => 3,
                    _ => 0,
                };
                let start = if sofo && start == 1 { 0 } else { start };
                if start != 0 {
                    let _ = write!(line, " start={}", MODES[start]);
                }
                // Plan entries: 0..=5 ok, 6 ignore, 7 error, 8 crash. A
                // static child's first start fails only when start=16, so
                // most trees start.
                let mut plan: Vec<&str> = c
                    .plan
                    .iter()
                    .enumerate()
                    .map(|(k, m)| {
                        let m = m.saturating_sub(5) as usize;
                        // No ignore on a simple_one_for_one restart.
                        if sofo && k > 0 && m == 1 {
                            "ok"
                        } else {
                            MODES[m]
                        }
                    })
                    .collect();
                if !sofo && c.start != 16 {
                    if start != 0 && plan.is_empty() {
                        plan.push("ok");
                    }
                    if let Some(first) = plan.first_mut() {
                        *first = "ok";
                    }
                }
                if !plan.is_empty() {
                    let _ = write!(line, " plan={}", plan.join(","));
                }
                if c.trap {
                    line.push_str(" trap=true");
                    // Delay: 0,1,2 → 0 ms; 3 → 300 ms; 4 → infinity.
                    match c.delay {
                        3 => line.push_str(" stop_delay=300"),
                        4 => line.push_str(" stop_delay=infinity"),
                        _ => {}
                    }
                }
                match c.v2 {
                    1 => line.push_str(" missing_id=true"),
                    3..=5 => line.push_str(" start_delay=300"),
                    6..=9 => {
                        let name = format!("n{}", c.v2 % 3);
                        let _ = write!(line, " name={name}");
                        names.push(name);
                    }
                    10 if !sofo => line.push_str(" unlink=true"),
                    _ => {}
                }
                if sofo {
                    templates.push((i, id.clone()));
                } else {
                    // A probe that unlinked itself must not be crashed,
                    // killed or signalled (exit 2).
                    if c.v2 != 10 {
                        workers.push(id.clone());
                    }
                    restarts.push((id.clone(), c.restart));
                }
            }
            child_lines.push_str(&line);
            child_lines.push('\n');
            if !nested && c.v2 == 2 {
                // A second spec with the same id: OTP refuses to start the
                // supervisor (duplicate_child_name, or bad_start_spec on
                // simple_one_for_one).
                let _ = writeln!(child_lines, "child {} {id} duplicate=true", sups[i].name);
            }
            sups[i].ids.push(id);
        }
    }
    out.push_str(&child_lines);

    // ===== ops =====
    // Supervisors added to s0 as dynamic children.
    let mut dynamic_sups = Vec::new();
    if !sups[0].sofo {
        for j in 1..n {
            if sups[j].parent.is_none() && raw.sups[j].dynamic {
                sups[j].parent = Some(0);
                let id = sups[j].name.clone();
                sups[0].ids.push(id.clone());
                let mut l = format!("start_child s0 {id} type=supervisor");
                match raw.sups[j].intensity % 3 {
                    1 => l.push_str(" restart=transient"),
                    2 => l.push_str(" restart=temporary"),
                    _ => {}
                }
                if !no_kill && raw.sups[j].period == 3 {
                    l.push_str(" shutdown=brutal_kill");
                }
                dynamic_sups.push(l);
            }
        }
    }
    let tops: Vec<usize> = (0..n).filter(|i| sups[*i].parent.is_none()).collect();
    for t in &tops {
        let _ = writeln!(out, "start {}", sups[*t].name);
        if *t == 0 {
            for l in &dynamic_sups {
                let _ = writeln!(out, "{l}");
            }
        }
    }
    let mut stopped: Vec<usize> = Vec::new();
    let mut sofo_k = vec![0u32; n];
    let mut dyn_no = 0;
    let pick = |v: &[String], x: u8| -> Option<String> {
        (!v.is_empty()).then(|| v[x as usize % v.len()].clone())
    };
    let sofos: Vec<usize> = (0..n).filter(|i| sups[*i].sofo).collect();
    // No time passes in the oracle beyond a few ms per op (no delays, no
    // sleep_past_period): `elapsed` can bound it tightly.
    let timeless = !slow && !sups.iter().any(|x| x.period1);
    let mut marked = false;
    for o in &raw.ops {
        // 45..=47: `restarting_ok` before an op of its list (only where no
        // restart can fail, else the op alone).
        const ROK: [u8; 11] = [0, 8, 10, 15, 20, 21, 22, 23, 32, 34, 40];
        let (kind, rok) = if (45..=47).contains(&o.kind) {
            (ROK[o.c.rotate_left(3) as usize % ROK.len()], !loops)
        } else {
            (o.kind, false)
        };
        let mut sup_i = o.a as usize % n;
        // Half of the start_child ops go to a simple_one_for_one supervisor.
        if (15..=19).contains(&kind) && o.b % 2 == 0 && !sofos.is_empty() {
            sup_i = sofos[o.a as usize % sofos.len()];
        }
        let s = &sups[sup_i];
        // Processes that may be addressed: workers, instances, supervisors.
        let mut procs: Vec<String> = workers.clone();
        for (si, t) in &templates {
            for k in 1..=sofo_k[*si] {
                procs.push(format!("{t}#{k}"));
            }
        }
        let reason = REASONS[o.c as usize % REASONS.len()];
        let restart_of = |p: &str| restarts.iter().find(|(id, _)| id == p).map(|(_, r)| *r);
        let line = match kind {
            0..=7 => pick(&procs, o.b)
                .inspect(|p| {
                    // Not restarted: stop addressing it.
                    let gone = match restart_of(p) {
                        Some(3) => true,
                        Some(2) => matches!(reason, "normal" | "shutdown" | "shutdown:x"),
                        _ => false,
                    };
                    if gone {
                        workers.retain(|w| w != p);
                    }
                })
                .map(|p| format!("crash {p} {reason}")),
            8..=9 => {
                if no_kill || o.c % 3 != 0 {
                    pick(&procs, o.b).map(|p| format!("kill {p}"))
                } else {
                    Some(format!("kill {}", s.name))
                }
            }
            10..=12 => {
                let reason = if no_kill && reason == "kill" {
                    "shutdown"
                } else {
                    reason
                };
                if o.b % 4 == 0 && !(no_kill && reason == "kill") {
                    Some(format!("exit_signal {} {reason}", s.name))
                } else {
                    pick(&procs, o.b).map(|p| format!("exit_signal {p} {reason}"))
                }
            }
            13 => Some("settle".to_owned()),
            14 => pick(&procs, o.b).map(|p| format!("await_restarted {p}")),
            15..=19 => {
                if s.sofo {
                    sofo_k[sup_i] += 1;
                    let mut l = format!("start_child {}", s.name);
                    match o.c % 11 {
                        1 => l.push_str(" start=error"),
                        2 => l.push_str(" start=crash"),
                        3 => l.push_str(" plan=ignore"),
                        4 => l.push_str(" trap=true stop_delay=0"),
                        8 => l.push_str(" start=ok_info"),
                        9 => l.push_str(" start=bad"),
                        10 if !names.is_empty() => {
                            let _ = write!(l, " name={}", pick(&names, o.b).unwrap_or_default());
                        }
                        _ => {}
                    }
                    Some(l)
                } else {
                    // A new id, or one that exists (already_started/present).
                    let id = if o.b % 3 == 0 {
                        pick(&sups[sup_i].ids, o.b).unwrap_or_else(|| "d0".to_owned())
                    } else {
                        let id = format!("d{dyn_no}");
                        dyn_no += 1;
                        id
                    };
                    let clash = sups
                        .iter()
                        .enumerate()
                        .any(|(j, x)| j != sup_i && x.ids.contains(&id))
                        || sups.iter().any(|x| x.name == id);
                    if clash {
                        None
                    } else {
                        let mut l = format!("start_child {} {id}", s.name);
                        let opt = o.c % 12;
                        match opt {
                            1 => l.push_str(" restart=temporary"),
                            2 => l.push_str(" restart=transient"),
                            3 => l.push_str(" start=error"),
                            4 => l.push_str(" plan=crash"),
                            5 => l.push_str(" start=ignore"),
                            6 => l.push_str(" shutdown=brutal_kill trap=true"),
                            8 => l.push_str(" start=ok_info"),
                            9 => l.push_str(" start=bad"),
                            // Nothing is stored.
                            10 => l.push_str(" missing_id=true"),
                            11 if !names.is_empty() => {
                                let _ =
                                    write!(l, " name={}", pick(&names, o.b).unwrap_or_default());
                            }
                            _ => {}
                        }
                        if opt != 10 && !sups[sup_i].ids.contains(&id) {
                            sups[sup_i].ids.push(id.clone());
                            if !matches!(opt, 3 | 4 | 5 | 9) {
                                let r = match opt {
                                    1 => 3,
                                    2 => 2,
                                    _ => 0,
                                };
                                restarts.push((id.clone(), r));
                                workers.push(id);
                            }
                        }
                        Some(l)
                    }
                }
            }
            20..=31 => {
                let api = [
                    "terminate_child",
                    "restart_child",
                    "delete_child",
                    "get_childspec",
                ][o.kind as usize % 4];
                let target = if s.sofo {
                    let t = sups[sup_i].ids.first().cloned().unwrap_or_default();
                    if o.b % 5 == 0 || sofo_k[sup_i] == 0 {
                        t
                    } else {
                        format!("@{t}#{}", 1 + u32::from(o.b) % sofo_k[sup_i])
                    }
                } else if o.b % 7 == 0 {
                    "nope".to_owned()
                } else if o.b % 11 == 1 {
                    pick(&sups[sup_i].ids, o.c)
                        .map_or_else(|| "nope".to_owned(), |id| format!("@{id}"))
                } else {
                    pick(&sups[sup_i].ids, o.b).unwrap_or_else(|| "nope".to_owned())
                };
                Some(format!("{api} {} {target}", s.name))
            }
            32..=33 => Some(format!("which_children {}", s.name)),
            34..=35 => Some(format!("count_children {}", s.name)),
            36 => tops
                .get(o.b as usize % tops.len().max(1))
                .filter(|t| !stopped.contains(t))
                .map(|t| {
                    stopped.push(*t);
                    format!("stop {}", sups[*t].name)
                }),
            37 => stopped.pop().map(|t| format!("start {}", sups[t].name)),
            38..=39 => sups
                .iter()
                .find(|x| x.period1)
                .map(|x| format!("sleep_past_period {}", x.name)),
            40..=41 => pick(&names, o.b).map(|x| format!("whereis {x}")),
            42..=44 if !marked || kind == 42 => {
                marked = true;
                Some("mark".to_owned())
            }
            // The oracle's real time: a few ms per op when nothing waits
            // (the bound leaves room for a busy machine); otherwise a
            // bound that holds, which still checks the op and its output.
            43..=44 => Some(if timeless {
                "elapsed 0 2000".to_owned()
            } else {
                "elapsed 0 600000".to_owned()
            }),
            _ => None,
        };
        if let Some(l) = line {
            if rok {
                out.push_str("restarting_ok ");
            }
            out.push_str(&l);
            out.push('\n');
        }
    }
    if raw.final_stop {
        for t in tops.iter().filter(|t| !stopped.contains(t)) {
            let _ = writeln!(out, "stop {}", sups[*t].name);
        }
    }
    out
}
