//! The restart-intensity window: a pure core, unit-tested without a runtime.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Returned by [`RestartWindow::record`] when the supervisor must give up:
/// more than `intensity` restarts within `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Escalate {
    /// Restarts counted in the window, including the refused one.
    pub restarts: usize,
}

/// The restart history of one supervisor.
///
/// A restart at `now` is allowed if, counting it, at most `intensity`
/// restarts happened in the window `[now - period, now]` (both ends
/// inclusive, as OTP's integer-second window is). Time is exact
/// monotonic time, not whole seconds.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use arbor_supervisor::RestartWindow;
/// use tokio::time::Instant;
///
/// let mut w = RestartWindow::new(1, Duration::from_secs(5));
/// let t0 = Instant::now();
/// assert!(w.record(t0).is_ok());
/// assert!(w.record(t0 + Duration::from_secs(5)).is_err()); // 2 restarts within 5 s
/// let mut w = RestartWindow::new(1, Duration::from_secs(5));
/// assert!(w.record(t0).is_ok());
/// assert!(w.record(t0 + Duration::from_millis(5001)).is_ok()); // the first one left the window
/// ```
///
/// # OTP
///
/// `supervisor:add_restart/1`, with exact durations instead of whole
/// seconds.
#[derive(Debug, Clone)]
pub struct RestartWindow {
    intensity: u32,
    period: Duration,
    /// Restart times, oldest first.
    restarts: VecDeque<Instant>,
}

impl RestartWindow {
    /// An empty window.
    pub fn new(intensity: u32, period: Duration) -> RestartWindow {
        RestartWindow {
            intensity,
            period,
            restarts: VecDeque::new(),
        }
    }

    /// Records a restart at `now` (monotonic; not earlier than the previous
    /// one).
    ///
    /// # Errors
    ///
    /// [`Escalate`] if this makes more than `intensity` restarts within
    /// `period`: the supervisor must not restart and must shut down.
    pub fn record(&mut self, now: Instant) -> Result<(), Escalate> {
        self.prune(now);
        self.restarts.push_back(now);
        let n = self.restarts.len();
        if n > self.intensity as usize {
            Err(Escalate { restarts: n })
        } else {
            Ok(())
        }
    }

    /// Restarts within the window ending at `now`.
    pub fn count(&self, now: Instant) -> usize {
        self.restarts
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= self.period)
            .count()
    }

    /// The configured intensity.
    pub fn intensity(&self) -> u32 {
        self.intensity
    }

    /// The configured period.
    pub fn period(&self) -> Duration {
        self.period
    }

    fn prune(&mut self, now: Instant) {
        while let Some(oldest) = self.restarts.front() {
            if now.saturating_duration_since(*oldest) > self.period {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn intensity_zero_refuses_the_first_restart() {
        let mut w = RestartWindow::new(0, 5 * S);
        assert_eq!(w.record(Instant::now()), Err(Escalate { restarts: 1 }));
    }

    #[test]
    fn intensity_one_allows_one_restart_per_period() {
        let t = Instant::now();
        let mut w = RestartWindow::new(1, 5 * S);
        assert_eq!(w.record(t), Ok(()));
        assert_eq!(w.record(t + 4 * S), Err(Escalate { restarts: 2 }));
    }

    #[test]
    fn window_is_inclusive_at_exactly_period() {
        let t = Instant::now();
        let mut w = RestartWindow::new(1, 5 * S);
        w.record(t).unwrap();
        assert!(w.record(t + 5 * S).is_err());
    }

    #[test]
    fn restart_just_after_period_is_allowed() {
        let t = Instant::now();
        let mut w = RestartWindow::new(1, 5 * S);
        w.record(t).unwrap();
        assert_eq!(w.record(t + 5 * S + Duration::from_nanos(1)), Ok(()));
        assert_eq!(w.count(t + 5 * S + Duration::from_nanos(1)), 1);
    }

    #[test]
    fn sliding_window_counts_only_recent_restarts() {
        let t = Instant::now();
        let mut w = RestartWindow::new(3, 10 * S);
        for i in 0..3 {
            w.record(t + i * 4 * S).unwrap(); // 0, 4, 8
        }
        // At 12 s the restart at 0 has left the window: 4, 8, 12 → 3 ≤ 3.
        assert_eq!(w.record(t + 12 * S), Ok(()));
        // At 13 s: 4, 8, 12, 13 → 4 > 3.
        assert_eq!(w.record(t + 13 * S), Err(Escalate { restarts: 4 }));
    }

    #[test]
    fn count_reports_restarts_in_window() {
        let t = Instant::now();
        let mut w = RestartWindow::new(5, 2 * S);
        w.record(t).unwrap();
        w.record(t + S).unwrap();
        assert_eq!(w.count(t + S), 2);
        assert_eq!(w.count(t + 2 * S + Duration::from_millis(1)), 1);
        assert_eq!(w.count(t + 10 * S), 0);
    }
}
