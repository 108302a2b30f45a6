//! The pure core of sharding: which shard a list name is in, which node a
//! shard prefers, and the owner record kept in KV.
//!
//! # Invariants
//!
//! 1. [`shard_of`] depends only on the name and the shard count: every
//!    node, of every build, maps a name to the same shard (FNV-1a, not the
//!    randomly seeded std hasher).
//! 2. [`preferred`] depends only on the shard and the set of candidates,
//!    not their order: nodes that agree on who is up agree on the winner,
//!    and a node leaving moves only the shards it was preferred for.

use serde::{Deserialize, Serialize};

use crate::wire::{Incarnation, NodeId};

/// FNV-1a, 64 bits.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The shard of list `name` among `shards` shards (invariant 1).
pub(crate) fn shard_of(name: &str, shards: u32) -> u32 {
    (fnv1a(&[name.as_bytes()]) % u64::from(shards.max(1))) as u32
}

/// A finalizer (MurmurHash3's `fmix64`): FNV alone barely mixes a
/// difference in an early byte into the high bits, so names that differ in
/// one character would rank alike for every shard.
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The candidate that shard `shard` prefers: highest rendezvous score
/// (invariant 2). `None` without candidates.
pub(crate) fn preferred(shard: u32, candidates: &[NodeId]) -> Option<&NodeId> {
    candidates.iter().max_by_key(|n| {
        (
            fmix(fnv1a(&[n.as_str().as_bytes(), &shard.to_be_bytes()])),
            *n,
        )
    })
}

/// Who owns a shard: a node incarnation. Stored (postcard) under the
/// shard's key; the KV revision of the write that made it owner is its
/// epoch, the fencing token of that ownership.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShardOwner {
    /// The owning node.
    pub node: NodeId,
    /// Its incarnation when it took the shard.
    pub incarnation: Incarnation,
}

impl std::fmt::Display for ShardOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.node, self.incarnation)
    }
}

/// The KV key of shard `k`.
pub(crate) fn key(k: u32) -> String {
    format!("s{k}")
}

/// The shard of a KV key, if it is one.
pub(crate) fn parse_key(key: &str) -> Option<u32> {
    key.strip_prefix('s')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_of_is_stable_and_in_range() {
        // Pinned values: a change here reshuffles every deployed cluster.
        assert_eq!(shard_of("shopping", 64), shard_of("shopping", 64));
        assert_eq!(
            shard_of("", 64),
            (0xcbf2_9ce4_8422_2325u64 ^ 0xff).wrapping_mul(0x0000_0100_0000_01b3) as u32 % 64
        );
        for name in ["a", "b", "shopping", "work", "ü"] {
            assert!(shard_of(name, 64) < 64);
            assert_eq!(shard_of(name, 1), 0);
        }
        assert_eq!(shard_of("x", 0), 0);
    }

    #[test]
    fn names_spread_over_shards() {
        let mut seen = [0u32; 16];
        for i in 0..1600 {
            seen[shard_of(&format!("list{i}"), 16) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
    }

    #[test]
    fn preferred_ignores_order_and_moves_only_the_leavers_shards() {
        let n = |s: &str| NodeId::new(s);
        let all = [n("n1"), n("n2"), n("n3")];
        let rev = [n("n3"), n("n1"), n("n2")];
        let without_n2 = [n("n1"), n("n3")];
        let mut per_node = std::collections::HashMap::new();
        for k in 0..64 {
            let p = preferred(k, &all).unwrap();
            assert_eq!(p, preferred(k, &rev).unwrap());
            *per_node.entry(p.clone()).or_insert(0) += 1;
            if *p != n("n2") {
                assert_eq!(p, preferred(k, &without_n2).unwrap());
            }
        }
        assert_eq!(per_node.len(), 3, "every node is preferred for some shard");
        assert_eq!(preferred(0, &[]), None);
    }

    #[test]
    fn keys_round_trip() {
        assert_eq!(parse_key(&key(17)), Some(17));
        assert_eq!(parse_key("x1"), None);
        assert_eq!(parse_key("s"), None);
    }
}
