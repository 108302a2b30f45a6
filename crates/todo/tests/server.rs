//! The todo service over real TCP on 127.0.0.1 (ephemeral ports): every
//! command's reply lines, every error line, bad input, disconnects, event
//! streams, restarts of the todo tree, concurrent clients and shutdown.
//!
//! Synchronisation: replies, event lines, `wait_exit` on processes and
//! supervisor round trips. Reads carry a timeout only as a hang guard.

use std::net::SocketAddr;
use std::time::Duration;

use arbor_process::Process;
use arbor_process::{Pid, kill, wait_exit};
use arbor_supervisor::SupervisorRef;
use arbor_todo::{TodoApp, TodoServer, TreeNames};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Only a guard against a hung test, never a synchronisation.
const HANG_GUARD: Duration = Duration::from_secs(10);

async fn start(prefix: &str) -> (TodoApp, TodoServer) {
    let app = TodoApp::start(TreeNames::prefixed(prefix)).await.unwrap();
    let server = TodoServer::bind(&app, "127.0.0.1:0").await.unwrap();
    (app, server)
}

async fn stop(app: TodoApp, server: TodoServer) {
    server.shutdown().await;
    app.stop().await.unwrap();
}

struct Client {
    lines: Lines<BufReader<OwnedReadHalf>>,
    wr: OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let (rd, wr) = TcpStream::connect(addr).await.unwrap().into_split();
        Client {
            lines: BufReader::new(rd).lines(),
            wr,
        }
    }

    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.wr.write_all(bytes.as_ref()).await.unwrap();
    }

    async fn line(&mut self) -> String {
        tokio::time::timeout(HANG_GUARD, self.lines.next_line())
            .await
            .expect("hang guard: no reply line")
            .unwrap()
            .expect("the server closed the connection")
    }

    /// Sends one request line and reads its reply up to `OK` or `ERR ..`.
    async fn request(&mut self, line: &str) -> Vec<String> {
        self.send(format!("{line}\n")).await;
        self.reply().await
    }

    async fn reply(&mut self) -> Vec<String> {
        let mut reply = Vec::new();
        loop {
            let line = self.line().await;
            let last = line == "OK" || line.starts_with("ERR ");
            reply.push(line);
            if last {
                return reply;
            }
        }
    }

    /// True if the server closed the connection (end of input or reset).
    async fn closed(&mut self) -> bool {
        match tokio::time::timeout(HANG_GUARD, self.lines.next_line()).await {
            Ok(Ok(None)) | Ok(Err(_)) => true,
            Ok(Ok(Some(line))) => panic!("unexpected line {line:?}"),
            Err(_) => panic!("hang guard: connection still open"),
        }
    }
}

/// The pids of the server's open connections.
async fn connection_pids(server: &TodoServer) -> Vec<Pid> {
    let info = server
        .supervisor()
        .which_child("connections")
        .await
        .unwrap();
    let sup = SupervisorRef::from_pid(info.state.pid().unwrap()).unwrap();
    let children = sup.which_children().await.unwrap();
    children.iter().filter_map(|c| c.state.pid()).collect()
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn every_command_replies_with_its_documented_lines() {
    let (app, server) = start("srv_cmds_").await;
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("CREATE shopping").await, ["OK"]);
    assert_eq!(c.request("LIST shopping").await, ["OK"]);
    assert_eq!(c.request("PUT shopping milk").await, ["OK"]);
    assert_eq!(c.request("PUT shopping eggs").await, ["OK"]);
    assert_eq!(c.request("PUT shopping  oat milk, 2 l").await, ["OK"]);
    assert_eq!(
        c.request("LIST shopping").await,
        lines(&["* oat milk, 2 l", "* eggs", "* milk", "OK"])
    );
    assert_eq!(c.request("DELETE shopping eggs").await, ["OK"]);
    assert_eq!(
        c.request("LIST shopping").await,
        lines(&["* oat milk, 2 l", "* milk", "OK"])
    );
    // CREATE of an existing list keeps it; words are case-insensitive and
    // lines may end in \r\n.
    assert_eq!(c.request("create shopping\r").await, ["OK"]);
    assert_eq!(
        c.request("list shopping\r").await,
        lines(&["* oat milk, 2 l", "* milk", "OK"])
    );
    // The lists are the app's.
    let list = app.lookup("shopping").await.unwrap().unwrap();
    assert_eq!(list.get().await.unwrap(), ["oat milk, 2 l", "milk"]);
    stop(app, server).await;
}

