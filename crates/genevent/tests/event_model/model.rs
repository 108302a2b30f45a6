//! The operations on an event manager and the reference model that
//! predicts their outcome, for `event_model.rs`.

use arbor_genevent::HandlerId;
use proptest::prelude::*;

use super::support::{Ev, id};

/// The handler names, stream and owner slots the operations pick from.
pub(super) const NAMES: [&str; 4] = ["h0", "h1", "h2", "h3"];
pub(super) const STREAMS: usize = 2;
pub(super) const OWNERS: usize = 2;
// ===== operations =====

#[derive(Clone, Copy, Debug)]
pub(super) enum EvKind {
    N,
    Panic,
    Fail,
    Remove,
    Swap,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum CallKind {
    Double(u32),
    Remove,
    Panic,
    Bad,
}

/// Handler targets (`Remove`, `Swap`'s old id) are `0..6`: `0..4` name a
/// probe, `4..6` the stream in that slot (a probe name if the slot is empty).
#[derive(Clone, Debug)]
pub(super) enum Op {
    Add {
        h: usize,
        owner: Option<usize>,
        fail_init: bool,
    },
    Remove {
        target: usize,
    },
    Swap {
        old: usize,
        new: usize,
        owner: Option<usize>,
        fail_init: bool,
    },
    Event {
        kind: EvKind,
        a: usize,
        b: usize,
        sync: bool,
    },
    /// `call` to a target: `Double(n)` replies `2n`; the others make the
    /// probe remove itself (`remove`), panic (`panic`) or fail (`bad`).
    Call {
        target: usize,
        kind: CallKind,
    },
    /// A plain message to the manager: every handler's `handle_info`.
    Info,
    Subscribe(usize),
    Unsubscribe(usize),
    /// Owner `k` dies (killed, or exits with `owner_gone`) if alive, or a
    /// new owner process takes slot `k` if dead.
    Owner {
        k: usize,
        kill: bool,
    },
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    let owner = proptest::option::weighted(0.4, 0..OWNERS);
    let kind = prop_oneof![
        4 => Just(EvKind::N),
        1 => Just(EvKind::Panic),
        1 => Just(EvKind::Fail),
        1 => Just(EvKind::Remove),
        2 => Just(EvKind::Swap),
    ];
    prop_oneof![
        4 => (0..4usize, owner.clone(), proptest::bool::weighted(0.1))
            .prop_map(|(h, owner, fail_init)| Op::Add { h, owner, fail_init }),
        1 => (0..6usize).prop_map(|target| Op::Remove { target }),
        2 => (0..6usize, 0..4usize, owner, proptest::bool::weighted(0.1))
            .prop_map(|(old, new, owner, fail_init)| Op::Swap { old, new, owner, fail_init }),
        5 => (kind, 0..4usize, 0..4usize, any::<bool>())
            .prop_map(|(kind, a, b, sync)| Op::Event { kind, a, b, sync }),
        2 => (0..6usize, prop_oneof![
            3 => (0..100u32).prop_map(CallKind::Double),
            1 => Just(CallKind::Remove),
            1 => Just(CallKind::Panic),
            1 => Just(CallKind::Bad),
        ])
            .prop_map(|(target, kind)| Op::Call { target, kind }),
        1 => Just(Op::Info),
        1 => (0..STREAMS).prop_map(Op::Subscribe),
        1 => (0..STREAMS).prop_map(Op::Unsubscribe),
        1 => (0..OWNERS, any::<bool>()).prop_map(|(k, kill)| Op::Owner { k, kill }),
    ]
}

// ===== the model =====

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Who {
    Probe(&'static str),
    Stream(usize),
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) who: Who,
    pub(super) id: HandlerId,
    pub(super) owner: Option<usize>,
}

/// What one step makes observable.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Out {
    pub(super) reply: String,
    /// Probe callbacks, in order.
    pub(super) log: Vec<String>,
    /// Items each stream yields (`Debug` of the event, `err:..`, `end`).
    pub(super) streams: [Vec<String>; STREAMS],
    /// Removal notices each owner gets (`id:reason`).
    pub(super) notices: [Vec<String>; OWNERS],
}

