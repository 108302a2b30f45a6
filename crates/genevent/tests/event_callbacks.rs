//! gen_event callback returns (docs/otp/gen_event.md#ev-callbacks) and crash isolation.

mod support;

use arbor_genevent::{EventManager, EventManagerRef};
use arbor_process::Process;
use support::{Ev, Probe, drain, id, log};

async fn with_handlers(
    names: &[&'static str],
) -> (
    EventManagerRef<Ev>,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    support::Log,
) {
    let (log, mut rx) = log();
    let mgr = EventManager::start().await.unwrap();
    for &name in names {
        mgr.add_handler(id(name), Probe::new(name, &log))
            .await
            .unwrap();
    }
    drain(&mut rx);
    (mgr, rx, log)
}

/// `{ok, S}` keeps the handler: it sees the next event too.
#[tokio::test]
async fn ok_keeps_handler() {
    let (mgr, mut rx, _log) = with_handlers(&["a"]).await;
    mgr.sync_notify(Ev::N(1)).await.unwrap();
    mgr.sync_notify(Ev::N(2)).await.unwrap();
    assert_eq!(drain(&mut rx), ["a:N(1)", "a:N(2)"]);
}

/// `remove_handler` → removed, `terminate(remove_handler)`; handlers after
/// it still get the event.
#[tokio::test]
async fn remove_handler_return_removes() {
    let (mgr, mut rx, _log) = with_handlers(&["a", "b", "c"]).await;
    mgr.sync_notify(Ev::Remove("b")).await.unwrap();
    assert_eq!(
        drain(&mut rx),
        [
            "a:Remove(\"b\")",
            "b:Remove(\"b\")",
            "b:terminate:remove_handler",
            "c:Remove(\"b\")"
        ]
    );
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("a"), id("c")]);
}

/// `{swap_handler, ..}` from a callback: terminate → T, H2 init({A2, T}),
/// H2 takes H's position and does not get the same event.
#[tokio::test]
async fn swap_handler_return_takes_position() {
    let (mgr, mut rx, _log) = with_handlers(&["a", "b", "c"]).await;
    mgr.sync_notify(Ev::Swap("a", "x")).await.unwrap();
    assert_eq!(
        drain(&mut rx),
        [
            "a:Swap(\"a\", \"x\")",
            "a:terminate:{swapped,x}",
            "x:init_swapped:a-state",
            "b:Swap(\"a\", \"x\")",
            "c:Swap(\"a\", \"x\")"
        ]
    );
    assert_eq!(
        mgr.which_handlers().await.unwrap(),
        [id("x"), id("b"), id("c")]
    );
    mgr.sync_notify(Ev::N(1)).await.unwrap();
    assert_eq!(drain(&mut rx), ["x:N(1)", "b:N(1)", "c:N(1)"]);
}

/// Swapping to an id another handler has: the handler simply disappears.
#[tokio::test]
async fn swap_handler_return_to_present_id_disappears() {
    let (mgr, mut rx, _log) = with_handlers(&["a", "b"]).await;
    mgr.sync_notify(Ev::Swap("a", "b")).await.unwrap();
    assert_eq!(
        drain(&mut rx),
        [
            "a:Swap(\"a\", \"b\")",
            "a:terminate:{swapped,b}",
            "b:Swap(\"a\", \"b\")"
        ]
    );
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("b")]);
}

/// A callback that raises: removed with `terminate({error, {'EXIT', ..}})`,
/// the other handlers get the event, the manager survives.
#[tokio::test]
async fn panic_removes_only_that_handler() {
    let (mgr, mut rx, _log) = with_handlers(&["a", "b", "c"]).await;
    mgr.sync_notify(Ev::Panic("b")).await.unwrap();
    assert_eq!(
        drain(&mut rx),
        [
            "a:Panic(\"b\")",
            "b:Panic(\"b\")",
            "b:terminate:{panic,\"boom\"}",
            "c:Panic(\"b\")"
        ]
    );
    assert!(mgr.is_alive());
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("a"), id("c")]);
    mgr.sync_notify(Ev::N(2)).await.unwrap();
    assert_eq!(drain(&mut rx), ["a:N(2)", "c:N(2)"]);
}

/// A callback that returns a bad value (an error): removed with
/// `terminate({error, V})`; the others are unaffected.
#[tokio::test]
async fn error_removes_only_that_handler() {
    let (mgr, mut rx, _log) = with_handlers(&["a", "b"]).await;
    mgr.sync_notify(Ev::Fail("a")).await.unwrap();
    assert_eq!(
        drain(&mut rx),
        [
            "a:Fail(\"a\")",
            "a:terminate:{error,\"bad\"}",
            "b:Fail(\"a\")"
        ]
    );
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("b")]);
}

/// Crashes under `notify` behave the same (no caller to tell).
#[tokio::test]
async fn panic_under_notify_keeps_manager() {
    let (mgr, mut rx, _log) = with_handlers(&["a", "b"]).await;
    mgr.notify(Ev::Panic("a"));
    mgr.notify(Ev::N(3));
    mgr.sync_notify(Ev::N(4)).await.unwrap();
    assert_eq!(
        drain(&mut rx),
        [
            "a:Panic(\"a\")",
            "a:terminate:{panic,\"boom\"}",
            "b:Panic(\"a\")",
            "b:N(3)",
            "b:N(4)"
        ]
    );
}

/// Every handler crashing on one event leaves an empty, running manager.
#[tokio::test]
async fn all_handlers_crash_manager_survives() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    for name in ["a", "b"] {
        mgr.add_handler(id(name), Probe::new(name, &log))
            .await
            .unwrap();
    }
    mgr.sync_notify(Ev::Panic("a")).await.unwrap();
    mgr.sync_notify(Ev::Panic("b")).await.unwrap();
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
    assert!(mgr.is_alive());
    assert_eq!(drain(&mut rx).len(), 2 + 3 + 2);
}
