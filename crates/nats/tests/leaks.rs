//! Stopping nodes leaves nothing behind: no process, no tokio task.
//! Alone in its test binary so that no other test's processes count.

mod common;

use std::time::Duration;

use arbor_nats::testkit::{Echo, EchoApi, EchoRequest, NatsServer};
use arbor_process::{Ctx, GenServer, Myself, Process, process_count, spawn};
use common::start_node;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_nodes_leave_no_process_and_no_task() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let metrics = tokio::runtime::Handle::current().metrics();
    let procs_before = process_count();
    let tasks_before = metrics.num_alive_tasks();
    let a = start_node(&server, "a", &[]).await;
    let b = start_node(&server, "b", &[&a]).await;
    let echo = Echo::default().start().await.unwrap();
    let gpid = b.export(&echo);
    let r = a.remote::<EchoApi>(gpid.clone());
    assert_eq!(
        r.call(EchoRequest::Echo("x".into())).await,
        Ok("x".to_owned())
    );
    // A monitor across nodes: a proxy on a, a watch on b.
    let proxy = a.proxy(&gpid).unwrap();
    let watcher = spawn(move |mut ctx: Ctx<()>| async move {
        ctx.monitor(proxy);
        ctx.recv().await;
        arbor_process::ExitReason::Normal
    });
    let mut monitor = a.monitor_node(b.name());
    b.stop().await;
    let _ = monitor.down().await;
    watcher.wait().await;
    a.stop().await;
    echo.stop().await.unwrap();
    // The NATS client's own tasks end with the last handle of the node
    // (a `Node` or a `RemoteRef`).
    drop((a, b, r));
    // Processes and tasks wind down after their exit is signalled.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (p, t) = (process_count(), metrics.num_alive_tasks());
        if (p, t) == (procs_before, tasks_before) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "left behind: {} processes, {} tasks",
            p as i64 - procs_before as i64,
            t as i64 - tasks_before as i64
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
