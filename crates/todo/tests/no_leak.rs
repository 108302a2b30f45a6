//! A stopped todo tree leaves no process and no registered name behind,
//! after lists, crashes of every part and event streams. One test in this
//! binary: it counts every live process.

use arbor_process::Process;
use arbor_process::{ExitReason, kill, process_count, registered, wait_exit};
use arbor_todo::{TodoApp, TreeNames};
use futures::StreamExt;

#[tokio::test]
async fn a_stopped_todo_tree_leaves_no_process_or_name_behind() {
    let baseline = process_count();
    let names_before = registered();
    let app = TodoApp::start(TreeNames::prefixed("leak_")).await.unwrap();
    let mut events = app.subscribe().await.unwrap();
    let consumer = tokio::spawn(async move {
        let mut seen = 0;
        while let Some(Ok(_)) = events.next().await {
            seen += 1;
        }
        seen
    });
    for i in 0..100 {
        app.create(format!("list{i}")).unwrap();
    }
    let list = app.lookup("list7").await.unwrap().unwrap();
    kill(list.pid());
    wait_exit(list.pid()).await;
    // Answered after the manager handled the death and published Exit.
    assert_eq!(app.lookup("list7").await.unwrap(), None);
    // The todo manager crashes: the inner pair restarts, 99 lists stop.
    let manager = app.manager().unwrap().pid();
    kill(manager);
    wait_exit(manager).await;
    app.inner().unwrap().which_children().await.unwrap();
    app.create("after").unwrap();
    let after = app.lookup("after").await.unwrap();
    assert!(after.is_some());
    // The event manager crashes: the stream ends with an error.
    let em = app.event_manager().unwrap().pid();
    kill(em);
    assert_eq!(wait_exit(em).await, ExitReason::Killed);
    // 100 creates, list7's exit, "after"; nothing for the lists the inner
    // restart stopped (their manager was dead).
    assert_eq!(consumer.await.unwrap(), 102);
    assert!(process_count() > baseline);

    app.stop().await.unwrap();
    assert_eq!(process_count(), baseline);
    assert_eq!(registered(), names_before);
}
