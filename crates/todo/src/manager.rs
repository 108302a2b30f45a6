//! [`TodoManager`]: the server mapping list names to lists, and what it
//! publishes.
//!
//! Invariants of the server state:
//! 1. `names` and `refs` describe the same lists: every monitor in `refs`
//!    names an entry of `names` whose list is the monitored process, and
//!    every entry of `names` has exactly one monitor in `refs`.
//! 2. An entry is removed only when its monitor fired (the list is dead),
//!    and then the `Exit` event is published.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::time::Duration;

use arbor_genevent::EventManagerRef;
use arbor_process::{
    CallError, CallReply, Control, ExitReason, GenServer, IdBuildHasher, Info, MonitorRef, Pid,
    ProcessHandle, ServerCtx, ServerRef, StartError, StartOpts, StopError,
};

use crate::resolved::live_or_whereis;
use crate::{ListSupervisor, TodoEvent, TodoList};

/// Where the manager publishes its events.
#[derive(Debug, Clone)]
pub enum EventTarget {
    /// This event manager process (events are lost once it exits).
    Manager(EventManagerRef<TodoEvent>),
    /// Whatever event manager is registered under this name: follows the
    /// manager across restarts. The name is resolved at the first
    /// publication and again after the manager found last has exited (in
    /// the todo tree a name changes owner only when its process dies).
    Named(String),
}

impl EventTarget {
    /// The event manager registered under `name` at each publication.
    pub fn named(name: impl Into<String>) -> EventTarget {
        EventTarget::Named(name.into())
    }

    /// The manager to publish to: `cached` while it lives, else the one
    /// registered now (remembered in `cached`).
    fn resolve(
        &self,
        cached: &mut Option<EventManagerRef<TodoEvent>>,
    ) -> Option<EventManagerRef<TodoEvent>> {
        match self {
            EventTarget::Manager(m) => Some(m.clone()),
            EventTarget::Named(n) => live_or_whereis(cached, EventManagerRef::is_alive, || {
                EventManagerRef::whereis(n)
            }),
        }
    }
}

impl From<EventManagerRef<TodoEvent>> for EventTarget {
    fn from(m: EventManagerRef<TodoEvent>) -> EventTarget {
        EventTarget::Manager(m)
    }
}

/// The todo manager: creates lists by name through a [`ListSupervisor`],
/// finds them, forgets them when they die, and publishes
/// [`TodoEvent::Create`] / [`TodoEvent::Exit`] with `sync_notify` (so a
/// slow handler slows the manager down instead of queueing without bound).
///
/// Cheap to clone. If the event manager is missing or dies while an event
/// is published, the event is dropped with a warning and the manager keeps
/// running (see `docs/guide.md`, "Why the nested tree").
///
/// # Examples
///
/// ```
/// use arbor_genevent::EventManager;
/// use arbor_todo::{ListSupervisor, TodoEvent, TodoManager};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let sup = ListSupervisor::start_link(None).await.unwrap();
/// let events = EventManager::<TodoEvent>::start_link().await.unwrap();
/// let manager = TodoManager::start_link(sup, events, None).await.unwrap();
/// manager.create("shopping");
/// let list = manager.lookup("shopping").await.unwrap().unwrap();
/// list.put("eggs").await.unwrap();
/// assert_eq!(manager.lookup("nope").await.unwrap(), None);
/// # }
/// ```
///
/// # OTP
///
/// The guide's `Todo.Manager` (a `GenServer`), chapter 5 version.
#[derive(Clone, PartialEq)]
pub struct TodoManager {
    server: ServerRef<Server>,
}

impl TodoManager {
    /// Starts a manager linked to the caller, creating lists under
    /// `list_sup` and publishing to `events`, registered under `name` if
    /// given.
    ///
    /// # Errors
    ///
    /// [`StartError::AlreadyStarted`] if the name is taken.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future may leave the manager running.
    ///
    /// # OTP
    ///
    /// `Todo.Manager.start_link(sup, event, opts)`.
    pub async fn start_link(
        list_sup: ListSupervisor,
        events: impl Into<EventTarget>,
        name: Option<&str>,
    ) -> Result<TodoManager, StartError> {
        let mut opts = StartOpts::default().link();
        if let Some(name) = name {
            opts = opts.name(name);
        }
        let server = Server::start_opts((list_sup, events.into()), opts).await?;
        Ok(TodoManager { server })
    }

    /// The manager registered under `name`, if one runs there.
    pub fn whereis(name: &str) -> Option<TodoManager> {
        ServerRef::whereis(name).map(|server| TodoManager { server })
    }

    /// Creates the list `name` unless it exists. Asynchronous: returns at
    /// once; a later [`lookup`](TodoManager::lookup) from the same caller
    /// sees the list.
    ///
    /// # OTP
    ///
    /// `Todo.Manager.create/2` (a cast).
    pub fn create(&self, name: impl Into<String>) {
        self.server.cast(Cast::Create(name.into()));
    }

    /// The list named `name`, if there is one.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or does not answer in 5 s.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the lookup has no effect.
    ///
    /// # OTP
    ///
    /// `Todo.Manager.lookup/2` (`{:ok, pid}` / `:error` as an `Option`).
    pub async fn lookup(&self, name: &str) -> Result<Option<TodoList>, CallError> {
        match self.server.call(Call::Lookup(name.to_owned())).await? {
            Reply::List(list) => Ok(list),
            Reply::Names(_) => Err(CallError::NoProcess), // never sent for Lookup
        }
    }

