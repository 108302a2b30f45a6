//! The recorder: owns the trace (docs/otp/genevent-oracle.md#gev-trace). Handler callbacks and
//! owners add their lines directly (they run on the runner's one thread,
//! so lines are in the order things happened); deaths come from the
//! recorder process's monitors. Each op's event lines are buffered and
//! printed grouped and sorted when the op ends (docs/otp/genevent-oracle.md#gev-grouping).
//!
//! Invariants:
//! 1. A line is buffered under the key (category, group, within, seq):
//!    handler chains (0) before owners (1) before the manager (2); groups
//!    in byte order; a chain's lines in the order they happened; an
//!    owner's `got` lines in byte order, its `exit` last.
//! 2. A handler instance swapped in during the op joins its predecessor's
//!    chain (`roots`), which is reset at the end of every op.
//! 3. A death is recorded before any request the runner sends the
//!    recorder after it saw that death (one mailbox, monitors fire at the
//!    death).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arbor_process::{Ctx, Msg, Pid, ProcessRef, ReplyTo, spawn};
use parking_lot::Mutex;

use super::render::reason_term;
use super::scenario::Hid;
use arbor_process::Myself;

const FOREVER: Duration = Duration::MAX;

type Key = (u8, String, (u8, String), u64);

#[derive(Default)]
struct State {
    out: Vec<String>,
    buf: Vec<(Key, String)>,
    seq: u64,
    gens: HashMap<Hid, u32>,
    /// Handler callbacks run so far (the settle compares it).
    count: u64,
    roots: HashMap<String, String>,
    labels: HashMap<Pid, String>,
    /// The subject of the handler whose `terminate(swap)` ran last; the
    /// next init takes it (docs/otp/genevent-oracle.md#gev-grouping).
    pred: Option<String>,
    /// The owner a `swap ... owner=` op gives the new handler, while that
    /// op runs.
    swap_owner: Option<String>,
    /// What each watched pid is: the manager's label or an owner's name,
    /// and whether it is an owner.
    watched: HashMap<Pid, (String, bool)>,
}

impl State {
    fn buffer(&mut self, key: (u8, String, (u8, String)), line: String) {
        let (c, g, w) = key;
        self.buf.push(((c, g, w, self.seq), line));
        self.seq += 1;
    }

    fn sorted_buf(&self) -> Vec<String> {
        let mut b: Vec<&(Key, String)> = self.buf.iter().collect();
        b.sort_by(|x, y| x.0.cmp(&y.0));
        b.into_iter().map(|(_, l)| l.clone()).collect()
    }
}

enum Req {
    Watch(Pid, ReplyTo<()>),
    Sync(ReplyTo<()>),
}

/// A handle to the trace: shared state plus the process that watches
/// deaths.
#[derive(Clone)]
pub(crate) struct Recorder {
    st: Arc<Mutex<State>>,
    proc: ProcessRef<Req>,
}

impl Recorder {
    /// Spawns the watching process.
    pub(crate) fn spawn() -> Recorder {
        let st = Arc::new(Mutex::new(State::default()));
        let shared = st.clone();
        let proc = spawn(move |mut ctx: Ctx<Req>| async move {
            loop {
                match ctx.recv().await {
                    Msg::Message(Req::Watch(pid, reply)) => {
                        ctx.monitor(pid);
                        let _ = reply.reply(());
                    }
                    Msg::Message(Req::Sync(reply)) => {
                        let _ = reply.reply(());
                    }
                    Msg::Down(d) => {
                        let mut s = shared.lock();
                        if let Some((label, owner)) = s.watched.get(&d.pid).cloned() {
                            let line = format!("{label} exit reason={}", reason_term(&d.reason));
                            let key = if owner {
                                (1, label, (1, String::new()))
                            } else {
                                (2, label, (0, String::new()))
                            };
                            s.buffer(key, line);
                        }
                    }
                    Msg::Exit(_) => {}
                }
            }
        });
        Recorder { st, proc }
    }

