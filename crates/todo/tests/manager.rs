//! `Todo.Manager` (test/todo/manager_test.exs): the earlier chapters' tests
//! and the event-manager chapter's `sends events on create and crash`, with
//! its setup ported faithfully. Where the original waits 500 ms in
//! `assert_receive`, these wait for the event itself.

mod support;

use std::time::Duration;

use arbor_genevent::{
    EventManager, EventManagerRef, EventStream, Forwarder, HandlerId, StreamOpts,
};
use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{CallError, Ctx, ExitReason, exit, scope, spawn};
use arbor_todo::{ListSupervisor, TodoEvent, TodoManager};
use futures::StreamExt;
use support::{Mailbox, forward_to_me};

struct Setup {
    manager: TodoManager,
    event: EventManagerRef<TodoEvent>,
    sup: ListSupervisor,
}

/// The chapter's `setup`: a list supervisor, an event manager started
/// without a link, a manager, and a Forwarder owned by the test process
/// (`link: true`).
async fn setup(me: &Ctx<TodoEvent>) -> Setup {
    let sup = ListSupervisor::start_link(None).await.unwrap();
    let event = EventManager::<TodoEvent>::start().await.unwrap();
    let manager = TodoManager::start_link(sup.clone(), event.clone(), None)
        .await
        .unwrap();
    forward_to_me(&event, me).await;
    Setup {
        manager,
        event,
        sup,
    }
}

/// The chapter's `on_exit`. ExUnit runs it in another process once the
/// test process is gone; here the test process runs it, so it unlinks from
/// the supervisor first (its `shutdown` would otherwise reach us).
async fn on_exit(me: &Ctx<TodoEvent>, s: Setup) {
    me.unlink(s.sup.pid());
    s.manager.stop().await.unwrap();
    // A `shutdown` signal from a non-parent is info to a manager (it traps
    // exits, as `gen_event`): stop it instead.
    let stopped = s.event.stop_with(ExitReason::Shutdown, Duration::MAX);
    exit(s.sup.pid(), ExitReason::Shutdown);
    stopped.await.unwrap();
    assert_eq!(s.sup.handle().clone().wait().await, ExitReason::Shutdown);
}

/// "sends events on create and crash".
#[tokio::test]
async fn sends_events_on_create_and_crash() {
    scope(|mut me: Ctx<TodoEvent>| async move {
        let s = setup(&me).await;
        let mut inbox = Mailbox::new(&mut me);
        s.manager.create("shopping");
        let todo = s.manager.lookup("shopping").await.unwrap().unwrap();
        // sync_notify ran before the lookup was answered: already received.
        let create = TodoEvent::Create {
            name: "shopping".into(),
            list: todo.clone(),
        };
        assert_eq!(inbox.received(), Some(create));

        inbox
            .kill_with(&todo, |l| async move {
                l.stop_with(ExitReason::Normal, Duration::from_secs(5))
                    .await
                    .unwrap()
            })
            .await;
        let exit_event = TodoEvent::Exit {
            name: "shopping".into(),
            list: todo,
        };
        assert_eq!(inbox.next_event().await, exit_event);
        on_exit(&me, s).await;
    })
    .await
    .unwrap();
}

/// "spawns todo lists".
#[tokio::test]
async fn spawns_todo_lists() {
    scope(|me: Ctx<TodoEvent>| async move {
        let s = setup(&me).await;
        assert_eq!(s.manager.lookup("shopping").await.unwrap(), None);
        s.manager.create("shopping");
        let list = s.manager.lookup("shopping").await.unwrap().unwrap();
        list.put("eggs").await.unwrap();
        assert_eq!(list.get().await.unwrap(), ["eggs"]);
        // create is a no-op for an existing name.
        s.manager.create("shopping");
        assert_eq!(s.manager.lookup("shopping").await.unwrap(), Some(list));
        assert_eq!(s.manager.names().await.unwrap(), ["shopping"]);
        assert_eq!(s.sup.count().await.unwrap(), 1);
        on_exit(&me, s).await;
    })
    .await
    .unwrap();
}

