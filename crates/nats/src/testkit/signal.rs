//! Signals to node processes, for tests that need a real `kill -9` or a
//! real hang (`SIGSTOP`).

use std::time::{Duration, Instant};

/// How long a stop may take to show in `/proc` before [`signal`] gives up.
const STOP_BOUND: Duration = Duration::from_secs(2);

/// Sends `sig` (a name as `kill` takes it: `KILL`, `STOP`, `CONT`) to the
/// process `pid`. For `STOP` it returns only once the process *is*
/// stopped: the kernel stops it when it next schedules it, which on a
/// loaded machine was seen to take 4 ms after `kill` returned, time in
/// which a "hung" node still answered.
///
/// # Errors
///
/// `kill` could not be run or failed (no such process), or the process
/// was not seen stopped within 2 s (on Linux, read from
/// `/proc/<pid>/stat`; elsewhere `STOP` is not waited for).
///
/// # Examples
///
/// ```no_run
/// # let pid = std::process::id();
/// arbor_nats::testkit::signal(pid, "STOP").unwrap();
/// // ... the node is hung now ...
/// arbor_nats::testkit::signal(pid, "CONT").unwrap();
/// ```
pub fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let status = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .map_err(|e| format!("kill -{sig} {pid}: {e}"))?;
    if !status.success() {
        return Err(format!("kill -{sig} {pid}: {status}"));
    }
    if sig != "STOP" {
        return Ok(());
    }
    let stat = format!("/proc/{pid}/stat");
    let start = Instant::now();
    loop {
        let Ok(text) = std::fs::read_to_string(&stat) else {
            return Ok(()); // not Linux, or gone: nothing to wait for
        };
        // The state follows the command name, which is in parentheses
        // and may itself contain ") ".
        let state = text
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if state == Some('T') {
            return Ok(());
        }
        if start.elapsed() > STOP_BOUND {
            return Err(format!("{pid} not stopped within {STOP_BOUND:?}: {text}"));
        }
        std::thread::yield_now();
    }
}
