//! The nested tree's rationale (the chapter's section 5.2 argument), as
//! tests: what restarts when each part crashes, and what survives.
//!
//! Synchronisation: after observing a death with `wait()`, the next request
//! to the supervisor is answered after that death was handled (the exit
//! signal was queued before `wait()` returned).

mod support;

use arbor_genevent::{Forwarder, HandlerId};
use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Pid, kill, scope, wait_exit};
use arbor_supervisor::TreeNode;
use arbor_todo::{RESTART_INTENSITY, TodoApp, TodoEvent, TodoList, TreeNames};
use support::{Mailbox, forward_to_me};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pids {
    event_manager: Pid,
    inner: Pid,
    list_sup: Pid,
    manager: Pid,
}

fn pids(app: &TodoApp) -> Pids {
    Pids {
        event_manager: app.event_manager().unwrap().pid(),
        inner: app.inner().unwrap().pid(),
        list_sup: app.list_supervisor().unwrap().pid(),
        manager: app.manager().unwrap().pid(),
    }
}

fn restarts(tree: &TreeNode, id: Option<&str>) -> usize {
    let node = match id {
        None => tree,
        Some(id) => tree.find(id).unwrap(),
    };
    node.restarts_in_window.unwrap()
}

/// Starts a tree under unique names, adds a Forwarder owned by the test
/// process and creates "shopping"; returns the app and the list.
async fn start(prefix: &str, inbox: &mut Mailbox<'_>) -> (TodoApp, TodoList) {
    let app = TodoApp::start(TreeNames::prefixed(prefix)).await.unwrap();
    forward_to_me(&app.event_manager().unwrap(), inbox.me).await;
    app.create("shopping").unwrap();
    let TodoEvent::Create { name, list } = inbox.next_event().await else {
        panic!("expected a create event")
    };
    assert_eq!(name, "shopping");
    list.put("milk").await.unwrap();
    (app, list)
}

/// Kills `pid`, waits for its death, then syncs with `sup`'s mailbox.
async fn kill_and_sync(pid: Pid, sup: &arbor_supervisor::SupervisorRef) {
    kill(pid);
    assert_eq!(wait_exit(pid).await, ExitReason::Killed);
    sup.which_children().await.unwrap();
}

/// The event manager dies: only it restarts (root is one_for_one). The
/// lists, the list supervisor and the todo manager keep running; the new
/// event manager starts without handlers, and the todo manager publishes
/// to it because it looks the event manager up by name.
#[tokio::test]
async fn event_manager_crash_restarts_only_the_event_manager() {
    scope(|mut me: Ctx<TodoEvent>| async move {
        let mut inbox = Mailbox::new(&mut me);
        let (app, list) = start("t_em_", &mut inbox).await;
        let before = pids(&app);
        kill_and_sync(before.event_manager, &app.root().unwrap()).await;

        let after = pids(&app);
        assert_ne!(after.event_manager, before.event_manager);
        assert_eq!(
            (after.inner, after.list_sup, after.manager),
            (before.inner, before.list_sup, before.manager)
        );
        assert_eq!(list.get().await.unwrap(), ["milk"]);
        assert_eq!(app.lookup("shopping").await.unwrap(), Some(list));
        let events = app.event_manager().unwrap();
        assert_eq!(
            events.which_handlers().await.unwrap(),
            [],
            "handlers are lost"
        );
        let tree = app.tree().await.unwrap();
        assert_eq!(restarts(&tree, None), 1);
        assert_eq!(restarts(&tree, Some("inner")), 0);

        forward_to_me(&events, inbox.me).await;
        app.create("work").unwrap();
        assert!(
            matches!(inbox.next_event().await, TodoEvent::Create { name, .. } if name == "work")
        );
        app.stop().await.unwrap();
    })
    .await
    .unwrap();
}

