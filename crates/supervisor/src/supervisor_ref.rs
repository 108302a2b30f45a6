//! The handle to a running supervisor: the API of docs/otp/supervisor.md#sup-api and docs/otp/supervisor.md#sup-simple.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use arbor_process::{
    CallError, ExitReason, Pid, Process, ProcessHandle, ProcessRef, ReplyTo, StopError,
};

use crate::server::{self, Request, Status, SupMsg};
use crate::{
    ChildCounts, ChildId, ChildInfo, ChildSelector, ChildSpec, ChildState, DeleteChildError,
    GetChildSpecError, RestartChildError, StartChildError, StartedChild, TerminateChildError,
    TreeNode, WhichChildError,
};

/// A handle to a supervisor. Cheap to clone; every method is one request
/// through the supervisor's ordered mailbox, so a request sent after a
/// child's death was observed sees that death handled.
///
/// Calls wait without limit by default, like OTP's `infinity`; use
/// [`SupervisorRef::with_timeout`] for a bounded wait.
///
/// # OTP
///
/// The `SupRef` argument of the `supervisor` API functions.
#[derive(Debug, Clone)]
pub struct SupervisorRef {
    process: ProcessRef<SupMsg>,
    timeout: Duration,
}

impl SupervisorRef {
    pub(crate) fn new(process: ProcessRef<SupMsg>) -> SupervisorRef {
        SupervisorRef {
            process,
            timeout: Duration::MAX,
        }
    }

    /// The supervisor registered under `name`, if any.
    #[must_use]
    pub fn whereis(name: &str) -> Option<SupervisorRef> {
        ProcessRef::whereis(name).map(SupervisorRef::new)
    }

    /// The supervisor running as `pid`; `None` if it is dead or not a
    /// supervisor.
    #[must_use]
    pub fn from_pid(pid: Pid) -> Option<SupervisorRef> {
        ProcessRef::from_pid(pid).map(SupervisorRef::new)
    }

    /// A copy whose calls fail with
    /// [`CallError::Timeout`](arbor_process::CallError::Timeout) after
    /// `timeout`.
    #[must_use = "with_timeout returns a new handle; the original keeps its timeout"]
    pub fn with_timeout(&self, timeout: Duration) -> SupervisorRef {
        SupervisorRef {
            process: self.process.clone(),
            timeout,
        }
    }

