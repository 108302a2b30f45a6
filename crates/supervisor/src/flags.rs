use std::time::Duration;

use crate::error::FlagsError;
use crate::{AutoShutdown, Strategy};

/// Supervisor flags: strategy, restart intensity and auto-shutdown.
///
/// More than `intensity` restarts within any `period` make the supervisor
/// give up: it stops all children and exits with
/// [`ExitReason::Shutdown`](arbor_process::ExitReason::Shutdown).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use arbor_supervisor::{Strategy, SupFlags};
///
/// let flags = SupFlags::new(Strategy::OneForAll).intensity(3).period(Duration::from_secs(10));
/// assert!(flags.validate().is_ok());
/// assert_eq!(SupFlags::default().intensity, 1);
/// ```
///
/// # OTP
///
/// The `sup_flags()` map. `period` is an exact [`Duration`] instead of whole
/// seconds (see docs/supervisor.md, "Differences from OTP").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupFlags {
    /// The restart strategy. Default [`Strategy::OneForOne`].
    pub strategy: Strategy,
    /// Maximum restarts within `period`. Default 1.
    pub intensity: u32,
    /// The restart window. Default 5 s; must not be zero.
    pub period: Duration,
    /// Auto-shutdown on significant children. Default [`AutoShutdown::Never`].
    pub auto_shutdown: AutoShutdown,
}

impl Default for SupFlags {
    fn default() -> Self {
        SupFlags {
            strategy: Strategy::OneForOne,
            intensity: 1,
            period: Duration::from_secs(5),
            auto_shutdown: AutoShutdown::Never,
        }
    }
}

impl SupFlags {
    /// Default flags with the given strategy.
    pub fn new(strategy: Strategy) -> SupFlags {
        SupFlags {
            strategy,
            ..SupFlags::default()
        }
    }

    /// Sets the strategy.
    pub fn strategy(mut self, strategy: Strategy) -> SupFlags {
        self.strategy = strategy;
        self
    }

    /// Sets the maximum number of restarts within `period`.
    pub fn intensity(mut self, intensity: u32) -> SupFlags {
        self.intensity = intensity;
        self
    }

    /// Sets the restart window.
    pub fn period(mut self, period: Duration) -> SupFlags {
        self.period = period;
        self
    }

    /// Sets auto-shutdown.
    pub fn auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> SupFlags {
        self.auto_shutdown = auto_shutdown;
        self
    }

    /// Checks the flags. Pure; [`Supervisor::start_link`](crate::Supervisor::start_link)
    /// runs it first.
    ///
    /// # Errors
    ///
    /// [`FlagsError::InvalidPeriod`] for a zero period;
    /// [`FlagsError::BadCombination`] for auto-shutdown with
    /// [`Strategy::SimpleOneForOne`].
    ///
    /// # OTP
    ///
    /// `supervisor:check_flags/1`, newest OTP (which rejects auto-shutdown
    /// for simple_one_for_one). Invalid strategies, intensities and
    /// auto-shutdown values cannot be expressed in Rust.
    pub fn validate(&self) -> Result<(), FlagsError> {
        if self.period.is_zero() {
            return Err(FlagsError::InvalidPeriod(self.period));
        }
        if self.strategy == Strategy::SimpleOneForOne && self.auto_shutdown != AutoShutdown::Never {
            return Err(FlagsError::BadCombination {
                auto_shutdown: self.auto_shutdown,
                strategy: self.strategy,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_otp_defaults() {
        let f = SupFlags::default();
        assert_eq!(f.strategy, Strategy::OneForOne);
        assert_eq!(f.intensity, 1);
        assert_eq!(f.period, Duration::from_secs(5));
        assert_eq!(f.auto_shutdown, AutoShutdown::Never);
        assert_eq!(f.validate(), Ok(()));
    }

    #[test]
    fn zero_period_is_invalid_period() {
        let f = SupFlags::default().period(Duration::ZERO);
        assert_eq!(f.validate(), Err(FlagsError::InvalidPeriod(Duration::ZERO)));
    }

    #[test]
    fn intensity_zero_is_valid() {
        assert_eq!(SupFlags::default().intensity(0).validate(), Ok(()));
    }

    #[test]
    fn auto_shutdown_with_simple_one_for_one_is_bad_combination() {
        for a in [AutoShutdown::AnySignificant, AutoShutdown::AllSignificant] {
            let f = SupFlags::new(Strategy::SimpleOneForOne).auto_shutdown(a);
            assert_eq!(
                f.validate(),
                Err(FlagsError::BadCombination {
                    auto_shutdown: a,
                    strategy: Strategy::SimpleOneForOne
                })
            );
        }
        let ok = SupFlags::new(Strategy::SimpleOneForOne);
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn names_render_like_erlang_atoms() {
        assert_eq!(Strategy::RestForOne.to_string(), "rest_for_one");
        assert_eq!(AutoShutdown::AnySignificant.to_string(), "any_significant");
    }
}