/// Handlers in registration order, active streams and live owners.
#[derive(Debug, Default)]
pub(super) struct Model {
    pub(super) entries: Vec<Entry>,
    pub(super) streams: [Option<HandlerId>; STREAMS],
    pub(super) owners_alive: [bool; OWNERS],
    pub(super) next: u32,
}

impl Model {
    pub(super) fn new() -> Model {
        Model {
            owners_alive: [true; OWNERS],
            ..Model::default()
        }
    }

    pub(super) fn position(&self, id: &HandlerId) -> Option<usize> {
        self.entries.iter().position(|e| &e.id == id)
    }

    /// The handler id a target index names.
    pub(super) fn target(&self, t: usize) -> HandlerId {
        match t
            .checked_sub(NAMES.len())
            .and_then(|k| self.streams[k].clone())
        {
            Some(stream) => stream,
            None => id(NAMES[t % NAMES.len()]),
        }
    }

    /// Removes the entry at `i` with `reason` (not for a swap): the probe's
    /// terminate, the stream's end, the owner's notice.
    pub(super) fn remove_at(&mut self, i: usize, reason: &str, out: &mut Out) {
        let e = self.entries.remove(i);
        match e.who {
            Who::Probe(name) => out.log.push(format!("{name}:terminate:{reason}")),
            Who::Stream(k) => {
                out.streams[k].push("end".into());
                self.streams[k] = None;
            }
        }
        if let Some(o) = e.owner
            && !reason.starts_with("{stop,")
        {
            out.notices[o].push(format!("{}:{reason}", e.id));
        }
    }

    /// A handler just installed with a dead owner is removed at once when
    /// the manager's monitor reports `noproc`.
    pub(super) fn dead_owner_check(&mut self, out: &mut Out) {
        if let Some(e) = self.entries.last()
            && let Some(o) = e.owner
            && !self.owners_alive[o]
        {
            self.remove_at(self.entries.len() - 1, "{stop,noproc}", out);
        }
    }

    pub(super) fn add(&mut self, name: &'static str, owner: Option<usize>, fail_init: bool) -> Out {
        let mut out = Out::default();
        if self.position(&id(name)).is_some() {
            out.reply = "already_present".into();
            return out;
        }
        out.log.push(format!("{name}:init"));
        if fail_init {
            out.reply = "init:init_failed".into();
            return out;
        }
        self.entries.push(Entry {
            who: Who::Probe(name),
            id: id(name),
            owner,
        });
        out.reply = "ok".into();
        self.dead_owner_check(&mut out);
        out
    }

    pub(super) fn remove(&mut self, target: &HandlerId) -> Out {
        let mut out = Out::default();
        match self.position(target) {
            None => out.reply = "not_found".into(),
            Some(i) => {
                out.reply = match self.entries[i].who {
                    Who::Probe(name) => format!("ok:{name}-state"),
                    Who::Stream(_) => "ok:?".into(),
                };
                self.remove_at(i, "deleted", &mut out);
            }
        }
        out
    }

    /// The API swap (docs/otp/gen_event.md#ev-api): the old handler is removed first; the new one
    /// is appended and inherits the old owner unless one is given.
    pub(super) fn swap(
        &mut self,
        old: &HandlerId,
        new: &'static str,
        owner: Option<usize>,
        fail_init: bool,
    ) -> Out {
        let mut out = Out::default();
        let reason = format!("{{swapped,{new}}}");
        let mut previous = "none".to_string();
        let mut inherited = None;
        if let Some(i) = self.position(old) {
            let e = self.entries.remove(i);
            match e.who {
                Who::Probe(name) => {
                    out.log.push(format!("{name}:terminate:{reason}"));
                    previous = format!("{name}-state");
                }
                Who::Stream(k) => {
                    out.streams[k].push(format!("err:stream handler removed: {reason}"));
                    out.streams[k].push("end".into());
                    self.streams[k] = None;
                    previous = "?".into();
                }
            }
            if let Some(o) = e.owner {
                out.notices[o].push(format!("{}:{reason}", e.id));
            }
            inherited = e.owner;
        }
        if self.position(&id(new)).is_some() {
            out.reply = "already_present".into();
            return out;
        }
        out.log.push(format!("{new}:init_swapped:{previous}"));
        if fail_init {
            out.reply = "init:init_failed".into();
            return out;
        }
        self.entries.push(Entry {
            who: Who::Probe(new),
            id: id(new),
            owner: owner.or(inherited),
        });
        out.reply = "ok".into();
        self.dead_owner_check(&mut out);
        out
    }

