//! [`StartOpts`]: how every start in arbor says "named and linked".

use crate::name::Name;

/// Options of a start: link to the caller, register a name, trap exits.
/// The same options for every kind of process: [`spawn_opts`](crate::spawn_opts),
/// [`GenServer::start_opts`](crate::GenServer::start_opts),
/// [`Agent::start_opts`](crate::Agent::start_opts), and the supervisors' and
/// event managers' `start_opts`.
///
/// # Examples
///
/// ```
/// use arbor_process::StartOpts;
///
/// let opts = StartOpts::new().name("cache").link();
/// assert_eq!(opts.name.as_ref().map(|n| n.as_str()), Some("cache"));
/// assert!(opts.link && !opts.trap_exit);
/// ```
///
/// # OTP
///
/// `{local, Name}` and the `link` of `start_link`, `spawn_opt`'s `link`,
/// `process_flag(trap_exit, true)`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StartOpts {
    /// Register the process under this name before it runs.
    pub name: Option<Name>,
    /// Link to the calling process, which becomes the parent.
    pub link: bool,
    /// Trap exits from the start. Behaviours that must trap exits to work
    /// (supervisors, event managers) always do.
    pub trap_exit: bool,
}

impl StartOpts {
    /// No name, not linked, not trapping.
    pub fn new() -> StartOpts {
        StartOpts::default()
    }

    /// Register under `name`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Link to the caller (the caller becomes the parent).
    pub fn link(mut self) -> Self {
        self.link = true;
        self
    }

    /// Trap exits from the first instruction on.
    pub fn trap_exit(mut self) -> Self {
        self.trap_exit = true;
        self
    }
}