#[tokio::test]
async fn every_error_has_a_clear_line_and_the_connection_stays() {
    let (app, server) = start("srv_errs_").await;
    let mut c = Client::connect(server.local_addr()).await;
    let cases = [
        ("", "ERR empty line"),
        ("FROB shopping", "ERR unknown command \"FROB\""),
        ("CREATE", "ERR missing argument (usage: CREATE <list>)"),
        ("CREATE a b", "ERR bad arguments (usage: CREATE <list>)"),
        ("PUT", "ERR missing argument (usage: PUT <list> <item>)"),
        (
            "PUT shopping",
            "ERR missing argument (usage: PUT <list> <item>)",
        ),
        ("LIST", "ERR missing argument (usage: LIST <list>)"),
        ("LIST a b", "ERR bad arguments (usage: LIST <list>)"),
        (
            "DELETE shopping",
            "ERR missing argument (usage: DELETE <list> <item>)",
        ),
        ("EVENTS please", "ERR bad arguments (usage: EVENTS)"),
        ("PUT nope milk", "ERR unknown list \"nope\""),
        ("LIST nope", "ERR unknown list \"nope\""),
        ("DELETE nope milk", "ERR unknown list \"nope\""),
    ];
    for (request, reply) in cases {
        assert_eq!(c.request(request).await, [reply], "request {request:?}");
    }
    assert_eq!(c.request("CREATE shopping").await, ["OK"]);
    assert_eq!(
        c.request("DELETE shopping eggs").await,
        ["ERR unknown item \"eggs\" in list \"shopping\""]
    );
    assert_eq!(c.request("LIST shopping").await, ["OK"]);
    stop(app, server).await;
}

#[tokio::test]
async fn an_oversized_line_gets_an_error_and_the_next_command_works() {
    let (app, server) = start("srv_long_").await;
    let mut c = Client::connect(server.local_addr()).await;
    // In one piece.
    c.send(format!("PUT a {}\nCREATE a\n", "x".repeat(5000)))
        .await;
    assert_eq!(c.reply().await, ["ERR line too long (max 4096 bytes)"]);
    assert_eq!(c.reply().await, ["OK"]);
    // In many pieces, far beyond the limit: one error, as soon as the limit
    // is passed, and the rest of the line is skipped.
    c.send("PUT a ").await;
    for _ in 0..64 {
        c.send("y".repeat(1024)).await;
    }
    assert_eq!(c.reply().await, ["ERR line too long (max 4096 bytes)"]);
    c.send("yyy\nPUT a milk\n").await;
    assert_eq!(c.reply().await, ["OK"]);
    // Exactly at the limit is fine.
    let item = "z".repeat(4096 - "PUT a ".len());
    assert_eq!(c.request(&format!("PUT a {item}")).await, ["OK"]);
    assert_eq!(
        c.request("LIST a").await,
        lines(&[&format!("* {item}"), "* milk", "OK"])
    );
    stop(app, server).await;
}

#[tokio::test]
async fn invalid_utf8_gets_an_error_and_the_next_command_works() {
    let (app, server) = start("srv_utf8_").await;
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("CREATE a").await, ["OK"]);
    c.send(b"PUT a \xff\xfe milk\n").await;
    assert_eq!(c.reply().await, ["ERR invalid UTF-8"]);
    assert_eq!(c.request("PUT a cr\u{e8}me").await, ["OK"]);
    assert_eq!(c.request("LIST a").await, lines(&["* cr\u{e8}me", "OK"]));
    stop(app, server).await;
}

