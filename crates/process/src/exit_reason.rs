use std::fmt;
use std::sync::Arc;

/// The detail of [`ExitReason::runtime_dropped`].
const RUNTIME_DROPPED: &str = "runtime_dropped";
/// The detail of [`ExitReason::scope_dropped`].
const SCOPE_DROPPED: &str = "scope_dropped";
/// The atom of [`ExitReason::noconnection`].
const NOCONNECTION: &str = "noconnection";

/// Why a process exited. Exit reasons are data: supervisors decide restarts
/// from the variant, never from a string.
///
/// Cloning is cheap (the payloads are behind `Arc`).
///
/// # OTP
///
/// | arbor | Erlang |
/// |---|---|
/// | `Normal` | `normal` |
/// | `Shutdown` | `shutdown` |
/// | `ShutdownWith(t)` | `{shutdown, T}` |
/// | `Killed` | `killed` (after an untrappable kill) |
/// | `Kill` | `kill` as an ordinary reason (a process called `exit(kill)` itself) |
/// | `NoProc` | `noproc` |
/// | `Panic(msg)` | a crash: `{Reason, Stack}` |
/// | `Custom(atom)` | any other term, named |
/// | `Error(e)` | any other term, carrying a Rust error |
#[derive(Clone)]
pub enum ExitReason {
    /// The process finished its work. Linked processes that do not trap
    /// exits ignore it; transient children are not restarted.
    Normal,
    /// An orderly shutdown, normally requested by a supervisor.
    Shutdown,
    /// An orderly shutdown with a detail (`{shutdown, Term}`).
    ShutdownWith(Arc<str>),
    /// The process was killed by an untrappable kill.
    Killed,
    /// The ordinary (trappable) reason `kill`: what linked processes see when
    /// a process exits with reason `kill` by itself.
    Kill,
    /// The process did not exist.
    NoProc,
    /// The process panicked; the payload is the panic message.
    Panic(Arc<str>),
    /// A named abnormal reason, like an Erlang atom (`boom`).
    Custom(Arc<str>),
    /// An abnormal exit carrying an error value.
    Error(Arc<dyn std::error::Error + Send + Sync>),
}

impl ExitReason {
    /// A named abnormal reason, like the Erlang atom `name`.
    pub fn custom(name: impl Into<Arc<str>>) -> ExitReason {
        ExitReason::Custom(name.into())
    }

    /// `{shutdown, detail}`.
    pub fn shutdown_with(detail: impl Into<Arc<str>>) -> ExitReason {
        ExitReason::ShutdownWith(detail.into())
    }

    /// `{shutdown, runtime_dropped}`: the reason of a process whose tokio
    /// runtime was dropped (or shut down) while the process still ran. Its
    /// exit is processed as any other (name released, links and monitors
    /// fired, `wait()` returns); as a shutdown it is not a crash, and a
    /// transient child is not restarted for it.
    pub fn runtime_dropped() -> ExitReason {
        ExitReason::ShutdownWith(Arc::from(RUNTIME_DROPPED))
    }

    /// `{shutdown, scope_dropped}`: the reason of a [`scope`](crate::scope)
    /// whose future was dropped (cancelled, or its runtime dropped) before
    /// its body finished.
    pub fn scope_dropped() -> ExitReason {
        ExitReason::ShutdownWith(Arc::from(SCOPE_DROPPED))
    }

    /// `noconnection`: the reason a link or monitor to a process on another
    /// node delivers when the connection to that node is lost (the node
    /// died, hung or was cut off). It is abnormal: a non-trapping linked
    /// process dies from it, and a supervisor restarts its child.
    ///
    /// # OTP
    ///
    /// The atom `noconnection` of distributed Erlang.
    pub fn noconnection() -> ExitReason {
        ExitReason::Custom(Arc::from(NOCONNECTION))
    }

    /// Whether this is [`ExitReason::noconnection`].
    pub fn is_noconnection(&self) -> bool {
        matches!(self, ExitReason::Custom(a) if &**a == NOCONNECTION)
    }

    /// Whether this is [`ExitReason::runtime_dropped`] or
    /// [`ExitReason::scope_dropped`]: the process did not stop, its runtime
    /// (or its scope's future) went away under it.
    pub fn is_dropped(&self) -> bool {
        matches!(self, ExitReason::ShutdownWith(d) if &**d == RUNTIME_DROPPED || &**d == SCOPE_DROPPED)
    }

