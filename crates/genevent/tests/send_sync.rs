//! Public handles and futures are `Send + Sync` (style rule 19).

use arbor_genevent::{
    Ack, AckedEventStream, Delivery, EventManagerName, EventManagerRef, EventStream, HandlerExit,
    HandlerId, Owner, StreamError, StreamOpts,
};
use arbor_process::Process;

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}

#[test]
fn handles_are_send_sync() {
    send_sync::<EventManagerRef<u32>>();
    send_sync::<EventManagerName<u32>>();
    send_sync::<HandlerId>();
    send_sync::<HandlerExit>();
    send_sync::<StreamError>();
    send_sync::<Owner>();
    send::<EventStream<u32>>();
    send::<AckedEventStream<u32>>();
    // An ack is moved to the task that finishes the work.
    send_sync::<Ack>();
    send_sync::<Delivery<u32>>();
    send_sync::<StreamOpts>();
}

#[allow(dead_code)]
fn futures_are_send(mgr: EventManagerRef<u32>, id: HandlerId) {
    fn is_send<F: Send>(_: F) {}
    is_send(mgr.sync_notify(1));
    is_send(mgr.which_handlers());
    is_send(mgr.remove_handler(&id));
    is_send(mgr.call::<u32>(&id, 1u32));
    is_send(mgr.stream(Default::default()));
    is_send(mgr.acked_stream(Default::default()));
    is_send(mgr.stop());
    is_send(arbor_genevent::EventManager::<u32>::start_link());
}
