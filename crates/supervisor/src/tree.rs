//! A snapshot of a supervision tree, as text or JSON.

use std::fmt;
use std::time::Duration;

use arbor_process::Pid;

use crate::server::Status;
use crate::{ChildId, ChildInfo, ChildState, ChildType, Restart, Strategy};

/// One node of a [`tree`](crate::SupervisorRef::tree) snapshot.
///
/// `Display` renders the subtree as indented text; with the `serde`
/// feature, `serde::Serialize` (and `TreeNode::to_json`) gives
/// JSON for tools.
///
/// ```text
/// todo_sup <0.12> one_for_one (0 restarts in window)
/// ├─ event_manager <0.13> worker permanent running
/// └─ inner <0.14> one_for_all permanent (1 restart in window)
///    ├─ todo_manager <0.18> worker permanent running
///    └─ list_sup <0.17> simple_one_for_one permanent (0 restarts in window)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TreeNode {
    /// The child id (`None` for the root and simple_one_for_one children).
    pub id: Option<ChildId>,
    /// The root's registered name, if any.
    pub name: Option<String>,
    /// Running (with pid), undefined or restarting.
    pub state: ChildState,
    /// Worker or supervisor.
    pub child_type: ChildType,
    /// The restart type (`None` for the root).
    pub restart: Option<Restart>,
    /// For supervisors: their strategy.
    pub strategy: Option<Strategy>,
    /// For supervisors: restarts counted in the current intensity window.
    pub restarts_in_window: Option<usize>,
    /// For supervisors: the most restarts allowed within `period`; one
    /// more and the supervisor gives up (its `SupFlags::intensity`).
    pub intensity: Option<u32>,
    /// For supervisors: the length of the intensity window (its
    /// `SupFlags::period`); in JSON, `period_ms`, whole milliseconds.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "period_ms", serialize_with = "serialize_millis")
    )]
    pub period: Option<Duration>,
    /// For supervisors: children, newest first.
    pub children: Vec<TreeNode>,
}

impl TreeNode {
    pub(crate) fn supervisor_root(pid: Pid, status: &Status, children: Vec<TreeNode>) -> TreeNode {
        TreeNode {
            id: None,
            name: status.name.clone(),
            state: ChildState::Running(pid),
            child_type: ChildType::Supervisor,
            restart: None,
            strategy: Some(status.flags.strategy),
            restarts_in_window: Some(status.restarts_in_window),
            intensity: Some(status.flags.intensity),
            period: Some(status.flags.period),
            children,
        }
    }

    pub(crate) fn child_supervisor(
        info: ChildInfo,
        restart: Restart,
        status: &Status,
        children: Vec<TreeNode>,
    ) -> TreeNode {
        TreeNode {
            id: info.id,
            name: status.name.clone(),
            state: info.state,
            child_type: info.child_type,
            restart: Some(restart),
            strategy: Some(status.flags.strategy),
            restarts_in_window: Some(status.restarts_in_window),
            intensity: Some(status.flags.intensity),
            period: Some(status.flags.period),
            children,
        }
    }

    pub(crate) fn leaf(info: ChildInfo, restart: Restart) -> TreeNode {
        TreeNode {
            id: info.id,
            name: None,
            state: info.state,
            child_type: info.child_type,
            restart: Some(restart),
            strategy: None,
            restarts_in_window: None,
            intensity: None,
            period: None,
            children: Vec::new(),
        }
    }

    /// The pid, if running.
    pub fn pid(&self) -> Option<Pid> {
        self.state.pid()
    }

    /// The first node (depth first) with this id.
    pub fn find(&self, id: &str) -> Option<&TreeNode> {
        if self.id.as_ref().is_some_and(|i| i == id) {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(id))
    }

    /// The tree as JSON (with the `serde` feature).
    #[cfg(feature = "serde")]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    fn write_line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match (&self.id, &self.name) {
            (Some(id), _) => id.to_string(),
            (None, Some(name)) => name.clone(),
            (None, None) => "-".to_string(),
        };
        write!(f, "{label} {}", self.state)?;
        match self.strategy {
            Some(s) => write!(f, " {s}")?,
            None => write!(f, " {}", self.child_type)?,
        }
        if let Some(r) = self.restart {
            write!(f, " {r}")?;
        }
        if let Some(n) = self.restarts_in_window {
            let s = if n == 1 { "" } else { "s" };
            write!(f, " ({n} restart{s} in window)")?;
        }
        writeln!(f)
    }

    fn write_children(&self, f: &mut fmt::Formatter<'_>, prefix: &str) -> fmt::Result {
        let n = self.children.len();
        for (i, child) in self.children.iter().enumerate() {
            let last = i + 1 == n;
            write!(f, "{prefix}{}", if last { "└─ " } else { "├─ " })?;
            child.write_line(f)?;
            let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
            child.write_children(f, &deeper)?;
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
fn serialize_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        None => s.serialize_none(),
    }
}

impl fmt::Display for TreeNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_line(f)?;
        self.write_children(f, "")
    }
}
