//! [`process_info`]: what one live process looks like right now, for
//! tools (an observer page, a debugging session).

use crate::cell;
use crate::{Name, Pid};

/// One live process at one moment, as [`process_info`] saw it.
///
/// Links, monitors, name and mailbox length were read together, under the
/// process's own lock; by the time the caller looks, they may have
/// changed. Pid lists are sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// The process.
    pub pid: Pid,
    /// Its registered name, if any.
    pub registered_name: Option<Name>,
    /// The processes it is linked to.
    pub links: Vec<Pid>,
    /// The processes it monitors (one entry per monitor).
    pub monitors: Vec<Pid>,
    /// The processes monitoring it (one entry per monitor).
    pub monitored_by: Vec<Pid>,
    /// Messages waiting in its mailbox (0 before the first message; the
    /// batch a process already took out to handle is not counted).
    pub message_queue_len: usize,
    /// Whether it traps exits.
    pub trap_exit: bool,
}

/// What `pid` looks like now; `None` if it is not alive (its exit
/// processing started).
///
/// Takes the process's lock briefly; the process itself is not involved
/// (no message, no wait), so it answers for a busy or stuck process too.
///
/// ```
/// use arbor_process::{Agent, Process, process_info};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let agent = Agent::start(|| 0u32).await.unwrap();
/// let info = process_info(agent.pid()).unwrap();
/// assert_eq!(info.pid, agent.pid());
/// assert!(info.links.is_empty());
/// agent.stop().await.unwrap();
/// assert_eq!(process_info(agent.pid()), None);
/// # }
/// ```
///
/// # OTP
///
/// `erlang:process_info/2` with `registered_name`, `links`, `monitors`,
/// `monitored_by`, `message_queue_len` and `trap_exit`.
pub fn process_info(pid: Pid) -> Option<ProcessInfo> {
    let info = cell::lookup(pid)?.info()?;
    Some(ProcessInfo {
        pid,
        registered_name: info.name,
        links: info.links,
        monitors: info.monitors,
        monitored_by: info.monitored_by,
        message_queue_len: info.mailbox_len,
        trap_exit: info.trap_exit,
    })
}
