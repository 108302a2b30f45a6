//! Serde helpers: pids as their text (`"<0.42>"`), as everywhere in arbor.

use arbor_process::Pid;
use serde::Serializer;

pub(crate) fn opt_pid<S: Serializer>(pid: &Option<Pid>, s: S) -> Result<S::Ok, S::Error> {
    match pid {
        Some(p) => s.collect_str(p),
        None => s.serialize_none(),
    }
}
