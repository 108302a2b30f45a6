//! [`TodoManager`]: the server mapping list names to lists, and what it
//! publishes.
//!
//! Invariants of the server state:
//! 1. Between messages, `table` and `refs` describe the same lists: every
//!    monitor in `refs` names an entry of `table` whose list is the
//!    monitored process, and every entry of `table` has exactly one
//!    monitor in `refs`.
//! 2. An entry is removed only when its monitor fired (the list is dead),
//!    and then the `Exit` event is published.
//! 3. Only the server writes `table`; handles read it (as an ETS table
//!    with `protected` access), and never while the server holds an entry:
//!    no shard lock is held across an `.await`.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dashmap::DashMap;

use arbor_genevent::EventManagerRef;
use arbor_process::{
    CallError, Control, ExitReason, GenServer, IdBuildHasher, MonitorRef, Msg, ProcessHandle,
    ReplyTo, ServerCtx, ServerRef, StartError, StartOpts, StopError,
};

use crate::resolved::live_or_whereis;
use crate::{ListSupervisor, TodoEvent, TodoList};
use arbor_process::Myself;
use arbor_process::Process;

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
            })
            .cloned(),
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
#[derive(Clone)]
pub struct TodoManager {
    server: ServerRef<Server>,
    /// The manager's table, once this handle knows it: from the start, or
    /// from the first lookup that asked the manager (a handle found by
    /// name). Shared by the handle's clones.
    table: Arc<OnceLock<Table>>,
}

/// Lists by name. Keyed by names that clients choose (over TCP too):
/// SipHash.
type Table = Arc<DashMap<String, TodoList>>;

impl PartialEq for TodoManager {
    fn eq(&self, other: &TodoManager) -> bool {
        self.server == other.server
    }
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
        let table = Table::default();
        let server = Server {
            list_sup,
            events: events.into(),
            resolved: None,
            table: table.clone(),
            refs: HashMap::default(),
        };
        let server = server.start_opts(opts).await?;
        Ok(TodoManager {
            server,
            table: Arc::new(OnceLock::from(table)),
        })
    }

    /// The manager registered under `name`, if one runs there.
    pub fn whereis(name: &str) -> Option<TodoManager> {
        ServerRef::whereis(name).map(|server| TodoManager {
            server,
            table: Arc::default(),
        })
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
    /// A list found is read from the manager's table without a message (the
    /// Elixir guide's ETS registry: lookups do not queue behind the
    /// manager's work). The manager is asked instead when the name is not
    /// in the table, or names a list whose exit is published, or the
    /// manager's is: its answer is then ordered after this caller's earlier
    /// [`create`](TodoManager::create)s and after the list's `Down` (queued
    /// before the exit is published). The manager fills the table after
    /// publishing `Create` and empties it before publishing `Exit`. So a
    /// lookup after a `create`, after an event, or after seeing the list
    /// exit (`wait`) answers as a lookup by message would; a list that is
    /// dying unobserved can be returned, as with a message.
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
        match self.find_in_table(name) {
            Some(list) => Ok(Some(list)),
            None => self.ask_lookup(name).await,
        }
    }

    /// The lookup by message, for a name [`find_in_table`] did not answer
    /// (this handle also learns the table from the reply).
    ///
    /// [`find_in_table`]: TodoManager::find_in_table
    pub(crate) async fn ask_lookup(&self, name: &str) -> Result<Option<TodoList>, CallError> {
        let (list, table) = self
            .server
            .call(|r| Call::Lookup(name.to_owned(), r))
            .await?;
        // Set already if this handle knew the table: the same one.
        let _ = self.table.set(table);
        Ok(list)
    }

    /// What [`lookup`](TodoManager::lookup) answers without a message: the
    /// list `name` if this handle knows the table, the list is in it, and
    /// neither the list nor the manager has published its exit.
    pub(crate) fn find_in_table(&self, name: &str) -> Option<TodoList> {
        let table = self.table.get()?;
        let list = table.get(name)?;
        (list.exit_reason().is_none() && self.server.exit_reason().is_none()).then(|| list.clone())
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
        self.server.call(Call::Names).await
    }
}

