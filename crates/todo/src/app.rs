//! [`TodoApp`]: the todo tree of the guide's chapter 5, built, and a client
//! that finds its processes by name on every call.
//!
//! ```text
//! todo_sup                    one_for_one
//! ├─ event_manager            worker, registered as the todo event manager
//! └─ inner                    one_for_all
//!    ├─ list_sup              simple_one_for_one over temporary lists
//!    └─ todo_manager          worker
//! ```

use std::sync::Arc;
use std::time::Duration;

use arbor_genevent::{EventManager, EventManagerRef, EventStream, StreamOpts};
use arbor_process::{ExitReason, StartOpts, StopError};
use arbor_supervisor::{
    ChildSpec, Strategy, SupFlags, SupStartError, Supervisor, SupervisorRef, TreeNode,
};
use parking_lot::Mutex;

use crate::resolved::live_or_whereis;
use crate::{AppError, EventTarget, ListSupervisor, TodoEvent, TodoList, TodoManager};
use arbor_process::Process;

/// The registered names of the tree's processes. Clients resolve them on
/// every call, so they reach the current process after a restart.
///
/// [`TreeNames::default`] uses the names below; [`TreeNames::prefixed`]
/// lets several trees run in one program (tests do this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNames {
    /// The root supervisor (`todo_sup`).
    pub root: String,
    /// The event manager (`todo_event_manager`).
    pub event_manager: String,
    /// The inner one_for_all supervisor (`todo_inner_sup`).
    pub inner: String,
    /// The list supervisor (`todo_list_sup`).
    pub list_sup: String,
    /// The todo manager (`todo_manager`).
    pub manager: String,
}

impl Default for TreeNames {
    fn default() -> TreeNames {
        TreeNames::prefixed("")
    }
}

impl TreeNames {
    /// The default names, each preceded by `prefix`.
    pub fn prefixed(prefix: &str) -> TreeNames {
        TreeNames {
            root: format!("{prefix}todo_sup"),
            event_manager: format!("{prefix}todo_event_manager"),
            inner: format!("{prefix}todo_inner_sup"),
            list_sup: format!("{prefix}todo_list_sup"),
            manager: format!("{prefix}todo_manager"),
        }
    }
}

/// The restart intensity of both the root and the inner supervisor: more
/// than this many restarts within [`RESTART_PERIOD`] and the supervisor
/// gives up.
pub const RESTART_INTENSITY: u32 = 3;

/// The restart window of both supervisors.
pub const RESTART_PERIOD: Duration = Duration::from_secs(5);

/// The todo application: the nested tree and a client for it.
///
/// Cheap to clone. Every client method looks its process up by name first,
/// so a `TodoApp` stays valid across restarts of any part of the tree. The
/// todo manager, which `create` and `lookup` reach on every call, is
/// remembered once found and looked up again after it has exited (clones
/// share what they remembered).
///
/// # Examples
///
/// ```
/// use arbor_todo::{TodoApp, TreeNames};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = TodoApp::start(TreeNames::prefixed("doc_")).await.unwrap();
/// app.create("shopping").unwrap();
/// let list = app.lookup("shopping").await.unwrap().unwrap();
/// list.put("milk").await.unwrap();
/// println!("{}", app.tree().await.unwrap());
/// app.stop().await.unwrap();
/// # }
/// ```
///
/// # OTP
///
/// The guide's `Todo.Supervisor` with the nested tree chapter 5 proposes.
#[derive(Debug, Clone)]
#[must_use = "the handle is how clients reach the todo tree and stop it"]
pub struct TodoApp {
    names: TreeNames,
    /// The todo manager found last (see [`TodoApp::manager`]).
    manager: Arc<Mutex<Option<TodoManager>>>,
}

impl TodoApp {
    /// The tree's definition: the root supervisor with its children, ready
    /// to start or embed (with [`Supervisor::into_child_spec`]).
    pub fn definition(names: &TreeNames) -> Supervisor {
        let flags = |s| {
            SupFlags::new(s)
                .intensity(RESTART_INTENSITY)
                .period(RESTART_PERIOD)
        };
        let inner = Supervisor::new(flags(Strategy::OneForAll))
            .child(Self::list_supervisor_spec(names))
            .child(Self::manager_spec(names))
            .into_child_spec_opts("inner", StartOpts::default().name(names.inner.as_str()));
        Supervisor::new(flags(Strategy::OneForOne))
            .child(Self::event_manager_spec(names))
            .child(inner)
    }