    /// One dispatch pass in registration order (docs/otp/gen_event.md#ev-callbacks).
    pub(super) fn dispatch(&mut self, ev: &Ev) -> Out {
        let mut out = Out::default();
        let mut i = 0;
        while i < self.entries.len() {
            let name = match self.entries[i].who {
                Who::Stream(k) => {
                    out.streams[k].push(format!("{ev:?}"));
                    i += 1;
                    continue;
                }
                Who::Probe(name) => name,
            };
            out.log.push(format!("{name}:{ev:?}"));
            match *ev {
                Ev::Panic(w) if w == name => self.remove_at(i, "{panic,\"boom\"}", &mut out),
                Ev::Fail(w) if w == name => self.remove_at(i, "{error,\"bad\"}", &mut out),
                Ev::Remove(w) if w == name => self.remove_at(i, "remove_handler", &mut out),
                Ev::Swap(w, new) if w == name => {
                    let reason = format!("{{swapped,{new}}}");
                    out.log.push(format!("{name}:terminate:{reason}"));
                    if let Some(o) = self.entries[i].owner {
                        out.notices[o].push(format!("{name}:{reason}"));
                    }
                    if new != name && self.position(&id(new)).is_some() {
                        // The swapped-in handler cannot init: it disappears,
                        // and the owner is told it crashed.
                        if let Some(o) = self.entries[i].owner {
                            out.notices[o].push(format!("{new}:{{error,\"already_present\"}}"));
                        }
                        self.entries.remove(i);
                    } else {
                        out.log.push(format!("{new}:init_swapped:{name}-state"));
                        let e = &mut self.entries[i];
                        e.who = Who::Probe(new);
                        e.id = id(new);
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        out
    }

    /// `call` (docs/otp/gen_event.md#ev-api): a stream's handler answers no call and is removed.
    pub(super) fn call(&mut self, target: &HandlerId, kind: CallKind) -> Out {
        let mut out = Out::default();
        let Some(i) = self.position(target) else {
            out.reply = "not_found".into();
            return out;
        };
        let failed = |reason: &str| format!("failed:{reason}");
        let (reply, removal) = match (self.entries[i].who, kind) {
            (Who::Stream(_), _) => (failed("{error,\"bad_call\"}"), Some("{error,\"bad_call\"}")),
            (Who::Probe(_), CallKind::Double(n)) => (format!("ok:{}", 2 * n), None),
            (Who::Probe(_), CallKind::Remove) => ("ok:bye".into(), Some("remove_handler")),
            (Who::Probe(_), CallKind::Panic) => (
                failed("{panic,\"call_panic\"}"),
                Some("{panic,\"call_panic\"}"),
            ),
            (Who::Probe(_), CallKind::Bad) => (
                failed("{error,\"bad_request\"}"),
                Some("{error,\"bad_request\"}"),
            ),
        };
        out.reply = reply;
        if let Some(reason) = removal {
            if let Who::Stream(k) = self.entries[i].who {
                out.streams[k].push(format!("err:stream handler removed: {reason}"));
            }
            self.remove_at(i, reason, &mut out);
        }
        out
    }

    pub(super) fn info(&self) -> Out {
        let mut out = Out::default();
        for e in &self.entries {
            if let Who::Probe(name) = e.who {
                out.log.push(format!("{name}:info:ping"));
            }
        }
        out
    }

    pub(super) fn owner_dies(&mut self, k: usize, reason: &str) -> Out {
        let mut out = Out::default();
        self.owners_alive[k] = false;
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].owner == Some(k) {
                self.remove_at(i, &format!("{{stop,{reason}}}"), &mut out);
            } else {
                i += 1;
            }
        }
        out
    }

    pub(super) fn ids(&self) -> Vec<HandlerId> {
        self.entries.iter().map(|e| e.id.clone()).collect()
    }
}
