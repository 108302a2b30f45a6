//! A fast hasher for keys that are unique counters ([`Pid`](crate::Pid),
//! [`MonitorRef`](crate::MonitorRef), a supervisor's child keys): the
//! process table, every process's links and monitors, and the maps that
//! supervisors and servers keep by pid hash them on each start, link,
//! monitor and exit. SipHash's protection against chosen keys buys nothing
//! for ids the runtime hands out itself, and costs more than the rest of a
//! lookup.
//!
//! The hasher is rustc's FxHash from the `rustc-hash` crate, version 1: the
//! multiply-rotate hash this module used to carry a copy of, so every id
//! hashes to the value it had (and maps keyed by pid iterate in the same
//! order). Version 2 of the crate has another hash function.

use std::hash::BuildHasherDefault;

/// Multiply-rotate hashing (rustc's FxHash, from `rustc-hash`): the high
/// bits, which hashbrown and dashmap use to pick buckets and shards, mix
/// every input bit of a sequential id.
///
/// For maps keyed by ids the program hands out itself ([`Pid`](crate::Pid),
/// [`MonitorRef`](crate::MonitorRef), counters). **Not** for keys that
/// someone outside the program chooses (names read from a socket): unlike
/// the standard library's SipHash it does not resist collision attacks.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use arbor_process::{IdBuildHasher, Pid};
///
/// let mut children: HashMap<Pid, &str, IdBuildHasher> = HashMap::default();
/// children.insert(Pid::ANONYMOUS, "nobody");
/// assert_eq!(children.get(&Pid::ANONYMOUS), Some(&"nobody"));
/// ```
pub type IdHasher = rustc_hash::FxHasher;

/// The `BuildHasher` of [`IdHasher`], for `HashMap<Pid, V, IdBuildHasher>`
/// and other maps keyed by ids.
pub type IdBuildHasher = BuildHasherDefault<IdHasher>;

#[cfg(test)]
mod tests {
    use std::hash::Hasher;

    use super::IdHasher;

    /// The hash of a `u64` (every `Pid` and `MonitorRef`) is the one of the
    /// multiply-rotate copy this module carried before it used the crate.
    #[test]
    fn an_id_hashes_as_before() {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        for n in [0u64, 1, 2, 41, u64::MAX, 1 << 40] {
            let mut h = IdHasher::default();
            h.write_u64(n);
            assert_eq!(h.finish(), (0u64.rotate_left(5) ^ n).wrapping_mul(K));
        }
    }
}
