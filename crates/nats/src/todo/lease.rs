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
//! 2. Every lapse is recorded, whether or not anything looked at the lease
//!    while it lasted: the lease is stale at some moment, or an echo
//!    arrives more than 2 ticks after the last fresh send, or the
//!    connection was re-established. A process resumed after a stop may
//!    read a fresh echo before any check runs; without the second rule it
//!    would serve on as if the stop had not happened.
//! 3. After a lapse the lease holds again only through [`Lease::confirm`]
//!    with the token [`Lease::needs_confirmation`] gave *and* no lapse
//!    since: ownership confirmed by writes that began before a newer lapse
//!    proves nothing about the time after it.

use std::time::{Duration, Instant};

/// See the module invariants.
#[derive(Debug)]
pub(crate) struct Lease {
    /// The send time of the newest probe that came back.
    last_echo: Option<Instant>,
    /// The connection's connect count when the last lapse was recorded.
    connects: u64,
    confirmed: bool,
    /// Lapses recorded so far: the confirmation token (invariant 3).
    lapses: u64,
}

impl Lease {
    /// A lease that does not hold yet: the first probe back starts the
    /// first confirmation.
    pub(crate) fn new(connects: u64) -> Lease {
        Lease {
            last_echo: None,
            connects,
            confirmed: false,
            lapses: 0,
        }
    }

    fn lapse(&mut self) {
        self.confirmed = false;
        self.lapses += 1;
    }

    /// A probe sent at `sent` came back at `now` (invariants 1 and 2).
    pub(crate) fn echoed(&mut self, sent: Instant, now: Instant, tick: Duration) {
        if !self.fresh(now, tick) {
            self.lapse();
        }
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
    /// connects; a lapse is recorded (invariant 2).
    pub(crate) fn valid(&mut self, now: Instant, tick: Duration, connects: u64) -> bool {
        if connects != self.connects {
            self.connects = connects;
            self.lapse();
        } else if !self.fresh(now, tick) {
            self.lapse();
        }
        self.confirmed
    }

    /// After a lapse, once fresh again: the token to confirm with.
    pub(crate) fn needs_confirmation(
        &mut self,
        now: Instant,
        tick: Duration,
        connects: u64,
    ) -> Option<u64> {
        (!self.valid(now, tick, connects) && self.fresh(now, tick)).then_some(self.lapses)
    }

    /// Ownership was confirmed by writes that began when `token` was
    /// given; whether the lease holds again (not if it lapsed since:
    /// invariant 3).
    pub(crate) fn confirm(&mut self, token: u64) -> bool {
        if token == self.lapses {
            self.confirmed = true;
        }
        self.confirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(250);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A lease whose first probe came back at `t0` and was confirmed, on
    /// connection 1.
    fn held(t0: Instant) -> Lease {
        let mut l = Lease::new(1);
        l.echoed(t0, t0, TICK);
        let token = l.needs_confirmation(t0, TICK, 1).unwrap();
        assert!(l.confirm(token));
        l
    }

    #[test]
    fn lease_holds_while_probes_come_back() {
        let t0 = Instant::now();
        let mut l = Lease::new(1);
        assert!(!l.valid(t0, TICK, 1), "no probe back yet");
        l.echoed(t0, t0, TICK);
        let token = l
            .needs_confirmation(t0, TICK, 1)
            .expect("fresh, unconfirmed");
        assert!(l.confirm(token));
        assert!(l.valid(t0 + ms(499), TICK, 1));
        assert!(!l.valid(t0 + ms(500), TICK, 1));
        // Remembered: a probe back does not restore it without a confirm.
        l.echoed(t0 + ms(600), t0 + ms(600), TICK);
        assert!(!l.valid(t0 + ms(601), TICK, 1));
        let token = l.needs_confirmation(t0 + ms(601), TICK, 1).unwrap();
        assert!(l.confirm(token));
        assert!(l.valid(t0 + ms(602), TICK, 1));
    }

    #[test]
    fn an_echo_read_late_counts_from_its_send_time() {
        // The process was stopped 1.5 s right after sending a probe; on
        // resuming it reads the echo before anything checked the lease.
        let t0 = Instant::now();
        let mut l = held(t0);
        let resumed = t0 + ms(1500);
        l.echoed(t0 + ms(1), resumed, TICK);
        assert!(!l.valid(resumed, TICK, 1), "a stale echo keeps no lease");
        assert_eq!(
            l.needs_confirmation(resumed, TICK, 1),
            None,
            "not fresh: nothing to confirm with yet"
        );
        // An older echo read after a newer one changes nothing.
        l.echoed(resumed, resumed, TICK);
        l.echoed(t0, resumed, TICK);
        assert!(l.fresh(resumed + ms(499), TICK));
    }

    #[test]
    fn a_lapse_nobody_checked_is_still_a_lapse() {
        // Stopped for 1.5 s; on resuming the first thing that runs is the
        // prober, whose new probe comes back at once: fresh again before
        // any check saw the lease stale.
        let t0 = Instant::now();
        let mut l = held(t0);
        let resumed = t0 + ms(1500);
        l.echoed(resumed, resumed + ms(1), TICK);
        assert!(l.fresh(resumed + ms(1), TICK));
        assert!(
            !l.valid(resumed + ms(2), TICK, 1),
            "the gap between echoes was a lapse"
        );
        assert!(l.needs_confirmation(resumed + ms(2), TICK, 1).is_some());
    }

    #[test]
    fn a_confirmation_begun_before_a_newer_lapse_does_not_restore_the_lease() {
        let t0 = Instant::now();
        let mut l = Lease::new(1);
        l.echoed(t0, t0, TICK);
        let token = l.needs_confirmation(t0, TICK, 1).unwrap();
        // While the confirming writes are in flight the process stops
        // again; on resuming a fresh echo arrives before the writes'
        // answers are read.
        let resumed = t0 + ms(2000);
        l.echoed(resumed, resumed, TICK);
        assert!(!l.confirm(token), "writes from before the lapse");
        assert!(!l.valid(resumed, TICK, 1));
        let again = l.needs_confirmation(resumed, TICK, 1).unwrap();
        assert!(l.confirm(again));
        assert!(l.valid(resumed, TICK, 1));
    }

    #[test]
    fn a_reconnect_lapses_the_lease_once() {
        let t0 = Instant::now();
        let mut l = held(t0);
        assert!(l.valid(t0, TICK, 1));
        assert!(!l.valid(t0, TICK, 2));
        assert!(!l.valid(t0, TICK, 2), "remembered");
        let token = l.needs_confirmation(t0, TICK, 2).unwrap();
        // Checks while the writes are in flight see the same connection:
        // no new lapse, the confirmation stands.
        assert!(!l.valid(t0 + ms(1), TICK, 2));
        assert!(l.confirm(token));
        assert!(l.valid(t0 + ms(2), TICK, 2));
    }
}
