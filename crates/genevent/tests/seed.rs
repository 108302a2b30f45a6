//! The seed chapter (docs/otp/gen_event.md#ev-seed) in arbor: the IEx session, the
//! Forwarder with `link: true`, and the event stream printer.

use arbor_genevent::{AddOpts, EventManager, Forwarder, HandlerId, StreamOpts};
use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Msg, scope};
use futures::StreamExt;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Hello,
    World,
    Pair(&'static str, &'static str),
}

/// docs/otp/gen_event.md#ev-seed-session: start_link; sync_notify and notify with no handler → ok;
/// add the Forwarder with self(); sync_notify {hello, world}; flush shows it.
#[tokio::test]
async fn iex_session_forwarder_receives_hello_world() {
    let got = scope(|mut me: Ctx<Event>| async move {
        let manager = EventManager::<Event>::start_link().await.unwrap();
        assert_eq!(manager.sync_notify(Event::Hello).await, Ok(()));
        manager.notify(Event::World);
        let fwd = Forwarder::to_process(&me.process_ref());
        manager
            .add_handler(HandlerId::of::<Forwarder<Event>>(), fwd)
            .await
            .unwrap();
        manager
            .sync_notify(Event::Pair("hello", "world"))
            .await
            .unwrap();
        // flush
        let mut flushed = Vec::new();
        while let Some(Msg::Message(e)) = me.try_recv() {
            flushed.push(e);
        }
        flushed
    })
    .await
    .unwrap();
    assert_eq!(got, [Event::Pair("hello", "world")]);
}

/// docs/otp/gen_event.md#ev-seed-forwarder setup: `GenEvent.start` (not linked), Forwarder added with
/// `link: true` by the test process; when the test process exits, the
/// handler is removed. `Process.exit(event, :shutdown)` from the test (not
/// the parent) is only an info message to a `gen_event` manager, which traps
/// exits (docs/otp/gen_event.md#ev-info): the manager is stopped with `stop`.
#[tokio::test]
async fn forwarder_with_link_removed_when_test_process_exits() {
    let event = EventManager::<Event>::start().await.unwrap();
    let test = arbor_process::spawn({
        let event = event.clone();
        move |mut me: Ctx<Event>| async move {
            event
                .add_handler_opts(
                    HandlerId::of::<Forwarder<Event>>(),
                    Forwarder::to_process(&me.process_ref()),
                    AddOpts::new().link(),
                )
                .await
                .unwrap();
            event
                .sync_notify(Event::Pair("create", "shopping"))
                .await
                .unwrap();
            match me.recv().await {
                Msg::Message(Event::Pair("create", "shopping")) => ExitReason::Normal,
                other => ExitReason::custom(format!("unexpected {other:?}")),
            }
        }
    });
    assert_eq!(test.wait().await, ExitReason::Normal);
    // The owner's death was queued at the manager before wait() returned.
    assert_eq!(event.which_handlers().await.unwrap(), []);
    arbor_process::exit(event.pid(), ExitReason::Shutdown);
    assert_eq!(event.which_handlers().await.unwrap(), []);
    event
        .stop_with(ExitReason::Shutdown, std::time::Duration::MAX)
        .await
        .unwrap();
}

/// docs/otp/gen_event.md#ev-seed-streams: a process consuming `stream(manager)` sees notified events.
#[tokio::test]
async fn stream_printer_sees_notify() {
    let manager = EventManager::<Event>::start_link().await.unwrap();
    let mut stream = manager.stream(StreamOpts::default()).await.unwrap();
    let (printed_tx, mut printed) = tokio::sync::mpsc::unbounded_channel();
    let printer = arbor_process::spawn(move |_: Ctx<()>| async move {
        while let Some(Ok(x)) = stream.next().await {
            let _ = printed_tx.send(format!("{x:?}"));
        }
        ExitReason::Normal
    });
    manager.notify(Event::Pair("hello", "world"));
    assert_eq!(printed.recv().await.unwrap(), "Pair(\"hello\", \"world\")");
    manager.stop().await.unwrap();
    assert_eq!(printer.wait().await, ExitReason::Normal);
}