    /// The names of all lists, sorted.
    ///
    /// # Errors
    ///
    /// As [`lookup`](TodoManager::lookup).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn names(&self) -> Result<Vec<String>, CallError> {
        match self.server.call(Call::Names).await? {
            Reply::Names(names) => Ok(names),
            Reply::List(_) => Err(CallError::NoProcess), // never sent for Names
        }
    }

    /// Stops the manager with reason `normal` (waits up to 5 s). Its lists
    /// keep running under the list supervisor.
    ///
    /// # Errors
    ///
    /// As [`ServerRef::stop`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was sent still stops it.
    ///
    /// # OTP
    ///
    /// `Todo.Manager.stop/1`.
    pub async fn stop(&self) -> Result<(), StopError> {
        self.server
            .stop(ExitReason::Normal, Duration::from_secs(5))
            .await
    }

    /// Waits for the manager to exit and returns its reason.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait(&self) -> ExitReason {
        self.server.wait().await
    }

    /// The manager's pid.
    pub fn pid(&self) -> Pid {
        self.server.pid()
    }

    /// An untyped handle to the manager process.
    pub fn process(&self) -> ProcessHandle {
        self.server.process()
    }

    /// Whether the manager is alive.
    pub fn is_alive(&self) -> bool {
        self.server.is_alive()
    }
}

impl fmt::Debug for TodoManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TodoManager({})", self.pid())
    }
}

// ===== impl Server =====

pub(crate) enum Call {
    Lookup(String),
    Names,
}

pub(crate) enum Reply {
    List(Option<TodoList>),
    Names(Vec<String>),
}

pub(crate) enum Cast {
    Create(String),
}

pub(crate) struct Server {
    list_sup: ListSupervisor,
    events: EventTarget,
    /// The event manager `events` named when last resolved.
    resolved: Option<EventManagerRef<TodoEvent>>,
    /// Keyed by names that clients choose (over TCP too): SipHash.
    names: HashMap<String, TodoList>,
    /// Keyed by monitor refs the runtime hands out: the id hasher.
    refs: HashMap<MonitorRef, String, IdBuildHasher>,
}

impl Server {
    async fn publish(&mut self, event: TodoEvent) {
        let Some(events) = self.events.resolve(&mut self.resolved) else {
            tracing::warn!(target: "arbor::todo", %event, "no event manager: event dropped");
            return;
        };
        if let Err(e) = events.sync_notify(event).await {
            tracing::warn!(target: "arbor::todo", error = %e, "event manager failed: event dropped");
        }
    }
}

impl GenServer for Server {
    type Args = (ListSupervisor, EventTarget);
    type Call = Call;
    type Reply = Reply;
    type Cast = Cast;
    type Info = ();

    async fn init(
        (list_sup, events): (ListSupervisor, EventTarget),
        _ctx: &mut ServerCtx<Self>,
    ) -> Result<Self, ExitReason> {
        Ok(Server {
            list_sup,
            events,
            resolved: None,
            names: HashMap::new(),
            refs: HashMap::default(),
        })
    }

    async fn handle_call(&mut self, request: Call, _ctx: &mut ServerCtx<Self>) -> CallReply<Reply> {
        match request {
            Call::Lookup(name) => CallReply::Reply(Reply::List(self.names.get(&name).cloned())),
            Call::Names => {
                let mut names: Vec<String> = self.names.keys().cloned().collect();
                names.sort();
                CallReply::Reply(Reply::Names(names))
            }
        }
    }

    async fn handle_cast(&mut self, message: Cast, ctx: &mut ServerCtx<Self>) -> Control {
        let Cast::Create(name) = message;
        // The name is hashed once: its vacant slot is held across the start
        // (the manager handles one message at a time; nothing else touches
        // `names` meanwhile) and filled after it.
        let Entry::Vacant(slot) = self.names.entry(name) else {
            return Control::Continue;
        };
        let list = match self.list_sup.start_todo_list().await {
            Ok(list) => list,
            Err(e) => {
                // The list supervisor is part of our one_for_all pair: if it
                // is gone, so are we shortly. Crash like the guide's match.
                let name = slot.key();
                tracing::error!(target: "arbor::todo", %name, error = %e, "could not start a todo list");
                return Control::Stop(ExitReason::error(e));
            }
        };
        // Invariant 1: the monitor and both entries are added together.
        let monitor = ctx.monitor(list.pid());
        let name = slot.key().clone();
        slot.insert(list.clone());
        self.refs.insert(monitor, name.clone());
        tracing::info!(target: "arbor::todo", %name, list = %list.pid(), "todo list created");
        self.publish(TodoEvent::Create { name, list }).await;
        Control::Continue
    }

    async fn handle_info(&mut self, info: Info<()>, _ctx: &mut ServerCtx<Self>) -> Control {
        if let Info::Down(down) = info {
            // Invariant 2: only a fired monitor removes an entry.
            if let Some(name) = self.refs.remove(&down.monitor)
                && let Some(list) = self.names.remove(&name)
            {
                tracing::info!(target: "arbor::todo", %name, list = %list.pid(), reason = %down.reason, "todo list exited");
                self.publish(TodoEvent::Exit { name, list }).await;
            }
        }
        Control::Continue
    }
}