#[tokio::test]
async fn a_client_vanishing_mid_command_loses_nothing() {
    let (app, server) = start("srv_vanish_").await;
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("CREATE a").await, ["OK"]);
    let [pid] = connection_pids(&server).await[..] else {
        panic!("one connection")
    };
    // Two complete lines whose replies are never read, then half a line.
    c.send("PUT a milk\nPUT a eggs\nPUT a bre").await;
    drop(c);
    wait_exit(pid).await;
    let mut other = Client::connect(server.local_addr()).await;
    assert_eq!(
        other.request("LIST a").await,
        lines(&["* eggs", "* milk", "OK"])
    );

    // The same with a reset instead of an orderly close.
    let before = connection_pids(&server).await;
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("PUT a tea").await, ["OK"]);
    let pid = connection_pids(&server)
        .await
        .into_iter()
        .find(|p| !before.contains(p))
        .unwrap();
    c.send("PUT a jam\nDELETE a mi").await;
    let stream = c.lines.into_inner().into_inner().reunite(c.wr).unwrap();
    #[allow(deprecated)] // linger 0 closes with a reset at once, no blocking
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);
    wait_exit(pid).await;
    assert_eq!(
        other.request("LIST a").await,
        lines(&["* jam", "* tea", "* eggs", "* milk", "OK"])
    );
    stop(app, server).await;
}

