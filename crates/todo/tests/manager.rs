//! `Todo.Manager` (test/todo/manager_test.exs): the earlier chapters' tests
//! and the event-manager chapter's `sends events on create and crash`, with
//! its setup ported faithfully. Where the original waits 500 ms in
//! `assert_receive`, these wait for the event itself.

mod support;

use std::time::Duration;

use arbor_genevent::{EventManager, EventManagerRef, Forwarder, HandlerId};
use arbor_process::{Ctx, ExitReason, exit, scope, spawn};
use arbor_todo::{ListSupervisor, TodoEvent, TodoManager};
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
    exit(s.event.pid(), ExitReason::Shutdown);
    exit(s.sup.pid(), ExitReason::Shutdown);
    assert_eq!(s.event.wait().await, ExitReason::Shutdown);
    assert_eq!(s.sup.process().wait().await, ExitReason::Shutdown);
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
                l.stop(ExitReason::Normal, Duration::from_secs(5))
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
        list.stop(ExitReason::Normal, Duration::from_secs(5))
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
    sup.stop(ExitReason::Shutdown, Duration::MAX).await.unwrap();
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
    sup.stop(ExitReason::Shutdown, Duration::MAX).await.unwrap();
}