/// "removes todo lists on exit".
#[tokio::test]
async fn removes_todo_lists_on_exit() {
    scope(|me: Ctx<TodoEvent>| async move {
        let s = setup(&me).await;
        s.manager.create("shopping");
        let list = s.manager.lookup("shopping").await.unwrap().unwrap();
        list.stop_with(ExitReason::Normal, Duration::from_secs(5))
            .await
            .unwrap();
        // The DOWN was queued at the manager before stop returned.
        assert_eq!(s.manager.lookup("shopping").await.unwrap(), None);
        on_exit(&me, s).await;
    })
    .await
    .unwrap();
}

/// "removes todo lists on crash" (`Process.exit(pid, :shutdown)`).
#[tokio::test]
async fn removes_todo_lists_on_crash() {
    scope(|me: Ctx<TodoEvent>| async move {
        let s = setup(&me).await;
        s.manager.create("shopping");
        let list = s.manager.lookup("shopping").await.unwrap().unwrap();
        exit(list.pid(), ExitReason::Shutdown);
        assert_eq!(list.wait().await, ExitReason::Shutdown);
        assert_eq!(s.manager.lookup("shopping").await.unwrap(), None);
        on_exit(&me, s).await;
    })
    .await
    .unwrap();
}

/// `link: true`: when the process that added the Forwarder exits, the
/// handler is removed; the manager keeps working without it.
#[tokio::test]
async fn owner_death_removes_the_forwarder() {
    let sup = ListSupervisor::start_link(None).await.unwrap();
    let event = EventManager::<TodoEvent>::start().await.unwrap();
    let manager = TodoManager::start_link(sup.clone(), event.clone(), None)
        .await
        .unwrap();
    let owner = spawn({
        let (event, manager) = (event.clone(), manager.clone());
        move |mut me: Ctx<TodoEvent>| async move {
            forward_to_me(&event, &me).await;
            manager.create("shopping");
            let mut inbox = Mailbox::new(&mut me);
            match inbox.next_event().await {
                TodoEvent::Create { name, .. } if name == "shopping" => ExitReason::Normal,
                other => ExitReason::custom(format!("unexpected {other:?}")),
            }
        }
    });
    assert_eq!(owner.wait().await, ExitReason::Normal);
    // The owner's DOWN was queued at the event manager before wait() returned.
    assert_eq!(event.which_handlers().await.unwrap(), []);
    manager.create("work");
    assert!(manager.lookup("work").await.unwrap().is_some());
    // A new Forwarder from a live owner works as before.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    event
        .add_handler(
            HandlerId::of::<Forwarder<TodoEvent>>(),
            Forwarder::to_channel(tx),
        )
        .await
        .unwrap();
    manager.create("home");
    assert!(matches!(rx.recv().await, Some(TodoEvent::Create { name, .. }) if name == "home"));
    manager.stop().await.unwrap();
    event.stop().await.unwrap();
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}

/// A manager whose event manager is gone keeps serving (events dropped).
#[tokio::test]
async fn manager_survives_a_dead_event_manager() {
    let sup = ListSupervisor::start_link(None).await.unwrap();
    let event = EventManager::<TodoEvent>::start().await.unwrap();
    let manager = TodoManager::start_link(sup.clone(), event.clone(), None)
        .await
        .unwrap();
    event.stop().await.unwrap();
    manager.create("shopping");
    let list = manager.lookup("shopping").await.unwrap().unwrap();
    exit(list.pid(), ExitReason::Shutdown);
    list.wait().await;
    assert_eq!(manager.lookup("shopping").await.unwrap(), None);
    assert!(manager.is_alive());
    manager.stop().await.unwrap();
    sup.stop_with(ExitReason::Shutdown, Duration::MAX)
        .await
        .unwrap();
}

// ===== lookups read the manager's table =====

/// Blocks `s.manager` inside the `sync_notify` of `name`'s Create event: a
/// stream that is not read holds every `sync_notify` (the Forwarder, added
/// first, has passed the event to the test process by then). Returns the
/// stream: reading or dropping it releases the manager.
async fn block_manager_on_create(
    s: &Setup,
    inbox: &mut Mailbox<'_>,
    name: &str,
) -> EventStream<TodoEvent> {
    let stream = s.event.stream(StreamOpts::default()).await.unwrap();
    s.manager.create(name);
    match inbox.next_event().await {
        TodoEvent::Create { name: n, .. } if n == name => stream,
        other => panic!("unexpected {other:?}"),
    }
}

