//! The JSON endpoints, the live feed and the kill endpoint, over real
//! HTTP on loopback (docs/observer.md).

mod support;

use std::time::Duration;

use arbor_genevent::EventManager;
use arbor_observer::{Observer, ServeError};
use arbor_process::{Agent, ExitReason, Pid, Process, StartOpts, wait_exit};
use arbor_supervisor::{ChildSpec, Supervisor, SupervisorRef};
use serde_json::Value;
use support::{Feed, get, post, request};

async fn two_workers() -> SupervisorRef {
    Supervisor::one_for_one()
        .intensity(5)
        .child(ChildSpec::worker("a", || Agent::start_link(|| 0u32)))
        .child(ChildSpec::worker("b", || Agent::start_link(|| 0u32)))
        .start()
        .await
        .unwrap()
}

fn child<'a>(trees: &'a Value, id: &str) -> &'a Value {
    trees["trees"][0]["root"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no child {id} in {trees}"))
}

fn pid_of(v: &Value) -> Pid {
    v["pid"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn trees_endpoint_shows_each_process_with_pid_state_restart_type_and_window() {
    let sup = two_workers().await;
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let addr = obs.local_addr();
    assert!(addr.ip().is_loopback());
    let reply = get(addr, "/api/trees").await;
    assert_eq!(reply.status, 200);
    let trees = reply.json();
    let root = &trees["trees"][0]["root"];
    assert_eq!(trees["trees"][0]["label"], "demo");
    assert_eq!(root["key"], "demo");
    assert_eq!(root["pid"], sup.pid().to_string());
    assert_eq!(root["strategy"], "one_for_one");
    assert_eq!(
        (
            &root["restarts_in_window"],
            &root["intensity"],
            &root["period_ms"]
        ),
        (&Value::from(0), &Value::from(5), &Value::from(5000))
    );
    let a = child(&trees, "a");
    assert_eq!(a["key"], "demo/a");
    assert_eq!(a["state"], "running");
    assert_eq!(a["kind"], "worker");
    assert_eq!(a["restart"], "permanent");
    let a_pid = pid_of(a);
    let which = sup.which_child("a").await.unwrap().state.pid().unwrap();
    assert_eq!(a_pid, which);

    // The first sample put a start of every node on the timeline.
    let tl = get(addr, "/api/timeline").await.json();
    let kinds: Vec<(&str, &str)> = tl["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["key"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("start", "demo"), ("start", "demo/b"), ("start", "demo/a")]
    );
    assert_eq!(
        get(addr, "/api/timeline?since=2").await.json()["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let page = get(addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<title>arbor observer</title>"));

    obs.stop().await;
    sup.stop().await.unwrap();
}

#[tokio::test]
async fn kill_is_forbidden_unless_the_application_enables_it() {
    let sup = two_workers().await;
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let a = sup.which_child("a").await.unwrap().state.pid().unwrap();
    let reply = post(
        obs.local_addr(),
        "/api/kill",
        &format!(r#"{{"pid":"{a}"}}"#),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert!(
        reply.json()["error"].as_str().unwrap().contains("disabled"),
        "{}",
        reply.body
    );
    assert!(arbor_process::is_alive(a));
    obs.stop().await;
    sup.stop().await.unwrap();
}

#[tokio::test]
async fn killed_child_shows_its_exit_then_its_restart_with_the_new_pid() {
    let sup = two_workers().await;
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .allow_kill()
        .sample_every(Duration::from_secs(3600))
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let addr = obs.local_addr();
    let mut feed = Feed::open(addr).await;
    let (event, hello) = feed.next().await.unwrap();
    assert_eq!(event, "hello");
    assert_eq!(hello["kill_enabled"], true);
    let a = sup.which_child("a").await.unwrap().state.pid().unwrap();

    let reply = post(addr, "/api/kill", &format!(r#"{{"pid":"{a}"}}"#)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["reason"], "kill");
    assert_eq!(wait_exit(a).await, ExitReason::NoProc);

    // No periodic sample for an hour: the exit itself woke the sampler.
    let exit = feed.until(|e| e["kind"] == "exit").await;
    assert_eq!(
        (exit["key"].as_str(), exit["pid"].as_str()),
        (Some("demo/a"), Some(a.to_string().as_str()))
    );
    assert_eq!(exit["reason"], "killed");
    let restart = feed.until(|e| e["kind"] == "restart").await;
    assert!(restart["seq"].as_u64() > exit["seq"].as_u64(), "exit first");
    assert_eq!(restart["old_pid"], a.to_string());
    let new = sup.which_child("a").await.unwrap().state.pid().unwrap();
    assert_eq!(restart["pid"], new.to_string());
    assert_ne!(new, a);

    let trees = get(addr, "/api/trees").await.json();
    assert_eq!(pid_of(child(&trees, "a")), new);
    assert_eq!(trees["trees"][0]["root"]["restarts_in_window"], 1);
    let detail = get(addr, &format!("/api/process/{}", a.id())).await.json();
    assert_eq!(
        (detail["alive"].as_bool(), detail["exit_reason"].as_str()),
        (Some(false), Some("killed"))
    );
    let detail = get(addr, &format!("/api/process/{}", new.id()))
        .await
        .json();
    assert_eq!(detail["last_exit_reason"], "killed");
    assert_eq!(detail["links"], serde_json::json!([sup.pid().to_string()]));
    assert_eq!(
        get(addr, "/api/stats").await.json()["totals"]["restarts"],
        1
    );

    // A custom reason is sent as it is.
    let reply = post(
        addr,
        "/api/kill",
        &format!(r#"{{"pid":"{new}","reason":"boom"}}"#),
    )
    .await;
    assert_eq!(reply.status, 200);
    let exit = feed
        .until(|e| e["kind"] == "exit" && e["pid"] == new.to_string())
        .await;
    assert_eq!(exit["reason"], "boom");

    obs.stop().await;
    sup.stop().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_a_4xx_with_a_reason() {
    let sup = two_workers().await;
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .allow_kill()
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let addr = obs.local_addr();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "GET",
            "/api/process/999999999",
            vec![],
            404,
            "unknown pid <0.999999999>",
        ),
        (
            "GET",
            "/api/process/%3C0.999999999%3E",
            vec![],
            404,
            "unknown pid",
        ),
        ("GET", "/api/process/nope", vec![], 400, "not a pid"),
        ("GET", "/api/timeline?since=x", vec![], 400, "since"),
        ("GET", "/api/nothing", vec![], 404, "no such endpoint"),
        (
            "POST",
            "/api/kill",
            br#"{"pid":"<0.999999999>"}"#.to_vec(),
            404,
            "not a running process of an observed tree",
        ),
        (
            "POST",
            "/api/kill",
            br#"{"pid":"x"}"#.to_vec(),
            400,
            "not a pid",
        ),
        (
            "POST",
            "/api/kill",
            b"{not json".to_vec(),
            400,
            "malformed JSON",
        ),
        (
            "POST",
            "/api/kill",
            br#"{"pid":"<0.1>","extra":1}"#.to_vec(),
            400,
            "unknown field",
        ),
        (
            "POST",
            "/api/kill",
            br#"{"pid":"<0.1>","reason":""}"#.to_vec(),
            400,
            "empty exit reason",
        ),
        (
            "POST",
            "/api/kill",
            vec![b' '; arbor_observer::MAX_BODY + 1],
            413,
            "length limit",
        ),
    ];
    for (method, path, body, status, reason) in cases {
        let reply = request(addr, method, path, &body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        let error = reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            error.contains(reason),
            "{method} {path}: {error:?} lacks {reason:?}"
        );
    }
    // Only JSON: a cross-site form (text/plain, no preflight) cannot kill.
    let a = sup.which_child("a").await.unwrap().state.pid().unwrap();
    let body = format!(r#"{{"pid":"{a}"}}"#);
    for ct in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let reply = support::request_typed(addr, "POST", "/api/kill", ct, body.as_bytes()).await;
        assert_eq!(reply.status, 415, "{ct:?}: {}", reply.body);
        assert!(
            reply.json()["error"]
                .as_str()
                .unwrap()
                .contains("application/json")
        );
    }
    assert!(arbor_process::is_alive(a));
    // A process outside the trees is shown but cannot be killed.
    let outsider = Agent::start(|| 0u32).await.unwrap();
    let reply = get(addr, &format!("/api/process/{}", outsider.pid().id())).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["tree"], Value::Null);
    let reply = post(
        addr,
        "/api/kill",
        &format!(r#"{{"pid":"{}"}}"#, outsider.pid()),
    )
    .await;
    assert_eq!(reply.status, 404);
    assert!(outsider.is_alive());
    outsider.stop().await.unwrap();
    obs.stop().await;
    sup.stop().await.unwrap();
}

#[tokio::test]
async fn a_non_loopback_address_is_refused_unless_allowed() {
    let sup = two_workers().await;
    let err = Observer::builder()
        .tree("demo", sup.clone())
        .serve("0.0.0.0:0")
        .await
        .unwrap_err();
    assert!(matches!(err, ServeError::NotLoopback(_)), "{err}");
    assert!(err.to_string().contains("allow_non_loopback"));
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .allow_non_loopback()
        .serve("0.0.0.0:0")
        .await
        .unwrap();
    assert!(obs.local_addr().ip().is_unspecified());
    obs.stop().await;
    sup.stop().await.unwrap();
}

#[tokio::test]
async fn event_managers_named_to_the_observer_are_counted_per_second() {
    let sup = two_workers().await;
    let mgr = EventManager::<u32>::start_opts(StartOpts::new().name("api_rs_events"))
        .await
        .unwrap();
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .event_manager::<u32>("api_rs_events")
        .sample_every(Duration::from_millis(20))
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let handlers = mgr.which_handlers().await.unwrap();
    assert_eq!(
        handlers.len(),
        1,
        "the counting handler is installed: {handlers:?}"
    );
    for n in 0..10 {
        mgr.sync_notify(n).await.unwrap();
    }
    let mut feed = Feed::open(obs.local_addr()).await;
    loop {
        let (event, data) = feed.next().await.unwrap();
        if event == "point" && data["point"]["events_per_s"].as_f64().unwrap() > 0.0 {
            println!("events_per_s = {}", data["point"]["events_per_s"]);
            break;
        }
    }
    obs.stop().await;
    assert!(
        mgr.which_handlers().await.unwrap().is_empty(),
        "removed on stop"
    );
    mgr.stop().await.unwrap();
    sup.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_open_feeds_and_leaves_no_task_behind() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let sup = two_workers().await;
    let tasks = metrics.num_alive_tasks();
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .sample_every(Duration::from_millis(10))
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let addr = obs.local_addr();
    let mut feed = Feed::open(addr).await;
    assert_eq!(feed.next().await.unwrap().0, "hello");
    let stats = get(addr, "/api/stats").await.json();
    assert_eq!(stats["totals"]["clients"], 1);
    assert!(metrics.num_alive_tasks() > tasks);
    obs.stop().await;
    // The open feed was ended by the server, not by the client.
    while let Some((event, _)) = feed.next().await {
        assert_ne!(event, "hello");
    }
    // A finished task leaves the runtime's count just after its JoinHandle
    // is woken: wait (bounded) for the count to settle.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while metrics.num_alive_tasks() != tasks && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(metrics.num_alive_tasks(), tasks, "no task left");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed"
    );
    sup.stop().await.unwrap();
}

#[tokio::test]
async fn a_vanished_page_is_forgotten_and_blocks_nothing() {
    let sup = two_workers().await;
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .allow_kill()
        .client_buffer(2)
        .sample_every(Duration::from_millis(10))
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let addr = obs.local_addr();
    let mut gone = Feed::open(addr).await;
    assert_eq!(gone.next().await.unwrap().0, "hello");
    let mut watcher = Feed::open(addr).await;
    drop(gone);
    // Crashes go on being observed while the vanished page's stream is
    // dropped (the server notices on its next write).
    for _ in 0..3 {
        let a = sup.which_child("a").await.unwrap().state.pid().unwrap();
        assert_eq!(
            post(addr, "/api/kill", &format!(r#"{{"pid":"{a}"}}"#))
                .await
                .status,
            200
        );
        watcher
            .until(|e| e["kind"] == "restart" && e["old_pid"] == a.to_string())
            .await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let clients = get(addr, "/api/stats").await.json()["totals"]["clients"].clone();
        if clients == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "clients: {clients}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    obs.stop().await;
    sup.stop().await.unwrap();
}

/// A supervisor busy in a start function cannot answer its snapshot: the
/// page keeps its last view (not "not running") and the timeline gets no
/// invented exits or starts.
#[tokio::test]
async fn a_busy_tree_keeps_its_last_view_and_reports_no_change() {
    use std::sync::{Arc, Mutex};
    use tokio::sync::oneshot;
    let sup = two_workers().await;
    let obs = Observer::builder()
        .tree("demo", sup.clone())
        .sample_every(Duration::from_millis(20))
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let addr = obs.local_addr();
    let (entered_tx, entered) = oneshot::channel::<()>();
    let (open, gate) = oneshot::channel::<()>();
    let hooks = Arc::new(Mutex::new(Some((entered_tx, gate))));
    let spec = ChildSpec::worker_with("slow", hooks, |hooks| async move {
        let taken = hooks.lock().unwrap().take();
        if let Some((entered, gate)) = taken {
            let _ = entered.send(());
            let _ = gate.await;
        }
        Agent::start_link(|| 0u32).await
    });
    let s = sup.clone();
    let starting = tokio::spawn(async move { s.start_child(spec).await });
    entered.await.unwrap();
    let busy_since = std::time::Instant::now();
    let mut feed = Feed::open(addr).await;
    // Points keep coming while the tree is busy; wait until a snapshot
    // request has timed out (1 s) and a later sample was taken.
    while busy_since.elapsed() < Duration::from_millis(1300) {
        let (event, _) = feed.next().await.unwrap();
        assert_ne!(event, "timeline", "no change is reported while busy");
    }
    let trees = get(addr, "/api/trees").await.json();
    assert_eq!(child(&trees, "a")["state"], "running", "{trees}");
    assert_eq!(
        get(addr, "/api/timeline").await.json()["events"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    open.send(()).unwrap();
    starting.await.unwrap().unwrap();
    let started = feed.until(|e| e["kind"] == "start").await;
    assert_eq!(started["key"], "demo/slow");
    println!("busy for {:?}", busy_since.elapsed());
    obs.stop().await;
    sup.stop().await.unwrap();
}
