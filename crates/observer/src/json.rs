//! Serde helpers: pids as their text (`"<0.42>"`), as everywhere in arbor.

use arbor_process::Pid;
use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn opt_pid<S: Serializer>(pid: &Option<Pid>, s: S) -> Result<S::Ok, S::Error> {
    match pid {
        Some(p) => s.collect_str(p),
        None => s.serialize_none(),
    }
}

/// Reads what [`opt_pid`] wrote (another node's timeline).
pub(crate) fn de_opt_pid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pid>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}
