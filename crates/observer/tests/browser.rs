//! The observer page in a real browser: headless Chromium driven through
//! chromedriver (WebDriver). The page loads without console errors, shows
//! the todo tree, and after a process is killed through the API shows the
//! new pid and the restart in the timeline within 2 s. Screenshots of each
//! state go to `target/observer-screenshots/`.
//!
//! A second test shows a two-node cluster (feature `nats`, a real
//! nats-server): both nodes' trees grouped by node, the other node's
//! restart on the timeline, and the other node down after it stops.
//!
//! Needs `chromium` and `chromedriver` (Debian: `chromium`,
//! `chromium-driver`). Without them the test says so loudly and passes;
//! with `ARBOR_REQUIRE_SERVICES=1` (CI) it fails.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arbor_nats::testkit::NatsServer;
use arbor_nats::{Node, NodeId};
use arbor_observer::Observer;
use arbor_process::{Agent, ExitReason, Process};
use arbor_supervisor::{ChildSpec, Supervisor};
use arbor_todo::{TodoApp, TodoEvent, TreeNames};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];
const CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// The browser binaries, or `None` after saying loudly why the test is
/// skipped (a failure under `ARBOR_REQUIRE_SERVICES=1`).
fn browser() -> Option<(PathBuf, PathBuf)> {
    match (find(CHROMIUM), find(CHROMEDRIVER)) {
        (Some(c), Some(d)) => Some((c, d)),
        _ => {
            let msg =
                "chromium and/or chromedriver not found (apt-get install chromium chromium-driver)";
            if std::env::var("ARBOR_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("ARBOR_REQUIRE_SERVICES=1 and {msg}");
            }
            eprintln!("\n!!!!!!!! SKIPPED the observer browser test: {msg} !!!!!!!!\n");
            None
        }
    }
}

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop (Chromium's fresh profile).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start_driver(chromedriver: &Path) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let profile = std::env::temp_dir().join(format!(
        "arbor-observer-chromium-{}-{port}",
        std::process::id()
    ));
    std::fs::create_dir_all(&profile).unwrap();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        port,
        _profile: TempDir(profile),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    driver
}

async fn connect(driver: &Driver, chromium: &Path) -> Client {
    let profile = driver._profile.0.display();
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1400,900", format!("--user-data-dir={profile}"),
            ],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromium session")
}

/// chromedriver's browser log (console messages, failed loads), taken
/// and cleared.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

