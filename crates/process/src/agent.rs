//! Agent: a process that only holds a state, read and updated by closures.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::ExitReason;
use crate::call::{DEFAULT_CALL_TIMEOUT, await_reply, check_not_self};
use crate::control::Control;
use crate::error::{CallError, StartError, StopError};
use crate::gen_server::{GenServer, ServerCtx, ServerMsg, ServerRef};
use crate::handle::{Process, ProcessHandle};
use crate::signal::Envelope;
use crate::start_opts::StartOpts;

type Op<T> = Box<dyn FnOnce(&mut T) + Send>;
type InitFn<T> = Box<dyn FnOnce() -> T + Send>;

/// The server behind an [`Agent`]: the function that builds the state,
/// run by `init` inside the agent (as Elixir's `Agent.start` runs its
/// function in the agent), then the state.
#[doc(hidden)]
pub(crate) struct AgentServer<T> {
    init: Option<InitFn<T>>,
    state: Option<T>,
}

impl<T: Send + 'static> GenServer for AgentServer<T> {
    type Call = std::convert::Infallible;
    type Cast = Op<T>;
    type Info = std::convert::Infallible;

    async fn init(&mut self, _ctx: &mut ServerCtx<Self>) -> Result<(), ExitReason> {
        self.state = self.init.take().map(|init| init());
        Ok(())
    }

    async fn handle_cast(&mut self, op: Op<T>, _ctx: &mut ServerCtx<Self>) -> Control {
        // `init` set the state before the first message is handled.
        if let Some(state) = &mut self.state {
            op(state);
        }
        Control::Continue
    }
}

/// A handle to an agent holding a `T`. Cheap to clone.
///
/// The closures run inside the agent process, one at a time, in the order
/// they were sent by one caller. A closure that panics crashes the agent
/// (its exit reason is [`ExitReason::Panic`]).
///
/// # Examples
///
/// ```
/// use arbor_process::Agent;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let list = Agent::start(Vec::<String>::new).await.unwrap();
/// list.update(|l| l.insert(0, "milk".to_string())).await.unwrap();
/// assert_eq!(list.get(|l| l.clone()).await.unwrap(), vec!["milk".to_string()]);
/// # }
/// ```
///
/// # OTP
///
/// Elixir's `Agent`.
pub struct Agent<T: Send + 'static> {
    server: ServerRef<AgentServer<T>>,
}

impl<T: Send + 'static> Clone for Agent<T> {
    fn clone(&self) -> Self {
        Agent {
            server: self.server.clone(),
        }
    }
}

impl<T: Send + 'static> Agent<T> {
    /// Starts an agent whose state is `init()`, evaluated in the agent.
    ///
    /// # Errors
    ///
    /// [`StartError::Init`] with [`ExitReason::Panic`] if `init` panics.
    ///
    /// # OTP
    ///
    /// `Agent.start/2`.
    pub async fn start(init: impl FnOnce() -> T + Send + 'static) -> Result<Self, StartError> {
        Self::start_opts(init, StartOpts::default()).await
    }

    /// Starts an agent linked to the calling process (its parent).
    ///
    /// # Errors
    ///
    /// As [`Agent::start`].
    ///
    /// # OTP
    ///
    /// `Agent.start_link/2`.
    pub async fn start_link(init: impl FnOnce() -> T + Send + 'static) -> Result<Self, StartError> {
        Self::start_opts(init, StartOpts::default().link()).await
    }

    /// Starts an agent with options (name, link).
    ///
    /// # Errors
    ///
    /// As [`Agent::start`], plus [`StartError::AlreadyStarted`].
    pub async fn start_opts(
        init: impl FnOnce() -> T + Send + 'static,
        opts: StartOpts,
    ) -> Result<Self, StartError> {
        let agent = AgentServer {
            init: Some(Box::new(init) as InitFn<T>),
            state: None,
        };
        let server = agent.start_opts(opts).await?;
        Ok(Agent { server })
    }

    /// The agent registered under `name`, if it holds a `T`.
    pub fn whereis(name: &str) -> Option<Self> {
        ServerRef::whereis(name).map(|server| Agent { server })
    }

    /// Runs `f` on the state and returns its result (5 s timeout).
    ///
    /// # Errors
    ///
    /// As [`ServerRef::call`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after sending leaves `f` queued; it still runs.
    ///
    /// # OTP
    ///
    /// `Agent.get/3`.
    pub async fn get<R: Send + 'static>(
        &self,
        f: impl FnOnce(&T) -> R + Send + 'static,
    ) -> Result<R, CallError> {
        self.run(move |s| f(s), DEFAULT_CALL_TIMEOUT).await
    }

    /// Runs `f` on the state mutably, waiting until it has run.
    ///
    /// # Errors
    ///
    /// As [`ServerRef::call`].
    ///
    /// # Cancel safety
    ///
    /// As [`Agent::get`].
    ///
    /// # OTP
    ///
    /// `Agent.update/3`.
    pub async fn update(&self, f: impl FnOnce(&mut T) + Send + 'static) -> Result<(), CallError> {
        self.run(f, DEFAULT_CALL_TIMEOUT).await
    }

    /// Reads and updates atomically: `f` gets the state mutably and its
    /// result is returned.
    ///
    /// # Errors
    ///
    /// As [`ServerRef::call`].
    ///
    /// # Cancel safety
    ///
    /// As [`Agent::get`].
    ///
    /// # OTP
    ///
    /// `Agent.get_and_update/3`, with `&mut T` in place of `{reply, new_state}`.
    pub async fn get_and_update<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut T) -> R + Send + 'static,
    ) -> Result<R, CallError> {
        self.run(f, DEFAULT_CALL_TIMEOUT).await
    }

    /// Like [`Agent::get_and_update`] with an explicit timeout
    /// (`Duration::MAX` = forever).
    ///
    /// # Errors
    ///
    /// As [`ServerRef::call_timeout`].
    ///
    /// # Cancel safety
    ///
    /// As [`Agent::get`].
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut T) -> R + Send + 'static,
        timeout: Duration,
    ) -> Result<R, CallError> {
        let cell = &self.server.inner.handle.cell;
        check_not_self(cell)?;
        let (tx, rx) = oneshot::channel();
        let op: Op<T> = Box::new(move |s| {
            let _ = tx.send(f(s));
        });
        if !self
            .server
            .inner
            .enqueue(Envelope::User(ServerMsg::Cast(op)))
        {
            return Err(CallError::NoProcess);
        }
        await_reply!(rx, cell, timeout)
    }

    /// Updates the state without waiting. Never fails; dropped if the agent
    /// is dead.
    ///
    /// # OTP
    ///
    /// `Agent.cast/2`.
    pub fn cast(&self, f: impl FnOnce(&mut T) + Send + 'static) {
        self.server.cast(Box::new(f));
    }
}

impl<T: Send + 'static> Process for Agent<T> {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        self.server.handle()
    }

    /// Stops the agent with `reason`.
    ///
    /// # Errors
    ///
    /// As [`Process::stop_with`].
    ///
    /// # OTP
    ///
    /// `Agent.stop/3`.
    fn stop_with(
        &self,
        reason: ExitReason,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), StopError>> + Send + '_ {
        self.server.stop_with(reason, timeout)
    }
}

impl<T: Send + 'static> fmt::Debug for Agent<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Agent").field(&self.pid()).finish()
    }
}

impl<T: Send + 'static> PartialEq for Agent<T> {
    fn eq(&self, other: &Self) -> bool {
        self.pid() == other.pid()
    }
}

impl<T: Send + 'static> Eq for Agent<T> {}