#[tokio::test]
async fn events_streams_create_and_exit_in_order() {
    let (app, server) = start("srv_events_").await;
    let mut events = Client::connect(server.local_addr()).await;
    assert_eq!(events.request("EVENTS").await, ["OK"]);
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("CREATE shopping").await, ["OK"]);
    assert_eq!(c.request("CREATE work").await, ["OK"]);
    assert_eq!(c.request("CREATE shopping").await, ["OK"]); // exists: no event
    assert_eq!(events.line().await, "EVENT create shopping");
    assert_eq!(events.line().await, "EVENT create work");
    let list = app.lookup("shopping").await.unwrap().unwrap();
    kill(list.pid());
    wait_exit(list.pid()).await;
    assert_eq!(events.line().await, "EVENT exit shopping");
    assert_eq!(
        c.request("LIST shopping").await,
        ["ERR unknown list \"shopping\""]
    );
    // After EVENTS the connection takes no commands.
    assert_eq!(
        events.request("LIST work").await,
        ["ERR events mode: commands are not accepted"]
    );
    assert_eq!(c.request("CREATE home").await, ["OK"]);
    assert_eq!(events.line().await, "EVENT create home");
    stop(app, server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_each_get_their_own_replies() {
    let (app, server) = start("srv_many_").await;
    let addr = server.local_addr();
    let mut c = Client::connect(addr).await;
    assert_eq!(c.request("CREATE shared").await, ["OK"]);
    let clients: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(async move {
                let mut c = Client::connect(addr).await;
                let own = format!("list{i}");
                assert_eq!(c.request(&format!("CREATE {own}")).await, ["OK"]);
                for n in 0..20 {
                    assert_eq!(c.request(&format!("PUT {own} item{n}")).await, ["OK"]);
                    assert_eq!(c.request(&format!("PUT shared {i}-{n}")).await, ["OK"]);
                }
                let mut expected: Vec<String> =
                    (0..20).rev().map(|n| format!("* item{n}")).collect();
                expected.push("OK".into());
                assert_eq!(c.request(&format!("LIST {own}")).await, expected);
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let mut shared = c.request("LIST shared").await;
    assert_eq!(shared.pop().as_deref(), Some("OK"));
    shared.sort();
    let mut expected: Vec<String> = (0..8)
        .flat_map(|i| (0..20).map(move |n| format!("* {i}-{n}")))
        .collect();
    expected.sort();
    assert_eq!(shared, expected);
    stop(app, server).await;
}

#[tokio::test]
async fn commands_reach_the_restarted_todo_manager() {
    let (app, server) = start("srv_restart_").await;
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("CREATE a").await, ["OK"]);
    assert_eq!(c.request("PUT a milk").await, ["OK"]);
    let manager = app.manager().unwrap().pid();
    kill(manager);
    wait_exit(manager).await;
    // Answered after the inner supervisor restarted the pair.
    app.inner().unwrap().which_children().await.unwrap();
    // The lists died with the manager (one_for_all); the same connection
    // goes on with the new manager.
    assert_eq!(c.request("LIST a").await, ["ERR unknown list \"a\""]);
    assert_eq!(c.request("CREATE a").await, ["OK"]);
    assert_eq!(c.request("PUT a eggs").await, ["OK"]);
    assert_eq!(c.request("LIST a").await, lines(&["* eggs", "OK"]));
    stop(app, server).await;
}

#[tokio::test]
async fn a_stopped_tree_gives_unavailable_and_a_new_one_is_found() {
    let names = TreeNames::prefixed("srv_down_");
    let app = TodoApp::start(names.clone()).await.unwrap();
    let server = TodoServer::bind(&app, "127.0.0.1:0").await.unwrap();
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("CREATE a").await, ["OK"]);
    app.stop().await.unwrap();
    let unavailable = "ERR unavailable: the todo service is restarting or stopped";
    for request in [
        "CREATE a",
        "PUT a milk",
        "LIST a",
        "DELETE a milk",
        "EVENTS",
    ] {
        assert_eq!(c.request(request).await, [unavailable], "{request}");
    }
    let app = TodoApp::start(names).await.unwrap();
    assert_eq!(c.request("CREATE a").await, ["OK"]);
    assert_eq!(c.request("LIST a").await, ["OK"]);
    stop(app, server).await;
}

#[tokio::test]
async fn a_crashed_connection_is_isolated() {
    let (app, server) = start("srv_crash_").await;
    let mut a = Client::connect(server.local_addr()).await;
    assert_eq!(a.request("CREATE a").await, ["OK"]);
    let [victim] = connection_pids(&server).await[..] else {
        panic!("one connection")
    };
    let mut b = Client::connect(server.local_addr()).await;
    assert_eq!(b.request("PUT a milk").await, ["OK"]);
    kill(victim);
    wait_exit(victim).await;
    assert!(a.closed().await);
    assert_eq!(b.request("LIST a").await, lines(&["* milk", "OK"]));
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("LIST a").await, lines(&["* milk", "OK"]));
    assert_eq!(server.connection_count().await.unwrap(), 2);
    stop(app, server).await;
}

