//! Compile-time API checks: the testkit's handles and values are `Send +
//! Sync` (the log and probes also `Clone`; `Held` and `TreeDriver` are
//! `Send`), its errors `Send + Sync`, and
//! its futures `Send`, so tests can move them into spawned tasks. Nothing
//! here runs beyond the type checks.

#![allow(dead_code)]

use arbor_process::Pid;
use arbor_supervisor::SupervisorRef;
use arbor_testkit::model::{Op, SupConfig, TreeModel};
use arbor_testkit::{
    Crash, Event, EventKind, Held, InflictError, LifecycleLog, Probe, ProbeCmd, TreeCheckError,
    TreeDriver,
};

fn send_sync<T: Send + Sync>() {}
fn handle<T: Send + Sync + Clone + 'static>() {}
fn send<T: Send>() {}
fn send_future<F: std::future::Future + Send>(_: F) {}

/// Probes and the lifecycle log are shared by the tree and the test like
/// OTP processes share a pid: `Send + Sync + Clone`.
#[test]
fn handles_and_values_are_send_sync() {
    handle::<LifecycleLog>();
    handle::<Probe>();
    send_sync::<Crash>();
    send_sync::<Event>();
    send_sync::<EventKind>();
    send_sync::<ProbeCmd>();
    send_sync::<SupConfig>();
    send_sync::<TreeModel>();
    send_sync::<Op>();
    // A held supervisor and a driver are owned by one test at a time.
    send::<Held>();
    send::<TreeDriver>();
}

/// Errors travel like OTP error terms: `Send + Sync`.
#[test]
fn errors_are_send_sync() {
    send_sync::<InflictError>();
    send_sync::<TreeCheckError>();
}

fn futures_are_send(sup: SupervisorRef, probe: Probe, held: Held, pid: Pid) {
    send_future(arbor_testkit::hold(&sup));
    send_future(held.release());
    send_future(probe.start(None));
    send_future(Crash::Custom.inflict_pid(pid));
    send_future(Crash::Kill.inflict(&sup));
    send_future(arbor_testkit::shape(&sup));
    send_future(arbor_testkit::assert_shape(&sup, &[]));
}
