//! The event ledger: what became of every client event (invariant 1).

use std::collections::VecDeque;

use crate::shared::Violations;

/// Status bits of a seq in the ledger's window.
pub(crate) const OK: u8 = 1;
pub(crate) const ERR: u8 = 2;
const SEEN: u8 = 4;
const VERIFIED: u8 = 8;

/// What became of every client event, by sequence number: a status byte
/// for the seqs not verified yet (a window that moves on as they are) and
/// one "forwarded" bit for every seq ever sent, to catch a second forward
/// at any time. Memory: one bit per event.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// The seq of `window[0]`; every seq below it is verified.
    base: u64,
    window: VecDeque<u8>,
    forwarded: Vec<u64>,
    pub(crate) ok: u64,
    pub(crate) err: u64,
    pub(crate) seen: u64,
    pub(crate) err_seen: u64,
}

impl Ledger {
    /// The status byte of a seq not verified yet.
    fn status(&mut self, seq: u64) -> Option<&mut u8> {
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        if i >= self.window.len() {
            self.window.resize(i + 1, 0);
        }
        self.window.get_mut(i)
    }

    /// A client's outcome: `OK` or `ERR`.
    pub(crate) fn record(&mut self, seq: u64, bit: u8) {
        if bit == OK {
            self.ok += 1;
        } else {
            self.err += 1;
            if self.was_forwarded(seq) {
                self.err_seen += 1;
            }
        }
        // A seq is undecided until here, so it is still in the window.
        if let Some(s) = self.status(seq) {
            *s |= bit;
        }
    }

    fn was_forwarded(&self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        self.forwarded
            .get(word)
            .is_some_and(|w| w & (1 << bit) != 0)
    }

    /// The handler forwarded `seq`.
    pub(crate) fn forward(&mut self, seq: u64, allocated: u64, violations: &Violations) {
        if seq >= allocated {
            violations.report(format!("event #{seq} forwarded but never sent"));
        }
        if self.was_forwarded(seq) {
            violations.report(format!("event #{seq} forwarded twice"));
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.forwarded.len() {
            self.forwarded.resize(word + 1, 0);
        }
        self.forwarded[word] |= 1 << bit;
        self.seen += 1;
        let failed = match self.status(seq) {
            Some(s) => {
                *s |= SEEN;
                *s & ERR != 0
            }
            // Verified already, so it failed (an Ok one was forwarded
            // before it was verified, and a second forward is caught above).
            None => true,
        };
        if failed {
            self.err_seen += 1;
        }
    }

    /// Step 1 of a check: the `Ok`s not verified yet; failed ones need no
    /// check and are marked verified.
    pub(crate) fn oks_to_verify(&mut self) -> Vec<u64> {
        let mut oks = Vec::new();
        for (i, s) in self.window.iter_mut().enumerate() {
            if *s & VERIFIED == 0 {
                if *s & OK != 0 {
                    oks.push(self.base + i as u64);
                } else if *s & ERR != 0 {
                    *s |= VERIFIED;
                }
            }
        }
        oks
    }

    /// Step 3: each of `oks` must have been forwarded; then the window
    /// moves past the verified seqs.
    pub(crate) fn verify(&mut self, oks: &[u64], violations: &Violations) {
        for &seq in oks {
            if let Some(s) = self.status(seq) {
                if *s & SEEN == 0 {
                    violations.report(format!(
                        "event #{seq}: sync_notify returned Ok but the handler never forwarded it"
                    ));
                }
                *s |= VERIFIED;
            }
        }
        while self.window.front().is_some_and(|s| s & VERIFIED != 0) {
            self.window.pop_front();
            self.base += 1;
        }
    }

    /// The ledger's memory: the forwarded bits and the window.
    pub(crate) fn memory_bytes(&self) -> u64 {
        (self.forwarded.capacity() * 8 + self.window.capacity()) as u64
    }
}