    /// The child spec of the tree's event manager (id `event_manager`,
    /// registered as `names.event_manager`): a building block for trees of
    /// another shape (`examples/strategies.rs` builds the flat ones).
    pub fn event_manager_spec(names: &TreeNames) -> ChildSpec {
        let em_name = names.event_manager.clone();
        ChildSpec::worker("event_manager", move || {
            EventManager::<TodoEvent>::start_opts(StartOpts::new().name(em_name.as_str()).link())
        })
    }

    /// The child spec of the list supervisor (id `list_sup`, registered as
    /// `names.list_sup`).
    pub fn list_supervisor_spec(names: &TreeNames) -> ChildSpec {
        ListSupervisor::definition().into_child_spec_opts(
            "list_sup",
            StartOpts::default().name(names.list_sup.as_str()),
        )
    }

    /// The child spec of the todo manager (id `todo_manager`, registered as
    /// `names.manager`). It finds the list supervisor by name when it
    /// starts, so it must start after [`TodoApp::list_supervisor_spec`]'s
    /// child (a start without one fails with `noproc`), and it publishes
    /// to the event manager registered as `names.event_manager`.
    pub fn manager_spec(names: &TreeNames) -> ChildSpec {
        ChildSpec::worker_with("todo_manager", names.clone(), |names| async move {
            let list_sup = ListSupervisor::whereis(&names.list_sup).ok_or(ExitReason::NoProc)?;
            let events = EventTarget::named(names.event_manager);
            TodoManager::start_link(list_sup, events, Some(&names.manager))
                .await
                .map_err(ExitReason::from)
        })
    }

    /// Starts the tree linked to the caller.
    ///
    /// # Errors
    ///
    /// As [`Supervisor::start_link`]; [`SupStartError::AlreadyStarted`] if
    /// a tree with these names runs.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe (as [`Supervisor::start_link`]).
    ///
    /// # OTP
    ///
    /// `Todo.Supervisor.start_link/0`.
    pub async fn start_link(names: TreeNames) -> Result<TodoApp, SupStartError> {
        Self::definition(&names)
            .start_opts(Self::root_opts(&names).link())
            .await?;
        Ok(TodoApp::client(names))
    }

    /// Starts the tree with no parent; stop it with [`TodoApp::stop`].
    ///
    /// # Errors
    ///
    /// As [`TodoApp::start_link`].
    ///
    /// # Cancel safety
    ///
    /// As [`TodoApp::start_link`].
    pub async fn start(names: TreeNames) -> Result<TodoApp, SupStartError> {
        Self::definition(&names)
            .start_opts(Self::root_opts(&names))
            .await?;
        Ok(TodoApp::client(names))
    }

    /// The start options of the root supervisor: registered as
    /// `names.root`, which is how clients find the tree. Use them (or
    /// [`Supervisor::into_child_spec_opts`] with them) to start
    /// [`TodoApp::definition`] yourself.
    pub fn root_opts(names: &TreeNames) -> StartOpts {
        StartOpts::default().name(names.root.as_str())
    }

    /// A client for a tree started elsewhere under `names`.
    pub fn client(names: TreeNames) -> TodoApp {
        TodoApp {
            names,
            manager: Arc::default(),
        }
    }

    /// The names this client resolves.
    pub fn names(&self) -> &TreeNames {
        &self.names
    }

    /// The root supervisor.
    ///
    /// # Errors
    ///
    /// [`AppError::NotRunning`] if the tree is not running.
    pub fn root(&self) -> Result<SupervisorRef, AppError> {
        SupervisorRef::whereis(&self.names.root).ok_or_else(|| self.not_running(&self.names.root))
    }

    /// The inner one_for_all supervisor.
    ///
    /// # Errors
    ///
    /// [`AppError::NotRunning`] if it is not running (stopped, or between
    /// two incarnations).
    pub fn inner(&self) -> Result<SupervisorRef, AppError> {
        SupervisorRef::whereis(&self.names.inner).ok_or_else(|| self.not_running(&self.names.inner))
    }