async fn console_errors(client: &Client) -> Vec<String> {
    let log = client.issue_cmd(BrowserLog).await.expect("browser log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("observer-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let path = screenshots().join(name);
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
}

/// Polls `check` until it gives a value or `limit` passes.
async fn within<T, F, Fut>(limit: Duration, what: &str, check: F) -> (T, Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return (v, start.elapsed());
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn text(client: &Client, css: &str) -> Option<String> {
    let el = client.find(Locator::Css(css)).await.ok()?;
    el.text().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_shows_the_todo_tree_and_a_restart_within_two_seconds() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let names = TreeNames::prefixed("browser_rs_");
    let app = TodoApp::start(names.clone()).await.unwrap();
    app.create("shopping").unwrap();
    app.lookup("shopping")
        .await
        .unwrap()
        .unwrap()
        .put("milk")
        .await
        .unwrap();
    let observer = Observer::builder()
        .tree("todo", app.root().unwrap())
        .event_manager::<TodoEvent>(names.event_manager.clone())
        .allow_kill()
        .serve("127.0.0.1:0")
        .await
        .unwrap();
    let driver = start_driver(&chromedriver).await;
    let client = connect(&driver, &chromium).await;

    // 1. The page loads and shows the tree, live.
    client.goto(&observer.url()).await.unwrap();
    let manager = app.manager().unwrap().pid().to_string();
    let row = "tr.node[data-key='todo/inner/todo_manager'] td.pid";
    let (shown, took) = within(Duration::from_secs(5), "the todo tree", || async {
        text(&client, row).await.filter(|t| !t.is_empty())
    })
    .await;
    println!("tree shown after {took:?}");
    assert_eq!(shown, manager);
    for key in [
        "todo",
        "todo/event_manager",
        "todo/inner",
        "todo/inner/list_sup",
    ] {
        let css = format!("tr.node[data-key='{key}']");
        assert!(
            client.find(Locator::Css(&css)).await.is_ok(),
            "{key} is shown"
        );
    }
    within(Duration::from_secs(2), "the feed is live", || async {
        text(&client, "#conn").await.filter(|t| t == "live")
    })
    .await;
    let root_window = text(&client, "tr.node[data-key='todo'] td:last-child")
        .await
        .unwrap();
    assert!(
        root_window.contains("0 / "),
        "restarts against the limit: {root_window:?}"
    );
    screenshot(&client, "1-tree.png").await;

    // 2. Clicking a process shows its links, monitors and mailbox.
    client
        .find(Locator::Css("tr.node[data-key='todo/inner/todo_manager']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let (detail, _) = within(Duration::from_secs(2), "the process detail", || async {
        text(&client, "#detail")
            .await
            .filter(|t| t.contains("mailbox length"))
    })
    .await;
    let inner = app.inner().unwrap().pid().to_string();
    assert!(
        detail.contains(&inner),
        "the manager is linked to the inner supervisor: {detail}"
    );
    assert!(detail.contains("monitors"), "{detail}");
    screenshot(&client, "2-detail.png").await;

    // 3. Killed through the API: the new pid and the restart within 2 s.
    let addr = observer.local_addr();
    let reply = support::post(addr, "/api/kill", &format!(r#"{{"pid":"{manager}"}}"#)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (new_pid, took) = within(
        Duration::from_secs(2),
        "the restart on the page",
        || async {
            let pid = text(&client, row).await?;
            let restarts = text(&client, "#events").await?;
            (pid != manager && pid != "–" && restarts.contains(&format!("was {manager}")))
                .then_some(pid)
        },
    )
    .await;
    println!("restart shown {took:?} after the kill (limit 2 s)");
    let timeline = text(&client, "#events").await.unwrap();
    assert!(
        timeline.contains(&format!("{manager} reason killed")),
        "{timeline}"
    );
    assert_eq!(new_pid, app.manager().unwrap().pid().to_string());
    // The detail follows the selected child to its new pid.
    let (detail, _) = within(
        Duration::from_secs(2),
        "the detail of the new pid",
        || async {
            let t = text(&client, "#detail").await?;
            let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
            t.contains(&format!("pid {new_pid}")).then_some(t)
        },
    )
    .await;
    assert!(
        detail.contains("last exit of this child killed"),
        "{detail}"
    );
    screenshot(&client, "3-restarted.png").await;

    let errors = console_errors(&client).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let _: Value = client
        .execute("return document.title", vec![])
        .await
        .unwrap();
    client.close().await.unwrap();
    drop(driver);
    observer.stop().await;
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_page_shows_both_nodes_a_remote_restart_and_a_stopped_node_as_down() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let n1 = Node::start(server.node_config("n1")).await.unwrap();
    let n2 = Node::start(server.node_config("n2")).await.unwrap();
    assert!(
        n1.wait_for_node(&NodeId::new("n2"), Duration::from_secs(10))
            .await
            .is_some()
    );
    let tree = |id: &'static str| {
        Supervisor::one_for_one()
            .child(ChildSpec::worker(id, || Agent::start_link(|| 0u32)))
            .child(ChildSpec::worker("cache", || Agent::start_link(|| 0u32)))
            .start()
    };
    let (sup1, sup2) = (
        tree("orders").await.unwrap(),
        tree("billing").await.unwrap(),
    );
    let observe = |label: &'static str, sup: &arbor_supervisor::SupervisorRef, node: &Node| {
        Observer::builder()
            .tree(label, sup.clone())
            .cluster(node.clone())
            .sample_every(Duration::from_millis(100))
            .serve("127.0.0.1:0")
    };
    let obs1 = observe("shop", &sup1, &n1).await.unwrap();
    let obs2 = observe("payments", &sup2, &n2).await.unwrap();
    let driver = start_driver(&chromedriver).await;
    let client = connect(&driver, &chromium).await;

    // 1. n1's page shows both nodes' trees, grouped by node.
    client.goto(&obs1.url()).await.unwrap();
    let remote_row = "div.cnode[data-node='n2'] tr.remote[data-key='payments/billing'] td.pid";
    let (billing, took) = within(Duration::from_secs(5), "n2's tree", || async {
        text(&client, remote_row)
            .await
            .filter(|t| t.starts_with('<'))
    })
    .await;
    println!("n2's tree shown after {took:?}");
    let local = text(&client, "div.cnode[data-node='n1'] h3.nodehead")
        .await
        .unwrap();
    assert!(local.contains("this node"), "{local}");
    assert!(
        client
            .find(Locator::Css(
                "div.cnode[data-node='n1'] tr.node[data-key='shop/orders']"
            ))
            .await
            .is_ok()
    );
    screenshot(&client, "4-cluster.png").await;

    // 2. A crash on n2 shows on n1's timeline, with n2's new pid.
    arbor_process::exit(billing.parse().unwrap(), ExitReason::Kill);
    let (_, took) = within(
        Duration::from_secs(2),
        "n2's restart on n1's page",
        || async {
            let events = text(&client, "#events").await?;
            let pid = text(&client, remote_row).await?;
            (pid != billing && events.contains(&format!("was {billing}"))).then_some(())
        },
    )
    .await;
    println!("n2's restart shown {took:?} after the kill (limit 2 s)");
    let events = text(&client, "#events").await.unwrap();
    assert!(
        events.contains(&format!("n2 payments billing {billing} reason killed")),
        "{events}"
    );

    // 3. n2 stops: shown down, with its reason, on the node and the timeline.
    obs2.stop().await;
    n2.stop().await;
    let (_, took) = within(Duration::from_secs(2), "n2 down on n1's page", || async {
        let head = text(&client, "div.cnode[data-node='n2'] h3.nodehead").await?;
        let down = text(&client, "#events li.event.node_down").await?;
        (head.contains("down")
            && head.contains("shutdown")
            && down.contains("node n2 reason shutdown"))
        .then_some(())
    })
    .await;
    println!("n2 down shown {took:?} after its stop");
    assert!(
        client
            .find(Locator::Css("div.cnode[data-node='n2'] tr.remote"))
            .await
            .is_err(),
        "a down node shows no processes"
    );
    screenshot(&client, "5-cluster-node-down.png").await;

    let errors = console_errors(&client).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    client.close().await.unwrap();
    drop(driver);
    obs1.stop().await;
    n1.stop().await;
    sup1.stop().await.unwrap();
    sup2.stop().await.unwrap();
}
