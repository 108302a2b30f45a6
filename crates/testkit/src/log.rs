//! The lifecycle log: what probe children did, in the order they did it.

use std::fmt;
use std::sync::Arc;

use arbor_process::{ExitReason, Pid};
use parking_lot::Mutex;

/// What a probe did.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// It started (its start function returned `Started`).
    Started,
    /// It stopped because of an exit signal (a supervisor's shutdown or a
    /// linked process's death), with the signal's reason.
    Stopped(ExitReason),
    /// It exited by itself with this reason.
    Exited(ExitReason),
    /// It panicked.
    Panicked,
    /// Its start function returned an error.
    StartFailed,
    /// Its start function returned `Ignore`.
    Ignored,
}

/// One entry of a [`LifecycleLog`].
///
/// `Display` gives the compact line used in assertions: `start a`,
/// `stop a shutdown`, `exit a boom`, `panic a`, `failed a`, `ignored a`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The probe's tag: its id, or `id:arg` for a start with an argument.
    pub tag: String,
    /// The process, when there is one (not for failed or ignored starts).
    pub pid: Option<Pid>,
    /// What happened.
    pub kind: EventKind,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = &self.tag;
        match &self.kind {
            EventKind::Started => write!(f, "start {tag}"),
            EventKind::Stopped(r) => write!(f, "stop {tag} {r}"),
            EventKind::Exited(r) => write!(f, "exit {tag} {r}"),
            EventKind::Panicked => write!(f, "panic {tag}"),
            EventKind::StartFailed => write!(f, "failed {tag}"),
            EventKind::Ignored => write!(f, "ignored {tag}"),
        }
    }
}

/// A shared, append-only record of probe lifecycles. Cheap to clone; all
/// clones see the same entries.
///
/// # Examples
///
/// ```
/// use arbor_testkit::{EventKind, LifecycleLog};
///
/// let log = LifecycleLog::new();
/// log.push("a", None, EventKind::Started);
/// assert_eq!(log.lines(), ["start a"]);
/// assert_eq!(log.take_lines(), ["start a"]);
/// assert!(log.lines().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct LifecycleLog(Arc<Mutex<Vec<Event>>>);

impl LifecycleLog {
    /// An empty log.
    pub fn new() -> LifecycleLog {
        LifecycleLog::default()
    }

    /// Appends an event.
    pub fn push(&self, tag: &str, pid: Option<Pid>, kind: EventKind) {
        self.0.lock().push(Event {
            tag: tag.to_string(),
            pid,
            kind,
        });
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().clone()
    }

    /// Removes and returns the events so far.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock())
    }

    /// Every event so far, as lines.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().iter().map(Event::to_string).collect()
    }

    /// Removes the events so far and returns them as lines.
    pub fn take_lines(&self) -> Vec<String> {
        self.take().iter().map(Event::to_string).collect()
    }

    /// Number of events so far.
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    /// Whether nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }

    /// The lines of the events from index `from` on (use [`len`](Self::len)
    /// as a cursor to see what one step added, keeping the history).
    pub fn lines_from(&self, from: usize) -> Vec<String> {
        let events = self.0.lock();
        events
            .get(from..)
            .unwrap_or_default()
            .iter()
            .map(Event::to_string)
            .collect()
    }

    /// The pid of the most recent start of `tag`, if any.
    pub fn last_pid(&self, tag: &str) -> Option<Pid> {
        self.0
            .lock()
            .iter()
            .rev()
            .find(|e| e.tag == tag && e.kind == EventKind::Started)
            .and_then(|e| e.pid)
    }

    /// How many times `tag` started (restart history: starts − 1 restarts).
    pub fn starts(&self, tag: &str) -> usize {
        self.0
            .lock()
            .iter()
            .filter(|e| e.tag == tag && e.kind == EventKind::Started)
            .count()
    }
}
