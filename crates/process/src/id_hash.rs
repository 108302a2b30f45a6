//! A fast hasher for keys that are unique counters ([`Pid`](crate::Pid),
//! [`MonitorRef`](crate::MonitorRef), a supervisor's child keys): the
//! process table, every process's links and monitors, and the maps that
//! supervisors and servers keep by pid hash them on each start, link,
//! monitor and exit. SipHash's protection against chosen keys buys nothing
//! for ids the runtime hands out itself, and costs more than the rest of a
//! lookup.

use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hashing (as rustc's FxHash): the high bits, which
/// hashbrown and dashmap use to pick buckets and shards, mix every input
/// bit of a sequential id.
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
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The `BuildHasher` of [`IdHasher`], for `HashMap<Pid, V, IdBuildHasher>`
/// and other maps keyed by ids.
pub type IdBuildHasher = BuildHasherDefault<IdHasher>;
