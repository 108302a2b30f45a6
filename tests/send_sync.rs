//! Compile-time API checks: every public handle is `Send + Sync` (and
//! `Clone` where promised), and every public future is `Send`, so handles
//! can be shared across tasks and futures spawned on the multi-thread
//! runtime. Nothing here runs; the file compiles or it does not.

#![allow(dead_code)]

use std::time::Duration;

use arbor::process::Process;
use arbor::process::{
    Agent, CallError, ExitReason, GenServer, MonitorRef, Name, Pid, ProcessHandle, ProcessRef,
    RegisterError, ReplyTo, SendError, ServerRef, StartError, StopError, TimerRef,
};

fn send<T: Send>() {}
fn send_sync<T: Send + Sync>() {}
fn handle<T: Send + Sync + Clone + 'static>() {}
fn send_future<F: std::future::Future + Send>(_: F) {}

/// A message type that is `Send` but not `Sync`: handles to its process
/// must still be `Sync`.
type NotSync = std::cell::Cell<u32>;

struct Server;

impl GenServer for Server {
    type Call = (NotSync, ReplyTo<NotSync>);
    type Cast = NotSync;
    type Info = NotSync;
}

#[test]
fn handles_are_send_sync_clone() {
    handle::<Pid>();
    handle::<MonitorRef>();
    handle::<Name>();
    handle::<ProcessHandle>();
    handle::<ProcessRef<NotSync>>();
    handle::<ServerRef<Server>>();
    handle::<Agent<NotSync>>();
    handle::<ExitReason>();
}

#[test]
fn errors_and_tokens_are_send_sync() {
    send_sync::<CallError>();
    send_sync::<StartError>();
    send_sync::<StopError>();
    send_sync::<RegisterError>();
    send_sync::<SendError<u32>>();
    send_sync::<TimerRef>();
    // A reply token travels to whoever answers later.
    send::<ReplyTo<NotSync>>();
}

#[test]
fn futures_are_send() {
    fn futures(p: ProcessRef<NotSync>, h: ProcessHandle, s: ServerRef<Server>, a: Agent<u32>) {
        send_future(p.wait());
        send_future(p.call_timeout(|_reply: ReplyTo<u32>| NotSync::new(0), Duration::MAX));
        send_future(h.wait());
        send_future(s.call(|r| (NotSync::new(0), r)));
        send_future(s.call_timeout(|r| (NotSync::new(0), r), Duration::MAX));
        send_future(s.stop_with(ExitReason::Normal, Duration::MAX));
        send_future(s.wait());
        send_future(Server.start());
        send_future(Server.start_link());
        send_future(a.get(|v| *v));
        send_future(a.update(|v| *v += 1));
        send_future(a.get_and_update(|v| *v));
        send_future(a.stop_with(ExitReason::Normal, Duration::MAX));
        send_future(Agent::start(|| 0u32));
        send_future(arbor::process::wait_exit(Pid::ANONYMOUS));
    }
    let _ = futures;
}
