//! Pid-free descriptions of a tree, for equality assertions.

use arbor_process::CallError;
use arbor_supervisor::{ChildInfo, ChildState, SupervisorRef, TreeNode};

/// One child as `id=running`, `id=undefined` or `id=restarting` (`-` for
/// a simple_one_for_one child's missing id): [`which_children`]'s answer
/// without pids.
///
/// [`which_children`]: SupervisorRef::which_children
pub fn child_line(info: &ChildInfo) -> String {
    let id = info
        .id
        .as_ref()
        .map(|i| i.to_string())
        .unwrap_or_else(|| "-".to_string());
    let state = match info.state {
        ChildState::Running(_) => "running",
        ChildState::Undefined => "undefined",
        ChildState::Restarting => "restarting",
    };
    format!("{id}={state}")
}

/// `which_children` of `sup` as [`child_line`]s, newest first.
///
/// # Errors
///
/// The supervisor's [`CallError`] (e.g. it is dead).
///
/// # Cancel safety
///
/// As [`SupervisorRef::which_children`].
///
/// # Examples
///
/// ```
/// use arbor_supervisor::{Strategy, SupFlags, Supervisor};
/// use arbor_testkit::{LifecycleLog, Probe, run_paused, shape};
///
/// run_paused(async {
///     let log = LifecycleLog::new();
///     let sup = Supervisor::new(SupFlags::new(Strategy::OneForAll))
///         .child(Probe::new(&log, "a").spec())
///         .child(Probe::new(&log, "b").spec())
///         .start()
///         .await
///         .unwrap();
///     sup.terminate_child("a").await.unwrap();
///     assert_eq!(shape(&sup).await.unwrap(), ["b=running", "a=undefined"]);
/// });
/// ```
pub async fn shape(sup: &SupervisorRef) -> Result<Vec<String>, CallError> {
    Ok(sup.which_children().await?.iter().map(child_line).collect())
}

/// A tree snapshot as indented text without pids: one line per node,
/// `id state [strategy] [(n restarts)]`, two spaces of indent per level.
/// Stable across restarts, so it can be compared with an expected string.
///
/// # Examples
///
/// ```
/// use arbor_supervisor::{Strategy, SupFlags, Supervisor};
/// use arbor_testkit::{LifecycleLog, Probe, run_paused, tree_shape};
///
/// run_paused(async {
///     let log = LifecycleLog::new();
///     let inner = Supervisor::new(SupFlags::new(Strategy::OneForOne))
///         .child(Probe::new(&log, "w").spec());
///     let sup = Supervisor::new(SupFlags::new(Strategy::OneForOne))
///         .child(inner.into_child_spec("inner"))
///         .start()
///         .await
///         .unwrap();
///     let text = tree_shape(&sup.tree().await.unwrap());
///     assert_eq!(text, "- running one_for_one (0)\n  inner running one_for_one (0)\n    w running\n");
/// });
/// ```
pub fn tree_shape(node: &TreeNode) -> String {
    let mut out = String::new();
    write_node(node, 0, &mut out);
    out
}

fn write_node(node: &TreeNode, depth: usize, out: &mut String) {
    let id = node
        .id
        .as_ref()
        .map(|i| i.to_string())
        .unwrap_or_else(|| "-".to_string());
    let state = match node.state {
        ChildState::Running(_) => "running",
        ChildState::Undefined => "undefined",
        ChildState::Restarting => "restarting",
    };
    out.push_str(&"  ".repeat(depth));
    out.push_str(&id);
    out.push(' ');
    out.push_str(state);
    if let Some(s) = node.strategy {
        out.push_str(&format!(" {s}"));
    }
    if let Some(n) = node.restarts_in_window {
        out.push_str(&format!(" ({n})"));
    }
    out.push('\n');
    for c in &node.children {
        write_node(c, depth + 1, out);
    }
}

/// Asserts that `sup`'s children (newest first, pids left out) are
/// exactly `expected`, e.g. `["b=running", "a=undefined"]`.
///
/// # Panics
///
/// On a mismatch, or if `sup` cannot be called.
///
/// # Cancel safety
///
/// As [`SupervisorRef::which_children`].
pub async fn assert_shape(sup: &SupervisorRef, expected: &[&str]) {
    let actual = match shape(sup).await {
        Ok(a) => a,
        Err(e) => panic!("which_children failed: {e}"),
    };
    assert_eq!(actual, expected, "which_children (newest first)");
}
