//! The tree as the checker sees it: its shape, a dead process in it, the
//! pids of its fixed processes.

use arbor::process::{Pid, is_alive, whereis};
use arbor::supervisor::{ChildState, Strategy, TreeNode};
use arbor_todo::TreeNames;

/// The shape of a tree: everything but pids, restart counts and the
/// lists under simple_one_for_one supervisors.
pub(crate) fn shape(node: &TreeNode) -> String {
    let label = match (&node.id, &node.name) {
        (Some(id), _) => id.to_string(),
        (None, Some(n)) => n.clone(),
        (None, None) => "-".into(),
    };
    let state = match node.state {
        ChildState::Running(_) => "running",
        ChildState::Undefined => "undefined",
        ChildState::Restarting => "restarting",
    };
    let kind = match node.strategy {
        Some(s) => s.to_string(),
        None => node.child_type.to_string(),
    };
    let restart = node.restart.map(|r| r.to_string()).unwrap_or_default();
    let children = if node.strategy == Some(Strategy::SimpleOneForOne) {
        String::new()
    } else {
        node.children
            .iter()
            .map(shape)
            .collect::<Vec<_>>()
            .join(",")
    };
    format!("{label}:{kind}:{restart}:{state}[{children}]")
}

/// A process the tree lists as running that is dead: the supervisor above
/// it has its exit queued.
pub(crate) fn dead_pid(node: &TreeNode) -> Option<Pid> {
    if let Some(pid) = node.pid()
        && !is_alive(pid)
    {
        return Some(pid);
    }
    if node.strategy == Some(Strategy::SimpleOneForOne) {
        return None;
    }
    node.children.iter().find_map(dead_pid)
}

/// The pids of the tree's fixed processes (`None`: not running).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TreePids {
    root: Option<Pid>,
    event_manager: Option<Pid>,
    inner: Option<Pid>,
    list_sup: Option<Pid>,
    manager: Option<Pid>,
}

impl TreePids {
    pub(crate) fn of(tree: &TreeNode) -> TreePids {
        let pid = |id| tree.find(id).and_then(TreeNode::pid);
        TreePids {
            root: pid("todo"),
            event_manager: pid("event_manager"),
            inner: pid("inner"),
            list_sup: pid("list_sup"),
            manager: pid("todo_manager"),
        }
    }

    pub(crate) fn named(names: &TreeNames) -> TreePids {
        TreePids {
            root: whereis(&names.root),
            event_manager: whereis(&names.event_manager),
            inner: whereis(&names.inner),
            list_sup: whereis(&names.list_sup),
            manager: whereis(&names.manager),
        }
    }

    pub(crate) fn changes(self, later: TreePids) -> [(&'static str, bool); 5] {
        [
            ("todo_sup (root)", self.root != later.root),
            ("event_manager", self.event_manager != later.event_manager),
            ("inner", self.inner != later.inner),
            ("list_sup", self.list_sup != later.list_sup),
            ("todo_manager", self.manager != later.manager),
        ]
    }
}