/// The todo manager dies: the inner one_for_all restarts it together with
/// the list supervisor (the lists are gone, their names forgotten). The
/// event manager is untouched: same process, same handlers, and no event
/// about the lists (the old manager was dead when they were stopped).
#[tokio::test]
async fn todo_manager_crash_restarts_the_inner_pair_only() {
    scope(|mut me: Ctx<TodoEvent>| async move {
        let mut inbox = Mailbox::new(&mut me);
        let (app, list) = start("t_mgr_", &mut inbox).await;
        let before = pids(&app);
        let handlers = app.event_manager().unwrap().which_handlers().await.unwrap();
        kill_and_sync(before.manager, &app.inner().unwrap()).await;

        let after = pids(&app);
        assert_eq!(after.event_manager, before.event_manager);
        assert_eq!(after.inner, before.inner);
        assert_ne!(after.manager, before.manager);
        assert_ne!(after.list_sup, before.list_sup);
        assert_eq!(list.wait().await, ExitReason::Shutdown);
        assert_eq!(app.lookup("shopping").await.unwrap(), None);
        assert_eq!(app.list_names().await.unwrap(), Vec::<String>::new());

        let events = app.event_manager().unwrap();
        assert_eq!(events.which_handlers().await.unwrap(), handlers);
        // which_handlers ran after every earlier event was forwarded.
        assert_eq!(inbox.received(), None);
        let tree = app.tree().await.unwrap();
        assert_eq!(restarts(&tree, None), 0, "the root saw nothing");
        assert_eq!(restarts(&tree, Some("inner")), 1);

        app.create("shopping").unwrap();
        assert!(
            matches!(inbox.next_event().await, TodoEvent::Create { name, .. } if name == "shopping")
        );
        app.stop().await.unwrap();
    })
    .await
    .unwrap();
}

/// The list supervisor dies: the inner pair restarts (the manager's lists
/// would all be dead anyway). The event manager keeps its handlers.
#[tokio::test]
async fn list_supervisor_crash_restarts_the_inner_pair() {
    scope(|mut me: Ctx<TodoEvent>| async move {
        let mut inbox = Mailbox::new(&mut me);
        let (app, list) = start("t_ls_", &mut inbox).await;
        let before = pids(&app);
        kill_and_sync(before.list_sup, &app.inner().unwrap()).await;

        let after = pids(&app);
        assert_eq!(after.event_manager, before.event_manager);
        assert_eq!(after.inner, before.inner);
        assert_ne!(after.manager, before.manager);
        assert_ne!(after.list_sup, before.list_sup);
        assert_eq!(list.wait().await, ExitReason::Killed);
        assert_eq!(app.lookup("shopping").await.unwrap(), None);
        let events = app.event_manager().unwrap();
        assert_eq!(
            events.which_handlers().await.unwrap(),
            [HandlerId::of::<Forwarder<TodoEvent>>()]
        );
        // The old manager may or may not have published the list's exit
        // before it was stopped; nothing else can have arrived.
        while let Some(event) = inbox.received() {
            assert!(matches!(event, TodoEvent::Exit { name, .. } if name == "shopping"));
        }
        app.stop().await.unwrap();
    })
    .await
    .unwrap();
}

/// More than RESTART_INTENSITY crashes of the todo manager within the
/// period: the inner supervisor gives up (exits `shutdown`) and the root
/// restarts it, fresh. The event manager is untouched throughout.
#[tokio::test(start_paused = true)]
async fn inner_intensity_escalates_to_the_root() {
    scope(|mut me: Ctx<TodoEvent>| async move {
        let mut inbox = Mailbox::new(&mut me);
        let (app, _list) = start("t_esc_", &mut inbox).await;
        let before = pids(&app);
        let inner = app.inner().unwrap();
        for n in 1..=RESTART_INTENSITY as usize {
            kill_and_sync(app.manager().unwrap().pid(), &inner).await;
            assert_eq!(app.inner().unwrap().pid(), before.inner);
            assert_eq!(restarts(&app.tree().await.unwrap(), Some("inner")), n);
        }
        kill(app.manager().unwrap().pid());
        assert_eq!(inner.wait().await, ExitReason::Shutdown);
        let root = app.root().unwrap();
        root.which_children().await.unwrap();

        let after = pids(&app);
        assert_ne!(after.inner, before.inner);
        assert_eq!(after.event_manager, before.event_manager);
        let tree = app.tree().await.unwrap();
        assert_eq!(restarts(&tree, None), 1);
        assert_eq!(
            restarts(&tree, Some("inner")),
            0,
            "a fresh inner supervisor"
        );
        app.create("again").unwrap();
        assert!(app.lookup("again").await.unwrap().is_some());
        app.stop().await.unwrap();
    })
    .await
    .unwrap();
}
