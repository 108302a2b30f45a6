//! The pure core of the lease that lets a node serve its shards at all.
//!
//! # Invariants
//!
//! 1. The lease is fresh only while a probe *sent* less than 2 ticks ago
//!    came back from the server: freshness counts from the probe's send
//!    time, never from when its echo was read. An echo read late (the
//!    process was stopped, or the server was hung with the probe in its
//!    buffers) proves only that the path worked when it was sent; stamped
//!    on receipt it would make a node that the others already declared
//!    down (3 silent ticks) believe it may still serve.
//! 2. A lapse (not fresh, or the connection was re-established) is
//!    remembered until [`Lease::confirm`]: ownership must be confirmed by
//!    compare-and-set writes before serving again.

use std::time::{Duration, Instant};

/// See the module invariants.
#[derive(Debug)]
pub(crate) struct Lease {
    /// The send time of the newest probe that came back.
    last_echo: Option<Instant>,
    /// The connection's connect count when the ownership was last
    /// confirmed.
    connects: u64,
    confirmed: bool,
}

impl Lease {
    pub(crate) fn new(connects: u64) -> Lease {
        Lease {
            last_echo: None,
            connects,
            confirmed: true,
        }
    }

    /// A probe sent at `sent` came back (invariant 1).
    pub(crate) fn echoed(&mut self, sent: Instant) {
        if self.last_echo.is_none_or(|t| t < sent) {
            self.last_echo = Some(sent);
        }
    }

    /// Whether a probe sent less than 2 ticks before `now` came back.
    pub(crate) fn fresh(&self, now: Instant, tick: Duration) -> bool {
        self.last_echo
            .is_some_and(|t| now.saturating_duration_since(t) < tick * 2)
    }

    /// Whether the lease holds at `now` with the connection at `connects`
    /// connects; a lapse is remembered (invariant 2).
    pub(crate) fn valid(&mut self, now: Instant, tick: Duration, connects: u64) -> bool {
        if !self.fresh(now, tick) || self.connects != connects {
            self.confirmed = false;
        }
        self.confirmed
    }

    /// Whether the lease lapsed and can be confirmed now (fresh again).
    pub(crate) fn needs_confirmation(
        &mut self,
        now: Instant,
        tick: Duration,
        connects: u64,
    ) -> bool {
        !self.valid(now, tick, connects) && self.fresh(now, tick)
    }

    /// Ownership was confirmed by writes made after the connection had
    /// `connects` connects.
    pub(crate) fn confirm(&mut self, connects: u64) {
        self.connects = connects;
        self.confirmed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(250);

    #[test]
    fn lease_holds_while_probes_come_back() {
        let t0 = Instant::now();
        let mut l = Lease::new(1);
        assert!(!l.valid(t0, TICK, 1), "no probe back yet");
        l.confirm(1);
        l.echoed(t0);
        assert!(l.valid(t0 + Duration::from_millis(499), TICK, 1));
        assert!(!l.valid(t0 + Duration::from_millis(500), TICK, 1));
        // Remembered: a probe back does not restore it without a confirm.
        l.echoed(t0 + Duration::from_millis(600));
        assert!(!l.valid(t0 + Duration::from_millis(601), TICK, 1));
        assert!(l.needs_confirmation(t0 + Duration::from_millis(601), TICK, 1));
        l.confirm(1);
        assert!(l.valid(t0 + Duration::from_millis(602), TICK, 1));
    }

    #[test]
    fn an_echo_read_late_counts_from_its_send_time() {
        // The process was stopped 1.5 s right after sending a probe; on
        // resuming it reads the echo before anything checked the lease.
        let t0 = Instant::now();
        let mut l = Lease::new(1);
        l.echoed(t0);
        let resumed = t0 + Duration::from_millis(1500);
        l.echoed(t0 + Duration::from_millis(1));
        assert!(!l.valid(resumed, TICK, 1), "a stale echo keeps no lease");
        assert!(
            !l.needs_confirmation(resumed, TICK, 1),
            "not fresh: nothing to confirm with yet"
        );
        // An older echo read after a newer one changes nothing.
        l.echoed(resumed);
        l.echoed(t0);
        assert!(l.fresh(resumed + Duration::from_millis(499), TICK));
    }

    #[test]
    fn a_reconnect_lapses_the_lease() {
        let t0 = Instant::now();
        let mut l = Lease::new(1);
        l.echoed(t0);
        assert!(l.valid(t0, TICK, 1));
        assert!(!l.valid(t0, TICK, 2));
        assert!(!l.valid(t0, TICK, 1), "remembered");
        assert!(l.needs_confirmation(t0, TICK, 2));
        l.confirm(2);
        assert!(l.valid(t0, TICK, 2));
    }
}
