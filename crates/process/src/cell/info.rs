//! A look at one live cell's signal state, for `process_info`.

use super::ProcessCell;
use crate::Pid;
use crate::name::Name;

/// What one critical section of a cell's `state` saw (invariant 2 of
/// `cell`: links, monitors, name and mailbox are read together).
pub(crate) struct CellInfo {
    pub(crate) name: Option<Name>,
    pub(crate) links: Vec<Pid>,
    pub(crate) monitors: Vec<Pid>,
    pub(crate) monitored_by: Vec<Pid>,
    pub(crate) mailbox_len: usize,
    pub(crate) trap_exit: bool,
}

impl ProcessCell {
    /// The cell's links, monitors (both ways), name and mailbox length;
    /// `None` once its exit processing started.
    pub(crate) fn info(&self) -> Option<CellInfo> {
        let st = self.state.lock();
        if !st.alive {
            return None;
        }
        let mut links = st.links.pids();
        links.sort();
        let mut monitors: Vec<Pid> = st
            .monitoring
            .as_ref()
            .map(|m| m.values().copied().collect())
            .unwrap_or_default();
        monitors.sort();
        let mut monitored_by: Vec<Pid> = st.monitors.iter().map(|(_, c)| c.pid).collect();
        monitored_by.sort();
        Some(CellInfo {
            name: st.name.clone(),
            links,
            monitors,
            monitored_by,
            // The queue's lock under the cell's, as a system message's push.
            mailbox_len: st.mailbox.depth(),
            trap_exit: self.is_trapping(),
        })
    }
}
