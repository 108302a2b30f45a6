//! The seed chapter's event-manager session, in arbor: start a manager,
//! notify with no handler, forward events to this process, watch a crashing
//! handler get removed while the others keep going, and consume events as a
//! stream.
//!
//! ```sh
//! cargo run -p arbor-genevent --example seed_tour
//! ```

use arbor_genevent::{
    AddOpts, EventHandler, EventManager, Forwarder, HandlerCtx, HandlerError, HandlerExit,
    HandlerId, Owner, Step, StreamOpts,
};
use arbor_process::Process;
use arbor_process::{Ctx, Msg, scope};
use futures::StreamExt;

#[derive(Clone, Debug)]
#[allow(dead_code)] // fields are read through `Debug` only
enum Event {
    Hello(&'static str),
    Boom,
}

/// Our mailbox: forwarded events and removal notices for handlers we own.
#[derive(Debug)]
#[allow(dead_code)] // fields are read through `Debug` only
enum Mail {
    Event(Event),
    Removed(HandlerExit),
}

impl From<Event> for Mail {
    fn from(e: Event) -> Mail {
        Mail::Event(e)
    }
}

impl From<HandlerExit> for Mail {
    fn from(x: HandlerExit) -> Mail {
        Mail::Removed(x)
    }
}

/// Panics on `Boom`.
struct Fragile;

impl EventHandler<Event> for Fragile {
    fn handle_event(
        &mut self,
        e: &Event,
        _: &HandlerCtx<'_, Event>,
    ) -> Result<Step<Event>, HandlerError> {
        match e {
            Event::Boom => panic!("fragile handler hit a boom"),
            Event::Hello(_) => Ok(Step::Keep),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The manager's reports (handler added / removed / crashed) on stderr.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
    // One line per panic instead of a backtrace: the manager catches it.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("panic (caught by the manager): {info}")
    }));
    scope(|mut me: Ctx<Mail>| async move {
        let manager = EventManager::<Event>::start_link().await.unwrap();
        println!(
            "sync_notify with no handler: {:?}",
            manager.sync_notify(Event::Hello("nobody")).await
        );
        manager.notify(Event::Hello("still nobody"));

        let owned = AddOpts::new().owner(Owner::process(&me.process_ref()));
        manager
            .add_handler_opts(HandlerId::of::<Fragile>(), Fragile, owned)
            .await
            .unwrap();
        manager
            .add_handler(
                HandlerId::of::<Forwarder<Event>>(),
                Forwarder::to_process(&me.process_ref()),
            )
            .await
            .unwrap();
        println!("handlers: {:?}", manager.which_handlers().await.unwrap());

        manager.sync_notify(Event::Hello("world")).await.unwrap();
        manager.sync_notify(Event::Boom).await.unwrap();
        while let Some(Msg::Message(mail)) = me.try_recv() {
            println!("mailbox: {mail:?}");
        }
        println!(
            "handlers after the crash: {:?}",
            manager.which_handlers().await.unwrap()
        );

        let mut events = manager.stream(StreamOpts::default()).await.unwrap();
        let consumer = tokio::spawn(async move {
            while let Some(Ok(e)) = events.next().await {
                println!("stream: {e:?}");
            }
            println!("stream ended");
        });
        manager.sync_notify(Event::Hello("stream")).await.unwrap();
        manager.stop().await.unwrap();
        consumer.await.unwrap();
    })
    .await
    .unwrap();
}
