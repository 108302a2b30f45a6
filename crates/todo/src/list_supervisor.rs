//! [`ListSupervisor`]: the simple_one_for_one supervisor of todo lists.

use arbor_process::{CallError, StartOpts};
use arbor_supervisor::{
    ChildSpec, SimpleSupervisor, SimpleSupervisorRef, StartInfo, StartOutcome, StartedChild,
    SupFlags, SupStartError, Supervisor, SupervisorRef,
};

use crate::{StartListError, TodoList};
use arbor_process::{Process, ProcessWrapper};

/// The supervisor of all todo lists: simple_one_for_one over temporary
/// [`TodoList`] children. A list that dies is not restarted (its items are
/// gone anyway); the [`TodoManager`](crate::TodoManager) forgets it.
///
/// # Examples
///
/// ```
/// use arbor_todo::ListSupervisor;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let sup = ListSupervisor::start_link(None).await.unwrap();
/// let list = sup.start_todo_list().await.unwrap();
/// list.put("milk").await.unwrap();
/// assert_eq!(list.get().await.unwrap(), ["milk"]);
/// # }
/// ```
///
/// # OTP
///
/// The guide's `Todo.List.Supervisor`.
#[derive(Debug, Clone)]
pub struct ListSupervisor {
    sup: SimpleSupervisorRef<()>,
}

impl ListSupervisor {
    /// The supervisor's definition (flags and the list template), to start
    /// it yourself or embed it in a tree with
    /// [`SimpleSupervisor::into_child_spec`].
    pub fn definition() -> SimpleSupervisor<()> {
        let template = ChildSpec::temporary_template("todo_list", |()| async {
            match TodoList::start_link().await {
                // The list handle travels back to `start_todo_list` as the
                // child's start info.
                Ok(list) => {
                    StartOutcome::Started(list.handle().clone(), Some(StartInfo::new(list)))
                }
                Err(e) => StartOutcome::from(e),
            }
        });
        Supervisor::simple(SupFlags::default(), template)
    }

    /// Starts the list supervisor linked to the caller, registered under
    /// `name` if given.
    ///
    /// # Errors
    ///
    /// [`SupStartError::AlreadyStarted`] if the name is taken.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe (as [`Supervisor::start_link`]).
    ///
    /// # OTP
    ///
    /// `Todo.List.Supervisor.start_link/1`.
    pub async fn start_link(name: Option<&str>) -> Result<ListSupervisor, SupStartError> {
        let mut opts = StartOpts::default().link();
        if let Some(name) = name {
            opts = opts.name(name);
        }
        let sup = Self::definition().start_opts(opts).await?;
        Ok(ListSupervisor { sup })
    }

    /// The list supervisor registered under `name`, if one runs there
    /// (not checked: a supervisor of another kind fails
    /// [`start_todo_list`](ListSupervisor::start_todo_list)).
    pub fn whereis(name: &str) -> Option<ListSupervisor> {
        SimpleSupervisorRef::whereis(name).map(|sup| ListSupervisor { sup })
    }

    /// Wraps a running supervisor started from [`ListSupervisor::definition`].
    pub fn from_ref(sup: SimpleSupervisorRef<()>) -> ListSupervisor {
        ListSupervisor { sup }
    }

    /// Starts a new, empty todo list under this supervisor.
    ///
    /// # Errors
    ///
    /// [`StartListError::Supervisor`] if the supervisor is gone or the
    /// start failed; [`StartListError::NotAList`] if this supervisor was
    /// not built from [`ListSupervisor::definition`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was sent may still start a
    /// list (it stays under the supervisor).
    ///
    /// # OTP
    ///
    /// `Todo.List.Supervisor.start_todo_list/1`
    /// (`Supervisor.start_child(sup, [])`).
    pub async fn start_todo_list(&self) -> Result<TodoList, StartListError> {
        match self.sup.start_child(()).await? {
            StartedChild::Started(_, Some(info)) => info
                .get::<TodoList>()
                .cloned()
                .ok_or(StartListError::NotAList),
            StartedChild::Started(_, None) | StartedChild::Ignored => Err(StartListError::NotAList),
        }
    }

    /// How many lists run under this supervisor.
    ///
    /// # Errors
    ///
    /// As [`SupervisorRef::count_children`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn count(&self) -> Result<usize, CallError> {
        Ok(self.sup.count_children().await?.active)
    }

    /// The underlying supervisor.
    pub fn supervisor(&self) -> &SupervisorRef {
        self.sup.supervisor()
    }
}

impl ProcessWrapper for ListSupervisor {
    type Inner = SimpleSupervisorRef<()>;

    #[inline]
    fn inner(&self) -> &SimpleSupervisorRef<()> {
        &self.sup
    }
}