    /// Names `pid` in traces.
    pub(crate) fn label(&self, pid: Pid, label: &str) {
        self.st.lock().labels.insert(pid, label.to_owned());
    }

    /// `pid`'s label, `pid` if it has none.
    pub(crate) fn label_of(&self, pid: Pid) -> String {
        self.st
            .lock()
            .labels
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| "pid".to_owned())
    }

    /// Monitors `pid` (the manager or an owner) so that its death prints an
    /// `exit` line under `label`.
    pub(crate) async fn watch(&self, pid: Pid, label: &str, owner: bool) -> Result<(), ()> {
        self.st
            .lock()
            .watched
            .insert(pid, (label.to_owned(), owner));
        self.proc
            .call_timeout(|r| Req::Watch(pid, r), FOREVER)
            .await
            .map_err(|_| ())
    }

    /// Returns once every death seen so far is recorded (invariant 3).
    pub(crate) async fn sync(&self) -> Result<(), ()> {
        self.proc
            .call_timeout(Req::Sync, FOREVER)
            .await
            .map_err(|_| ())
    }

    /// Counts an init call of `hid`; returns its gen.
    pub(crate) fn attempt(&self, hid: &Hid) -> u32 {
        let mut s = self.st.lock();
        let g = s.gens.entry(hid.clone()).or_insert(0);
        *g += 1;
        *g
    }

    /// A handler callback ran: `<subject> <text>`; `pred` is the subject
    /// of the instance a swapped-in handler replaces.
    pub(crate) fn hline(&self, subject: &str, text: &str, pred: Option<&str>) {
        let mut s = self.st.lock();
        s.count += 1;
        if let Some(p) = pred {
            let root = s.roots.get(p).cloned().unwrap_or_else(|| p.to_owned());
            s.roots.insert(subject.to_owned(), root);
        }
        let root = s
            .roots
            .get(subject)
            .cloned()
            .unwrap_or_else(|| subject.to_owned());
        s.buffer((0, root, (0, String::new())), format!("{subject} {text}"));
    }

    /// An owner received a message.
    pub(crate) fn oline(&self, owner: &str, text: &str) {
        let line = format!("{owner} {text}");
        self.st
            .lock()
            .buffer((1, owner.to_owned(), (0, line.clone())), line);
    }

    /// A line printed as is (`> op`, `= result`, `end ...`).
    pub(crate) fn line(&self, line: String) {
        self.st.lock().out.push(line);
    }

    /// Handler callbacks so far.
    pub(crate) fn count(&self) -> u64 {
        self.st.lock().count
    }

    /// Ends the op: its buffered lines go out, sorted (invariant 1).
    pub(crate) fn end_op(&self) {
        let mut s = self.st.lock();
        let lines = s.sorted_buf();
        s.out.extend(lines);
        s.buf.clear();
        s.roots.clear();
        s.pred = None;
    }

    /// The trace so far, with the current op's lines sorted.
    pub(crate) fn dump(&self) -> String {
        let s = self.st.lock();
        let mut t = String::new();
        for l in s.out.iter().chain(s.sorted_buf().iter()) {
            t.push_str(l);
            t.push('\n');
        }
        t
    }

    /// Remembers the subject of a handler swapped out.
    pub(crate) fn set_pred(&self, subject: String) {
        self.st.lock().pred = Some(subject);
    }

    /// Takes the subject [`Recorder::set_pred`] left.
    pub(crate) fn take_pred(&self) -> Option<String> {
        self.st.lock().pred.take()
    }

    /// Sets (or clears) the owner an API swap gives its new handler.
    pub(crate) fn set_swap_owner(&self, owner: Option<String>) {
        self.st.lock().swap_owner = owner;
    }

    /// The owner an API swap in progress gives its new handler.
    pub(crate) fn swap_owner(&self) -> Option<String> {
        self.st.lock().swap_owner.clone()
    }
}
