//! A network namespace joined to the test's own by a veth pair, so that a
//! node can be cut off for real (tests/partition.rs): taking the host end
//! of the pair down drops every packet both ways, without a RST or FIN,
//! which is what a partition looks like to both ends of a TCP connection.
//!
//! Made with `ip` from iproute2 and removed on drop (also when the test
//! panics). The addresses are a /30 of 198.18.0.0/15 (RFC 2544, the
//! benchmarking range: routed nowhere), on the two veth ends only; no
//! traffic goes anywhere else. Creating namespaces needs root (or
//! `CAP_SYS_ADMIN` and `CAP_NET_ADMIN`): [`Netns::create`] says why it
//! could not, and the test skips.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Guards made by this test process (part of the names, so two guards of
/// one process never clash).
static MADE: AtomicU32 = AtomicU32::new(0);

/// Runs `ip args...`; its stderr as the error.
fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `ip` (iproute2): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether `ip netns list` shows a namespace named `name`.
pub fn namespace_listed(name: &str) -> bool {
    ip(&["netns", "list"]).is_ok_and(|out| {
        out.lines()
            .any(|l| l.split_whitespace().next() == Some(name))
    })
}

/// Whether a network interface named `name` exists here.
pub fn link_exists(name: &str) -> bool {
    ip(&["link", "show", name]).is_ok()
}

/// Prints a loud `SKIPPED` banner straight to stderr (the harness
/// captures `eprintln!` of passing tests; a skip must be seen).
pub fn skipped(reason: &str) {
    let _ = std::io::stderr().write_all(
        format!(
            "\n*****************************************************************\n\
             SKIPPED: cannot make a network namespace: {reason}\n\
             (needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN, and `ip` from\n\
             iproute2); this test did NOT run. ARBOR_REQUIRE_SERVICES=1 does\n\
             not make this a failure: namespaces are not a service CI installs.\n\
             *****************************************************************\n"
        )
        .as_bytes(),
    );
}

/// A namespace with a veth pair to this one; removed on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
    host_if: String,
    peer_if: String,
    host_addr: Ipv4Addr,
    ns_addr: Ipv4Addr,
}

impl Netns {
    /// Makes the namespace (named after this process id), the veth pair
    /// (host end here, other end there), the /30's addresses, and brings
    /// the links and the namespace's loopback up.
    ///
    /// # Errors
    ///
    /// Why it could not (not root, no `ip`, `ip netns add` refused); what
    /// was made by then is removed.
    pub fn create() -> Result<Netns, String> {
        sweep_leftovers();
        let pid = std::process::id();
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        // Interface names have at most 15 bytes: "ap" + pid (≤ 7 digits)
        // + side + n.
        let mut ns = Netns {
            name: format!("arbor-partition-{pid}-{n}"),
            host_if: format!("ap{pid}h{n}"),
            peer_if: format!("ap{pid}n{n}"),
            host_addr: Ipv4Addr::UNSPECIFIED,
            ns_addr: Ipv4Addr::UNSPECIFIED,
        };
        let (host, inside) = free_block(pid, n)?;
        ns.host_addr = host;
        ns.ns_addr = inside;
        // From here on, `ns` is dropped on error: whatever was made goes.
        ip(&["netns", "add", &ns.name])?;
        ip(&[
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &ns.peer_if,
        ])?;
        ip(&["link", "set", &ns.peer_if, "netns", &ns.name])?;
        ip(&["addr", "add", &format!("{host}/30"), "dev", &ns.host_if])?;
        ip(&["link", "set", &ns.host_if, "up"])?;
        ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{inside}/30"),
            "dev",
            &ns.peer_if,
        ])?;
        ns.exec(&["ip", "link", "set", &ns.peer_if, "up"])?;
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Runs `cmd...` inside the namespace.
    fn exec(&self, cmd: &[&str]) -> Result<String, String> {
        let mut args = vec!["netns", "exec", &self.name];
        args.extend_from_slice(cmd);
        ip(&args)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host end of the veth pair (in the test's namespace).
    pub fn host_if(&self) -> &str {
        &self.host_if
    }

    /// The host end's address: where a process inside reaches this side.
    pub fn host_addr(&self) -> Ipv4Addr {
        self.host_addr
    }

    /// The address of the end inside the namespace.
    pub fn ns_addr(&self) -> Ipv4Addr {
        self.ns_addr
    }

    /// The command prefix that runs a program inside (`ip netns exec`
    /// execs it: the child's pid is the program's).
    pub fn exec_prefix(&self) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.name.clone(),
        ]
    }

    /// Whether a TCP socket inside, in `state` (as `ss` names states:
    /// `established`, `syn-sent`), has `addr:port` as its peer.
    pub fn tcp_to(&self, addr: Ipv4Addr, port: u16, state: &str) -> bool {
        let out = match self.exec(&["ss", "-Htn", "state", state]) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        };
        let peer = format!("{addr}:{port}");
        out.lines()
            .any(|l| l.split_whitespace().any(|field| field == peer))
    }

    /// Takes the host end down (`up == false`): from then on nothing
    /// crosses, in either direction, and nobody is told. `up == true`
    /// heals.
    ///
    /// # Panics
    ///
    /// If `ip` fails (the namespace was made, so it should not).
    pub fn set_link(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        if let Err(e) = ip(&["link", "set", &self.host_if, state]) {
            panic!("{e}");
        }
    }
}

/// Removes what an earlier test process that was killed (no drop ran)
/// left: namespaces named `arbor-partition-<pid>-<n>` whose process is
/// gone, with their host veth ends. A process id that was reused since
/// keeps its namespace until that process is gone too.
fn sweep_leftovers() {
    let Ok(list) = ip(&["netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some((pid, n)) = name
            .strip_prefix("arbor-partition-")
            .and_then(|rest| rest.split_once('-'))
        else {
            continue;
        };
        if pid.parse::<u32>().is_err() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = ip(&["link", "del", &format!("ap{pid}h{n}")]);
        let _ = ip(&["netns", "del", name]);
    }
}

/// A /30 of 198.18.0.0/15 chosen from the process id and `n`, whose
/// addresses no interface here has yet (another test process may hold
/// one): the host end's address and the namespace end's.
fn free_block(pid: u32, n: u32) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    // 2^17 addresses, 2^15 blocks of 4.
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let first = pid.wrapping_mul(7).wrapping_add(n) % (1 << 15);
    for k in 0..64 {
        let block = base + ((first + k) % (1 << 15)) * 4;
        let cidr = format!("{}/30", Ipv4Addr::from(block));
        if ip(&["-o", "-4", "addr", "show", "to", &cidr])?
            .trim()
            .is_empty()
        {
            return Ok((Ipv4Addr::from(block + 1), Ipv4Addr::from(block + 2)));
        }
    }
    Err("no free /30 in 198.18.0.0/15 after 64 tries".into())
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end of a veth pair deletes both, at once; deleting
        // the namespace alone would leave its end to the kernel's
        // asynchronous namespace cleanup.
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}