    pub(crate) async fn call<R: 'static>(
        &self,
        make: impl FnOnce(ReplyTo<R>) -> Request,
    ) -> Result<R, CallError> {
        self.process
            .call_timeout(|r| SupMsg::Req(make(r)), self.timeout)
            .await
    }

    /// Adds a child at the end of the start order and starts it.
    ///
    /// # Errors
    ///
    /// [`StartChildError::InvalidSpec`];
    /// [`StartChildError::AlreadyStarted`] if a child with this id runs,
    /// [`StartChildError::AlreadyPresent`] if it exists otherwise;
    /// [`StartChildError::StartFailed`] (the spec is not kept);
    /// [`StartChildError::SimpleOneForOne`] (use
    /// [`SimpleSupervisorRef::start_child`](crate::SimpleSupervisorRef::start_child));
    /// [`StartChildError::Call`].
    ///
    /// # Cancel safety
    ///
    /// The request is sent at once; dropping the future drops the reply,
    /// not the start.
    ///
    /// # OTP
    ///
    /// `supervisor:start_child/2` with a child spec. `ignore` gives
    /// [`StartedChild::Ignored`] and keeps the spec unless temporary.
    pub async fn start_child(&self, spec: ChildSpec) -> Result<StartedChild, StartChildError> {
        self.call(|r| Request::StartChild(Box::new(spec), r))
            .await?
    }

    /// Stops a child with its shutdown protocol. A static child keeps its
    /// spec (temporary: deleted); a simple_one_for_one child is removed.
    /// Idempotent for a static child that is not running.
    ///
    /// # Errors
    ///
    /// [`TerminateChildError::NotFound`] (unknown id; a pid given to a
    /// static supervisor; a live pid that is not a child);
    /// [`TerminateChildError::SimpleOneForOne`] for an id given to a
    /// simple_one_for_one supervisor; [`TerminateChildError::Call`].
    ///
    /// # Cancel safety
    ///
    /// As [`start_child`](SupervisorRef::start_child).
    ///
    /// # OTP
    ///
    /// `supervisor:terminate_child/2`. A restarting child becomes undefined
    /// and its pending retry is cancelled.
    pub async fn terminate_child(
        &self,
        child: impl Into<ChildSelector>,
    ) -> Result<(), TerminateChildError> {
        let child = child.into();
        self.call(|r| Request::TerminateChild(child, r)).await?
    }

    /// Starts a static child that is not running.
    ///
    /// # Errors
    ///
    /// [`RestartChildError::NotFound`], [`RestartChildError::Running`],
    /// [`RestartChildError::Restarting`], [`RestartChildError::StartFailed`]
    /// (not wrapped), [`RestartChildError::SimpleOneForOne`],
    /// [`RestartChildError::Call`].
    ///
    /// # Cancel safety
    ///
    /// As [`start_child`](SupervisorRef::start_child).
    ///
    /// # OTP
    ///
    /// `supervisor:restart_child/2`.
    pub async fn restart_child(
        &self,
        id: impl Into<ChildId>,
    ) -> Result<StartedChild, RestartChildError> {
        let id = id.into();
        self.call(|r| Request::RestartChild(id, r)).await?
    }

    /// Removes the spec of a static child that is not running.
    ///
    /// # Errors
    ///
    /// [`DeleteChildError::NotFound`], [`DeleteChildError::Running`],
    /// [`DeleteChildError::Restarting`], [`DeleteChildError::SimpleOneForOne`],
    /// [`DeleteChildError::Call`].
    ///
    /// # Cancel safety
    ///
    /// As [`start_child`](SupervisorRef::start_child).
    ///
    /// # OTP
    ///
    /// `supervisor:delete_child/2`.
    pub async fn delete_child(&self, id: impl Into<ChildId>) -> Result<(), DeleteChildError> {
        let id = id.into();
        self.call(|r| Request::DeleteChild(id, r)).await?
    }

    /// Every child, newest first (simple_one_for_one: newest first too).
    ///
    /// # Errors
    ///
    /// The [`CallError`] of the request.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// `supervisor:which_children/1`.
    pub async fn which_children(&self) -> Result<Vec<ChildInfo>, CallError> {
        self.call(Request::WhichChildren).await
    }

    /// One child.
    ///
    /// # Errors
    ///
    /// [`WhichChildError::NotFound`]; [`WhichChildError::SimpleOneForOne`]
    /// for an id given to a simple_one_for_one supervisor;
    /// [`WhichChildError::Call`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// `supervisor:which_child/2` (newest OTP).
    pub async fn which_child(
        &self,
        child: impl Into<ChildSelector>,
    ) -> Result<ChildInfo, WhichChildError> {
        let child = child.into();
        self.call(|r| Request::WhichChild(child, r)).await?
    }

    /// Counts specs, live children, supervisors and workers.
    ///
    /// # Errors
    ///
    /// The [`CallError`] of the request.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// `supervisor:count_children/1`.
    pub async fn count_children(&self) -> Result<ChildCounts, CallError> {
        self.call(Request::CountChildren).await
    }

    /// The spec of a child (simple_one_for_one: the template, by pid).
    ///
    /// # Errors
    ///
    /// [`GetChildSpecError::NotFound`] (for simple_one_for_one: a live
    /// process that is not a child, or an id other than the template's);
    /// [`GetChildSpecError::Call`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// `supervisor:get_childspec/2`.
    pub async fn get_childspec(
        &self,
        child: impl Into<ChildSelector>,
    ) -> Result<ChildSpec, GetChildSpecError> {
        let child = child.into();
        self.call(|r| Request::GetChildspec(child, r)).await?
    }

    pub(crate) async fn status(&self) -> Result<Status, CallError> {
        self.call(Request::Status).await
    }

    /// A snapshot of the whole tree below this supervisor: for every node
    /// its id, pid, strategy or worker, restart type, restarts in the
    /// current window and run state. Child supervisors are asked one after
    /// another, so the snapshot is not atomic across supervisors.
    ///
    /// # Errors
    ///
    /// The [`CallError`] if this supervisor cannot be asked; a child
    /// supervisor that dies meanwhile appears without children.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # OTP
    ///
    /// None (observer's application tree comes closest).
    pub async fn tree(&self) -> Result<TreeNode, CallError> {
        let status = self.status().await?;
        let children = expand(status.children.clone()).await;
        Ok(TreeNode::supervisor_root(self.pid(), &status, children))
    }
}

type Expand = Pin<Box<dyn Future<Output = Vec<TreeNode>> + Send>>;

fn expand(children: Vec<(ChildInfo, crate::Restart)>) -> Expand {
    Box::pin(async move {
        let mut nodes = Vec::with_capacity(children.len());
        for (info, restart) in children {
            let sup = match (info.child_type, info.state) {
                (crate::ChildType::Supervisor, ChildState::Running(pid)) => {
                    SupervisorRef::from_pid(pid)
                }
                _ => None,
            };
            let status = match &sup {
                Some(s) => s.status().await.ok(),
                None => None,
            };
            let node = match status {
                Some(status) => {
                    let grandchildren = expand(status.children.clone()).await;
                    TreeNode::child_supervisor(info, restart, &status, grandchildren)
                }
                None => TreeNode::leaf(info, restart),
            };
            nodes.push(node);
        }
        nodes
    })
}

impl Process for SupervisorRef {
    #[inline]
    fn handle(&self) -> &ProcessHandle {
        self.process.handle()
    }

    /// Stops the supervisor: its children are terminated (docs/otp/supervisor.md#sup-shutdown), then it
    /// exits with `reason`. Waits up to `timeout` (`Duration::MAX`: no
    /// limit).
    ///
    /// # Errors
    ///
    /// [`StopError::NoProcess`], [`StopError::Timeout`] (it keeps
    /// stopping), [`StopError::Exited`] if it ended with another reason,
    /// [`StopError::CallingSelf`].
    ///
    /// # Cancel safety
    ///
    /// The stop request is sent at once; dropping the future only stops
    /// the waiting.
    ///
    /// # OTP
    ///
    /// `gen_server:stop/3`.
    async fn stop_with(&self, reason: ExitReason, timeout: Duration) -> Result<(), StopError> {
        server::stop(&self.process, reason, timeout).await
    }
}
