//! A fast hasher for keys that are unique counters ([`Pid`](crate::Pid),
//! [`MonitorRef`](crate::MonitorRef)): the process table and every
//! process's links and monitors hash them on each link, monitor and exit.
//! SipHash's protection against chosen keys buys nothing for ids the
//! runtime hands out itself, and costs more than the rest of a lookup.

use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hashing (as rustc's FxHash): the high bits, which
/// hashbrown and dashmap use to pick buckets and shards, mix every input
/// bit of a sequential id.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

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

/// The `BuildHasher` for maps keyed by ids.
pub(crate) type IdBuildHasher = BuildHasherDefault<IdHasher>;