#[tokio::test]
async fn shutdown_closes_every_connection_and_stops_accepting() {
    let (app, server) = start("srv_shutdown_").await;
    let addr = server.local_addr();
    let mut a = Client::connect(addr).await;
    assert_eq!(a.request("CREATE a").await, ["OK"]);
    let mut events = Client::connect(addr).await;
    assert_eq!(events.request("EVENTS").await, ["OK"]);
    let sup = server.supervisor().clone();
    server.shutdown().await;
    assert!(!sup.is_alive());
    assert!(a.closed().await);
    assert!(events.closed().await);
    // Nobody accepts any more: refused, or closed without a reply.
    if let Ok(mut late) = TcpStream::connect(addr).await {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(HANG_GUARD, late.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    }
    // The tree is untouched.
    assert!(app.lookup("a").await.unwrap().is_some());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn events_follow_a_restarted_event_manager() {
    let (app, server) = start("srv_em_").await;
    let mut events = Client::connect(server.local_addr()).await;
    assert_eq!(events.request("EVENTS").await, ["OK"]);
    let em = app.event_manager().unwrap().pid();
    kill(em);
    wait_exit(em).await;
    // The connection subscribes to the successor on its own; wait until it
    // did (polling the manager's handlers, bounded by the hang guard).
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            if let Ok(em) = app.event_manager()
                && em.which_handlers().await.is_ok_and(|h| !h.is_empty())
            {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("hang guard: no new subscription");
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("CREATE after").await, ["OK"]);
    assert_eq!(events.line().await, "EVENT create after");
    stop(app, server).await;
}

#[tokio::test]
async fn a_stopped_tree_ends_the_event_stream_and_commands_work_again() {
    let names = TreeNames::prefixed("srv_em_end_");
    let app = TodoApp::start(names.clone()).await.unwrap();
    let server = TodoServer::bind(&app, "127.0.0.1:0").await.unwrap();
    let mut events = Client::connect(server.local_addr()).await;
    assert_eq!(events.request("EVENTS").await, ["OK"]);
    app.stop().await.unwrap();
    assert_eq!(
        events.line().await,
        "ERR events ended: event manager stopped"
    );
    let app = TodoApp::start(names).await.unwrap();
    assert_eq!(events.request("CREATE a").await, ["OK"]);
    assert_eq!(events.request("EVENTS").await, ["OK"]);
    let mut c = Client::connect(server.local_addr()).await;
    assert_eq!(c.request("CREATE b").await, ["OK"]);
    assert_eq!(events.line().await, "EVENT create b");
    stop(app, server).await;
}

#[tokio::test]
async fn an_events_client_that_does_not_read_is_dropped_and_blocks_nobody() {
    let (app, server) = start("srv_slow_").await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let slow = socket.connect(server.local_addr()).await.unwrap();
    let (rd, wr) = slow.into_split();
    let mut slow = Client {
        lines: BufReader::new(rd).lines(),
        wr,
    };
    assert_eq!(slow.request("EVENTS").await, ["OK"]);
    let [pid] = connection_pids(&server).await[..] else {
        panic!("one connection")
    };
    // Each list makes a ~4 KiB event line the slow client never reads. The
    // manager publishes with sync_notify: were the connection to wait on
    // its socket, these CREATEs would time out.
    let mut c = Client::connect(server.local_addr()).await;
    let long = "n".repeat(4000);
    let mut created = 0;
    let conn = arbor_process::ProcessHandle::lookup(pid).unwrap();
    while conn.is_alive() {
        assert_eq!(c.request(&format!("CREATE {long}{created}")).await, ["OK"]);
        created += 1;
        assert!(created < 100_000, "the slow client was never dropped");
    }
    let reason = conn.wait().await;
    assert!(reason.is_normal(), "{reason:?}");
    assert!(created > arbor_todo::MAX_EVENT_BACKLOG / 4000);
    assert_eq!(app.list_names().await.unwrap().len(), created);
    assert_eq!(server.connection_count().await.unwrap(), 1);
    stop(app, server).await;
}

/// Compile-time: the handle and its futures can move between tasks.
#[test]
fn the_server_handle_and_its_futures_are_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<F: std::future::Future + Send>(_: F) {}
    fn shutdown_is_send(server: TodoServer) {
        send(server.shutdown());
    }
    send_sync::<TodoServer>();
    let app = TodoApp::client(TreeNames::prefixed("srv_send_"));
    send(TodoServer::bind(&app, "127.0.0.1:0"));
    let _ = shutdown_is_send;
}

#[tokio::test]
async fn a_client_that_half_closes_gets_every_reply_then_the_end() {
    let (app, server) = start("srv_half_").await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    // As `printf '...' | nc -N host port` does: everything, then end of input.
    stream
        .write_all(b"CREATE a\nPUT a milk\nLIST a\nLIST b\nPUT a half")
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    let mut replies = String::new();
    tokio::time::timeout(HANG_GUARD, stream.read_to_string(&mut replies))
        .await
        .expect("hang guard")
        .unwrap();
    assert_eq!(replies, "OK\nOK\n* milk\nOK\nERR unknown list \"b\"\n");
    stop(app, server).await;
}
