//! Public handles and futures are `Send + Sync` (style rule 19).

use arbor_genevent::{
    EventManagerName, EventManagerRef, EventStream, HandlerExit, HandlerId, Owner, StreamError,
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
}

#[allow(dead_code)]
fn futures_are_send(mgr: EventManagerRef<u32>, id: HandlerId) {
    fn is_send<F: Send>(_: F) {}
    is_send(mgr.sync_notify(1));
    is_send(mgr.which_handlers());
    is_send(mgr.remove_handler(&id));
    is_send(mgr.call::<u32>(&id, 1u32));
    is_send(mgr.stream(Default::default()));
    is_send(mgr.stop());
    is_send(arbor_genevent::EventManager::<u32>::start_link());
}