    /// The event manager.
    ///
    /// # Errors
    ///
    /// As [`TodoApp::inner`].
    pub fn event_manager(&self) -> Result<EventManagerRef<TodoEvent>, AppError> {
        EventManagerRef::whereis(&self.names.event_manager)
            .ok_or_else(|| self.not_running(&self.names.event_manager))
    }

    /// The list supervisor.
    ///
    /// # Errors
    ///
    /// As [`TodoApp::inner`].
    pub fn list_supervisor(&self) -> Result<ListSupervisor, AppError> {
        ListSupervisor::whereis(&self.names.list_sup)
            .ok_or_else(|| self.not_running(&self.names.list_sup))
    }

    /// The todo manager.
    ///
    /// # Errors
    ///
    /// As [`TodoApp::inner`].
    pub fn manager(&self) -> Result<TodoManager, AppError> {
        self.with_manager(TodoManager::clone)
    }

    /// `f` on the todo manager, found as [`TodoApp::manager`] finds it,
    /// without cloning the handle.
    fn with_manager<R>(&self, f: impl FnOnce(&TodoManager) -> R) -> Result<R, AppError> {
        let mut cached = self.manager.lock();
        live_or_whereis(&mut cached, TodoManager::is_alive, || {
            TodoManager::whereis(&self.names.manager)
        })
        .map(f)
        .ok_or_else(|| self.not_running(&self.names.manager))
    }

    /// Creates the list `name` unless it exists (asynchronous; a later
    /// [`lookup`](TodoApp::lookup) sees it if the manager did not restart
    /// in between).
    ///
    /// # Errors
    ///
    /// [`AppError::NotRunning`] if no manager is registered.
    ///
    /// # OTP
    ///
    /// `Todo.Manager.create(Todo.Manager, name)`.
    pub fn create(&self, name: impl Into<String>) -> Result<(), AppError> {
        self.manager()?.create(name);
        Ok(())
    }

    /// The list named `name`, if there is one.
    ///
    /// # Errors
    ///
    /// [`AppError::NotRunning`]; [`AppError::Call`] if the manager died or
    /// timed out.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn lookup(&self, name: &str) -> Result<Option<TodoList>, AppError> {
        // The table read of `TodoManager::lookup` on the cached handle,
        // under one lock of the cache; the handle is cloned only to ask the
        // manager (the table is not read a second time then).
        let found = self.with_manager(|m| m.find_in_table(name).ok_or_else(|| m.clone()))?;
        match found {
            Ok(list) => Ok(Some(list)),
            Err(manager) => Ok(manager.ask_lookup(name).await?),
        }
    }

    /// The names of all lists, sorted.
    ///
    /// # Errors
    ///
    /// As [`TodoApp::lookup`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn list_names(&self) -> Result<Vec<String>, AppError> {
        Ok(self.manager()?.names().await?)
    }

    /// A stream of the current event manager's events. It ends when that
    /// event manager exits; subscribe again to follow its successor.
    ///
    /// # Errors
    ///
    /// As [`TodoApp::lookup`] (for the event manager).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave a subscription that is removed at the
    /// next event.
    pub async fn subscribe(&self) -> Result<EventStream<TodoEvent>, AppError> {
        Ok(self.event_manager()?.stream(StreamOpts::default()).await?)
    }

    /// A snapshot of the whole tree (print it with `{}`).
    ///
    /// # Errors
    ///
    /// [`AppError::NotRunning`]; [`AppError::Call`] if the root died
    /// meanwhile.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn tree(&self) -> Result<TreeNode, AppError> {
        Ok(self.root()?.tree().await?)
    }

    /// Stops the whole tree in order (inner pair, then the event manager)
    /// with reason `shutdown`, waiting as long as that takes.
    ///
    /// # Errors
    ///
    /// [`StopError::NoProcess`] if the tree is not running; as
    /// [`SupervisorRef::stop_with`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was sent still stops the tree.
    pub async fn stop(&self) -> Result<(), StopError> {
        let root = SupervisorRef::whereis(&self.names.root).ok_or(StopError::NoProcess)?;
        root.stop_with(ExitReason::Shutdown, Duration::MAX).await
    }

    fn not_running(&self, name: &str) -> AppError {
        AppError::NotRunning(name.to_owned())
    }
}
