//! Optional per-child restart backoff (beyond OTP; off by default).

use std::time::Duration;

use tokio::time::Instant;

/// A restart delay that grows between consecutive restarts of one child and
/// resets after the child has run quietly for `reset_after`.
///
/// The `n`-th consecutive restart (counting from 0) waits
/// `min(initial × multiplierⁿ, max)`. A restart counts as consecutive if
/// the child crashed less than `reset_after` after its previous restart.
/// While a child waits, it is [`ChildState::Restarting`](crate::ChildState::Restarting)
/// and the supervisor keeps serving requests. The intensity check happens
/// when the child exits, before the delay.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use arbor_supervisor::Backoff;
///
/// let b = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1));
/// assert_eq!(b.delay(0), Duration::from_millis(100));
/// assert_eq!(b.delay(1), Duration::from_millis(200));
/// assert_eq!(b.delay(4), Duration::from_secs(1));
/// ```
///
/// # OTP
///
/// None: OTP restarts at once. See docs/supervisor.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Backoff {
    /// Delay before the first restart of a series.
    pub initial: Duration,
    /// Upper bound of the delay.
    pub max: Duration,
    /// Growth factor between consecutive restarts (≥ 1).
    pub multiplier: u32,
    /// A child that runs this long without exiting starts a new series.
    pub reset_after: Duration,
}

impl Backoff {
    /// Doubling delays from `initial` up to `max`; the series resets after
    /// the child has run for `max` (change with [`Backoff::reset_after`]).
    pub fn exponential(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            multiplier: 2,
            reset_after: max,
        }
    }

    /// A constant delay.
    pub fn constant(delay: Duration) -> Backoff {
        Backoff {
            initial: delay,
            max: delay,
            multiplier: 1,
            reset_after: delay,
        }
    }

    /// Sets the growth factor.
    pub fn multiplier(mut self, multiplier: u32) -> Backoff {
        self.multiplier = multiplier;
        self
    }

    /// Sets the quiet period after which the series resets.
    pub fn reset_after(mut self, reset_after: Duration) -> Backoff {
        self.reset_after = reset_after;
        self
    }

    /// The delay before the `attempt`-th consecutive restart (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let mut d = self.initial;
        for _ in 0..attempt {
            if d >= self.max {
                break;
            }
            d = d.saturating_mul(self.multiplier);
        }
        d.min(self.max)
    }

    /// Whether the parameters make sense: `multiplier ≥ 1`, `initial ≤ max`.
    pub fn is_valid(&self) -> bool {
        self.multiplier >= 1 && self.initial <= self.max
    }
}

/// The per-child backoff series (pure; time injected).
#[derive(Debug, Clone, Default)]
pub(crate) struct BackoffState {
    attempts: u32,
    last_restart: Option<Instant>,
}

impl BackoffState {
    /// The delay for a restart decided at `now`; advances the series.
    pub(crate) fn next_delay(&mut self, backoff: &Backoff, now: Instant) -> Duration {
        if let Some(last) = self.last_restart
            && now.saturating_duration_since(last) >= backoff.reset_after
        {
            self.attempts = 0;
        }
        let d = backoff.delay(self.attempts);
        self.attempts = self.attempts.saturating_add(1);
        self.last_restart = Some(now + d);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_grow_and_cap() {
        let b = Backoff::exponential(100 * MS, 1000 * MS);
        let got: Vec<_> = (0..6).map(|i| b.delay(i)).collect();
        assert_eq!(
            got,
            [100 * MS, 200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]
        );
        assert_eq!(b.delay(u32::MAX), 1000 * MS);
    }

    #[test]
    fn series_resets_after_quiet_period() {
        let b = Backoff::exponential(100 * MS, 1000 * MS).reset_after(5000 * MS);
        let mut s = BackoffState::default();
        let t = Instant::now();
        assert_eq!(s.next_delay(&b, t), 100 * MS);
        // Crashes again 10 ms after the restart (at 110 ms).
        assert_eq!(s.next_delay(&b, t + 110 * MS), 200 * MS);
        // Restarted at 310 ms; runs 5 s quietly, then crashes.
        assert_eq!(s.next_delay(&b, t + 5310 * MS), 100 * MS);
    }

    #[test]
    fn validity() {
        assert!(Backoff::constant(MS).is_valid());
        assert!(!Backoff::exponential(2 * MS, MS).is_valid());
        assert!(!Backoff::constant(MS).multiplier(0).is_valid());
    }
}
