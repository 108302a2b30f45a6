//! What the page and the JSON endpoints show of one supervision tree: a
//! [`TreeNode`] snapshot flattened into display values, each node with a
//! stable key that survives restarts.

use arbor_process::Pid;
use arbor_supervisor::{ChildState, TreeNode};
use serde::Serialize;

/// A node's run state as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Running as its pid.
    Running,
    /// Its restart failed or is delayed; a retry is queued.
    Restarting,
    /// Not running and not being restarted (terminated, a transient child
    /// that ended normally, an ignored start).
    Exited,
}

/// One process of an observed tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeView {
    /// Stable across restarts: the tree's label, then the child ids from
    /// the root (`todo/inner/todo_manager`); a simple_one_for_one child,
    /// which has no id, is named by its pid (`todo/inner/list_sup/<0.31>`).
    pub key: String,
    /// The child id (`None` for the root and simple_one_for_one children).
    pub id: Option<String>,
    /// The pid, while running.
    #[serde(serialize_with = "crate::json::opt_pid")]
    pub pid: Option<Pid>,
    /// The registered name, if any.
    pub name: Option<String>,
    /// Running, restarting or exited.
    pub state: NodeState,
    /// `worker` or `supervisor`.
    pub kind: String,
    /// For supervisors: the strategy (`one_for_one`, ...).
    pub strategy: Option<String>,
    /// The restart type (`permanent`, `transient`, `temporary`; `None`
    /// for the root).
    pub restart: Option<String>,
    /// For supervisors: restarts in the current intensity window.
    pub restarts_in_window: Option<usize>,
    /// For supervisors: the most restarts allowed in the window.
    pub intensity: Option<u32>,
    /// For supervisors: the window's length in milliseconds.
    pub period_ms: Option<u64>,
    /// Children, in the supervisor's order (newest first).
    pub children: Vec<NodeView>,
}

/// One tree the application registered, as last sampled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeView {
    /// The label it was registered under.
    pub label: String,
    /// Its root supervisor and everything below; `None` once the root is
    /// gone (stopped, or crashed past its intensity).
    pub root: Option<NodeView>,
}

impl NodeView {
    /// Builds the view of `node` and its subtree; `name_of` gives a
    /// worker's registered name (a supervisor's comes with the snapshot).
    pub(crate) fn of(
        node: &TreeNode,
        parent_key: Option<&str>,
        label: &str,
        name_of: &dyn Fn(Pid) -> Option<String>,
    ) -> NodeView {
        let id = node.id.as_ref().map(ToString::to_string);
        let pid = node.pid();
        let key = match (parent_key, &id, pid) {
            (None, _, _) => label.to_string(),
            (Some(p), Some(id), _) => format!("{p}/{id}"),
            (Some(p), None, Some(pid)) => format!("{p}/{pid}"),
            (Some(p), None, None) => format!("{p}/-"),
        };
        let state = match node.state {
            ChildState::Running(_) => NodeState::Running,
            ChildState::Restarting => NodeState::Restarting,
            ChildState::Undefined => NodeState::Exited,
        };
        let children = node
            .children
            .iter()
            .map(|c| NodeView::of(c, Some(&key), label, name_of))
            .collect();
        NodeView {
            name: node.name.clone().or_else(|| pid.and_then(name_of)),
            key,
            id,
            pid,
            state,
            kind: node.child_type.to_string(),
            strategy: node.strategy.map(|s| s.to_string()),
            restart: node.restart.map(|r| r.to_string()),
            restarts_in_window: node.restarts_in_window,
            intensity: node.intensity,
            period_ms: node
                .period
                .map(|p| u64::try_from(p.as_millis()).unwrap_or(u64::MAX)),
            children,
        }
    }

    /// This node and every node below it, depth first.
    pub fn walk(&self) -> Vec<&NodeView> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }
}