/// A list that exists is found without a message: the lookup answers
/// while the manager is blocked, also through a handle found by name
/// (which asked the manager once and reads the table since).
#[tokio::test]
async fn lookup_of_a_known_list_does_not_wait_for_the_manager() {
    scope(|mut me: Ctx<TodoEvent>| async move {
        let sup = ListSupervisor::start_link(None).await.unwrap();
        let event = EventManager::<TodoEvent>::start().await.unwrap();
        let manager = TodoManager::start_link(sup.clone(), event.clone(), Some("table_manager"))
            .await
            .unwrap();
        forward_to_me(&event, &me).await;
        let s = Setup {
            manager,
            event,
            sup,
        };
        let by_name = TodoManager::whereis("table_manager").unwrap();
        s.manager.create("a");
        let a = by_name.lookup("a").await.unwrap().unwrap();
        let mut inbox = Mailbox::new(&mut me);
        assert!(matches!(inbox.next_event().await, TodoEvent::Create { name, .. } if name == "a"));

        let mut stream = block_manager_on_create(&s, &mut inbox, "b").await;
        // A lookup by message would now wait 5 s and fail with a timeout.
        assert_eq!(s.manager.lookup("a").await, Ok(Some(a.clone())));
        assert_eq!(by_name.lookup("a").await, Ok(Some(a)));
        // b is not in the table before its Create is published: the lookup
        // asks the (blocked) manager.
        {
            let lookup_b = s.manager.lookup("b");
            futures::pin_mut!(lookup_b);
            assert!(futures::poll!(lookup_b.as_mut()).is_pending());
        }

        let Some(Ok(TodoEvent::Create { name, list: b })) = stream.next().await else {
            panic!("no Create event on the stream");
        };
        assert_eq!(name, "b");
        drop(stream);
        assert_eq!(s.manager.lookup("b").await, Ok(Some(b)));
        on_exit(&me, s).await;
    })
    .await
    .unwrap();
}

/// A list whose exit the caller has seen is not returned from the table
/// while the manager has yet to handle its `Down`: the lookup asks the
/// manager, which handles the `Down` first (queued before the exit was
/// published).
#[tokio::test]
async fn lookup_after_seeing_the_exit_answers_none_even_before_the_manager_ran() {
    scope(|mut me: Ctx<TodoEvent>| async move {
        let s = setup(&me).await;
        s.manager.create("a");
        let a = s.manager.lookup("a").await.unwrap().unwrap();
        let mut inbox = Mailbox::new(&mut me);
        assert!(matches!(inbox.next_event().await, TodoEvent::Create { name, .. } if name == "a"));
        let mut stream = block_manager_on_create(&s, &mut inbox, "b").await;

        exit(a.pid(), ExitReason::Shutdown);
        assert_eq!(a.wait().await, ExitReason::Shutdown);
        let release = async {
            // The Create of b, then the Exit of a, once the manager got to
            // a's Down; dropping the stream releases that publication.
            let mut events = Vec::new();
            for _ in 0..2 {
                match stream.next().await {
                    Some(Ok(TodoEvent::Create { name, .. })) => {
                        events.push(format!("create {name}"))
                    }
                    Some(Ok(TodoEvent::Exit { name, .. })) => events.push(format!("exit {name}")),
                    other => panic!("unexpected {other:?}"),
                }
            }
            drop(stream);
            events
        };
        let (found, events) = tokio::join!(s.manager.lookup("a"), release);
        assert_eq!(found, Ok(None));
        assert_eq!(events, ["create b", "exit a"]);
        on_exit(&me, s).await;
    })
    .await
    .unwrap();
}

/// A dead manager answers no lookup, not even of a list in its table.
#[tokio::test]
async fn lookup_through_a_dead_manager_fails() {
    scope(|me: Ctx<TodoEvent>| async move {
        let s = setup(&me).await;
        s.manager.create("a");
        assert!(s.manager.lookup("a").await.unwrap().is_some());
        let manager = s.manager.clone();
        on_exit(&me, s).await;
        assert_eq!(manager.lookup("a").await, Err(CallError::NoProcess));
    })
    .await
    .unwrap();
}
