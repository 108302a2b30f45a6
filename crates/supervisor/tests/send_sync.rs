//! Compile-time API checks: the supervisor's handles, builders and specs
//! are `Send + Sync + Clone`, its errors `Send + Sync`, and its request
//! futures `Send`, also for a template argument that is `Send` but not
//! `Sync`. Nothing here runs beyond the type checks.

#![allow(dead_code)]

use arbor_process::Process;
use arbor_supervisor::{
    ChildSelector, ChildSpec, ChildTemplate, DeleteChildError, GetChildSpecError, IntoSimpleError,
    RestartChildError, SimpleSupervisor, SimpleSupervisorRef, StartChildError, StartOutcome,
    StartSimpleChildError, StartedChild, SupStartError, Supervisor, SupervisorRef,
    TerminateChildError, WhichChildError,
};

fn send_sync<T: Send + Sync>() {}
fn handle<T: Send + Sync + Clone + 'static>() {}
fn send_future<F: std::future::Future + Send>(_: F) {}

/// `Send`, not `Sync`: a channel end a connection handler may be given.
type NotSync = std::sync::mpsc::Receiver<u32>;

/// Handles, builders and specs cross tasks like `pid()`s do (`Send + Sync + Clone`).
#[test]
fn handles_builders_and_specs_are_send_sync_clone() {
    handle::<SupervisorRef>();
    handle::<SimpleSupervisorRef<NotSync>>();
    handle::<Supervisor>();
    handle::<SimpleSupervisor<NotSync>>();
    handle::<ChildSpec>();
    handle::<ChildTemplate<NotSync>>();
    handle::<ChildSelector>();
    handle::<StartedChild>();
    send_sync::<StartOutcome>();
}

/// Errors travel like OTP error terms: `Send + Sync`.
#[test]
fn errors_are_send_sync() {
    send_sync::<StartChildError>();
    send_sync::<StartSimpleChildError>();
    send_sync::<TerminateChildError>();
    send_sync::<RestartChildError>();
    send_sync::<DeleteChildError>();
    send_sync::<WhichChildError>();
    send_sync::<GetChildSpecError>();
    send_sync::<IntoSimpleError>();
    send_sync::<SupStartError>();
}

fn futures_are_send(sup: SupervisorRef, simple: SimpleSupervisorRef<NotSync>, arg: NotSync) {
    send_future(Supervisor::one_for_one().start_link());
    send_future(
        Supervisor::simple(
            Default::default(),
            ChildSpec::temporary_template("t", |_: NotSync| async { StartOutcome::Ignore }),
        )
        .start(),
    );
    send_future(sup.start_child(ChildSpec::worker("a", || async { StartOutcome::Ignore })));
    send_future(sup.terminate_child("a"));
    send_future(sup.restart_child("a"));
    send_future(sup.delete_child("a"));
    send_future(sup.which_child("a"));
    send_future(sup.which_children());
    send_future(sup.count_children());
    send_future(sup.get_childspec("a"));
    send_future(sup.tree());
    send_future(sup.stop());
    send_future(sup.clone().into_simple::<NotSync>());
    send_future(simple.start_child(arg));
}
