//! A shut-down todo server leaves no process, task or name behind, after
//! command connections, an event stream, a killed connection and clients
//! that vanished. One test in this binary: it counts every live process
//! and task.

use std::time::Duration;

use arbor_process::{kill, process_count, registered, wait_exit};
use arbor_supervisor::SupervisorRef;
use arbor_todo::{TodoApp, TodoServer, TreeNames};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Only a guard against a hung test, never a synchronisation.
const HANG_GUARD: Duration = Duration::from_secs(10);

async fn request(client: &mut BufReader<TcpStream>, line: &str) -> String {
    client
        .get_mut()
        .write_all(format!("{line}\n").as_bytes())
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::time::timeout(HANG_GUARD, client.read_line(&mut reply))
        .await
        .expect("hang guard")
        .unwrap();
    reply
}

async fn connect(server: &TodoServer) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(server.local_addr()).await.unwrap())
}

#[tokio::test]
async fn a_shut_down_server_leaves_no_process_task_or_name_behind() {
    let baseline = process_count();
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline_tasks = metrics.num_alive_tasks();
    let names_before = registered();
    let app = TodoApp::start(TreeNames::prefixed("srv_leak_"))
        .await
        .unwrap();
    let with_app = process_count();
    let server = TodoServer::bind(&app, "127.0.0.1:0").await.unwrap();

    let mut events = connect(&server).await;
    assert_eq!(request(&mut events, "EVENTS").await, "OK\n");
    let mut clients = Vec::new();
    for i in 0..10 {
        let mut c = connect(&server).await;
        assert_eq!(request(&mut c, &format!("CREATE l{i}")).await, "OK\n");
        clients.push(c);
    }
    // One client vanishes with a partial line, one connection is killed.
    let mut gone = clients.pop().unwrap();
    gone.get_mut().write_all(b"PUT l0 half").await.unwrap();
    drop(gone);
    let info = server
        .supervisor()
        .which_child("connections")
        .await
        .unwrap();
    let conns = SupervisorRef::from_pid(info.state.pid().unwrap()).unwrap();
    let victim = conns.which_children().await.unwrap()[0]
        .state
        .pid()
        .unwrap();
    kill(victim);
    wait_exit(victim).await;
    assert!(server.connection_count().await.unwrap() > 0);

    server.shutdown().await;
    // Only the todo tree and its 10 lists are left.
    assert_eq!(process_count(), with_app + 10);
    app.stop().await.unwrap();
    assert_eq!(process_count(), baseline);
    // A process's task ends right after its exit processing; let the last
    // ones return (bounded, no sleeping).
    for _ in 0..10_000 {
        if metrics.num_alive_tasks() <= baseline_tasks {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        metrics.num_alive_tasks(),
        baseline_tasks,
        "no task left behind"
    );
    assert_eq!(registered(), names_before);
}