    /// An abnormal reason carrying an error.
    pub fn error(err: impl std::error::Error + Send + Sync + 'static) -> ExitReason {
        ExitReason::Error(Arc::new(err))
    }

    /// `true` only for [`ExitReason::Normal`]: the one reason a non-trapping
    /// linked process ignores.
    pub fn is_normal(&self) -> bool {
        matches!(self, ExitReason::Normal)
    }

    /// `true` for `Normal`, `Shutdown` and `ShutdownWith`: the reasons after
    /// which a transient child is not restarted and which a supervisor does
    /// not report as errors.
    ///
    /// # OTP
    ///
    /// The `normal | shutdown | {shutdown, _}` clause of `supervisor:do_restart/3`.
    pub fn is_normal_for_transient(&self) -> bool {
        matches!(
            self,
            ExitReason::Normal | ExitReason::Shutdown | ExitReason::ShutdownWith(_)
        )
    }

    /// `true` for `Shutdown` and `ShutdownWith`.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, ExitReason::Shutdown | ExitReason::ShutdownWith(_))
    }

    /// The exit reason for a caught panic payload: [`ExitReason::Panic`] with
    /// the panic message (`&str` or `String` payloads), or a generic text.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> ExitReason {
        let msg: Arc<str> = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Arc::from(*s)
        } else if let Some(s) = payload.downcast_ref::<String>() {
            Arc::from(s.as_str())
        } else {
            Arc::from("non-string panic payload")
        };
        ExitReason::Panic(msg)
    }
}

impl PartialEq for ExitReason {
    fn eq(&self, other: &Self) -> bool {
        use ExitReason::*;
        match (self, other) {
            (Normal, Normal) | (Shutdown, Shutdown) | (Killed, Killed) => true,
            (Kill, Kill) | (NoProc, NoProc) => true,
            (ShutdownWith(a), ShutdownWith(b)) => a == b,
            (Panic(a), Panic(b)) | (Custom(a), Custom(b)) => a == b,
            (Error(a), Error(b)) => Arc::ptr_eq(a, b) || a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

impl Eq for ExitReason {}

/// Erlang-like rendering: `normal`, `shutdown`, `{shutdown,x}`, `killed`,
/// `kill`, `noproc`, `{panic,"msg"}`, `boom`, `{error,"msg"}`.
impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::ShutdownWith(t) => write!(f, "{{shutdown,{t}}}"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Kill => f.write_str("kill"),
            ExitReason::NoProc => f.write_str("noproc"),
            ExitReason::Panic(m) => write!(f, "{{panic,{m:?}}}"),
            ExitReason::Custom(a) => f.write_str(a),
            ExitReason::Error(e) => write!(f, "{{error,{:?}}}", e.to_string()),
        }
    }
}

impl fmt::Debug for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_normal_reasons() {
        assert!(ExitReason::Normal.is_normal_for_transient());
        assert!(ExitReason::Shutdown.is_normal_for_transient());
        assert!(ExitReason::shutdown_with("x").is_normal_for_transient());
        for r in [
            ExitReason::Killed,
            ExitReason::Kill,
            ExitReason::NoProc,
            ExitReason::custom("boom"),
            ExitReason::Panic("p".into()),
        ] {
            assert!(!r.is_normal_for_transient(), "{r}");
        }
    }

    #[test]
    fn renders_like_erlang_terms() {
        assert_eq!(ExitReason::shutdown_with("x").to_string(), "{shutdown,x}");
        assert_eq!(ExitReason::custom("boom").to_string(), "boom");
        assert_eq!(ExitReason::Killed.to_string(), "killed");
    }

    #[test]
    fn noconnection_is_the_abnormal_atom_noconnection() {
        let r = ExitReason::noconnection();
        assert_eq!(r.to_string(), "noconnection");
        assert!(r.is_noconnection());
        assert_eq!(r, ExitReason::custom("noconnection"));
        assert!(!r.is_normal_for_transient());
        assert!(!ExitReason::custom("noconnect").is_noconnection());
        assert!(!ExitReason::Shutdown.is_noconnection());
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(ExitReason::custom("a"), ExitReason::custom("a"));
        assert_ne!(ExitReason::custom("a"), ExitReason::shutdown_with("a"));
        assert_ne!(ExitReason::Kill, ExitReason::Killed);
    }
}