impl Process for TodoManager {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        self.server.handle()
    }

    /// Stops the manager with `reason`. Its lists keep running under the
    /// list supervisor.
    ///
    /// # Errors
    ///
    /// As [`Process::stop_with`].
    ///
    /// # OTP
    ///
    /// `GenServer.stop/3`.
    fn stop_with(
        &self,
        reason: ExitReason,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), StopError>> + Send + '_ {
        self.server.stop_with(reason, timeout)
    }
}

impl fmt::Debug for TodoManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TodoManager({})", self.pid())
    }
}

// ===== impl Server =====

pub(crate) enum Call {
    /// The list, and the table for the handle to read next time.
    Lookup(String, ReplyTo<(Option<TodoList>, Table)>),
    /// The names of all lists, sorted.
    Names(ReplyTo<Vec<String>>),
}

pub(crate) enum Cast {
    Create(String),
}

pub(crate) struct Server {
    list_sup: ListSupervisor,
    events: EventTarget,
    /// The event manager `events` named when last resolved.
    resolved: Option<EventManagerRef<TodoEvent>>,
    /// The lists by name, read by handles without a message.
    table: Table,
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
    type Call = Call;
    type Cast = Cast;
    type Info = ();

    async fn handle_call(&mut self, request: Call, _ctx: &mut ServerCtx<Self>) -> Control {
        match request {
            Call::Lookup(name, reply) => {
                let list = self.table.get(&name).map(|l| l.clone());
                reply.reply((list, self.table.clone()));
            }
            Call::Names(reply) => {
                let mut names: Vec<String> = self.table.iter().map(|e| e.key().clone()).collect();
                names.sort();
                reply.reply(names);
            }
        }
        Control::Continue
    }

    async fn handle_cast(&mut self, message: Cast, ctx: &mut ServerCtx<Self>) -> Control {
        let Cast::Create(name) = message;
        // Checked, then inserted after the start (invariant 3: no entry is
        // held across the `.await`; the manager is the only writer, so the
        // name is still free then).
        if self.table.contains_key(&name) {
            return Control::Continue;
        }
        let list = match self.list_sup.start_todo_list().await {
            Ok(list) => list,
            Err(e) => {
                // The list supervisor is part of our one_for_all pair: if it
                // is gone, so are we shortly. Crash like the guide's match.
                tracing::error!(target: "arbor::todo", %name, error = %e, "could not start a todo list");
                return Control::Stop(ExitReason::error(e));
            }
        };
        // Invariant 1: the monitor and both entries are added in one message.
        // The table entry comes last: a handle that finds the list knows its
        // `Create` was published (as a lookup by message would).
        let monitor = ctx.monitor(list.pid());
        self.refs.insert(monitor, name.clone());
        tracing::info!(target: "arbor::todo", %name, list = %list.pid(), "todo list created");
        self.publish(TodoEvent::Create {
            name: name.clone(),
            list: list.clone(),
        })
        .await;
        self.table.insert(name, list);
        Control::Continue
    }

    async fn handle_info(&mut self, info: Msg<()>, _ctx: &mut ServerCtx<Self>) -> Control {
        if let Msg::Down(down) = info {
            // Invariant 2: only a fired monitor removes an entry.
            if let Some(name) = self.refs.remove(&down.monitor)
                && let Some((_, list)) = self.table.remove(&name)
            {
                tracing::info!(target: "arbor::todo", %name, list = %list.pid(), reason = %down.reason, "todo list exited");
                self.publish(TodoEvent::Exit { name, list }).await;
            }
        }
        Control::Continue
    }
}

/// The table dies with its manager, as an ETS table with its owner: handles
/// that still hold it find nothing (and a dead manager answers no lookup).
impl Drop for Server {
    fn drop(&mut self) {
        self.table.clear();
    }
}
