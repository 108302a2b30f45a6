//! The todo tree tour: start arbor's reference app, break it on purpose,
//! watch it heal.
//!
//! ```sh
//! cargo run --example todo                 # the guided tour (a few seconds, exits 0)
//! RUST_LOG=debug cargo run --example todo  # the same with every report
//! cargo run --example todo -- --serve 127.0.0.1:4040   # the todo service over TCP, until ctrl-c
//! cargo run --example todo -- --serve 127.0.0.1:4040 --observe 127.0.0.1:4041   # and the observer page
//! ```
//!
//! The tour starts the nested tree of the guide's chapter 5, prints it,
//! follows the event manager with an event stream, creates lists, then
//! crashes a list, the todo manager and the event manager in turn. After
//! each crash it compares the pids before and after to say what restarted,
//! and prints the tree again. It never sleeps: it learns that a restart is
//! done by waiting for the dead process's exit and then asking the
//! supervisor, whose mailbox has that exit queued ahead of the question.
//! The walk-through in prose is `docs/guide.md`.
//!
//! With `--serve ADDR` it starts the same tree and a [`TodoServer`] on
//! `ADDR` instead (try `nc 127.0.0.1 4040`, then `CREATE shopping`), and
//! shuts both down cleanly on ctrl-c. With `--observe ADDR2` as well, the
//! observer page (docs/observer.md) serves both trees on `ADDR2`, its kill
//! button enabled: open it, kill a process, watch the tree heal.

use std::io::IsTerminal;
use std::process::ExitCode;

use arbor::observer::Observer;
use arbor::process::Process;
use arbor::process::{ExitReason, Pid, exit, kill, process_count, wait_exit};
use arbor_todo::{TodoApp, TodoEvent, TodoServer, TreeNames};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing_subscriber::EnvFilter;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .compact()
        .with_target(false)
        .without_time()
        .with_ansi(std::io::stdout().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = match args.as_slice() {
        [] => tour().await,
        [flag, addr] if flag == "--serve" => serve(addr, None).await,
        [flag, addr, flag2, observe] if flag == "--serve" && flag2 == "--observe" => {
            serve(addr, Some(observe)).await
        }
        _ => {
            eprintln!("usage: cargo run --example todo [-- --serve ADDR [--observe ADDR]]");
            return ExitCode::from(2);
        }
    };
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn tour() -> Result<(), Error> {
    let processes_before = process_count();

    step(1, "Start the todo tree");
    say("TodoApp::start starts a root supervisor (one_for_one) with two children:");
    say("the event manager, and an inner one_for_all supervisor that runs the");
    say("list supervisor and the todo manager. Every process registers a name, so");
    say("the TodoApp client finds the current one after a restart.");
    let app = TodoApp::start(TreeNames::default()).await?;
    say("The INFO/ERROR lines are arbor's reports (tracing; RUST_LOG=debug for more).");
    say("The tree below: child id, pid, strategy (or worker), restart type, and for");
    say("each supervisor the restarts in its current intensity window.");
    show_tree(&app).await?;

    step(2, "Follow the events");
    say("app.subscribe() installs an event-stream handler in the event manager;");
    say("a spawned task prints every event it yields.");
    let (mut events, mut printer) = follow(&app).await?;
    say(&format!("handlers now: {}", handlers(&app).await?));

    step(3, "Create lists and add items");
    app.create("shopping")?;
    app.create("work")?;
    let shopping = app.lookup("shopping").await?.ok_or("no shopping list")?;
    let work = app.lookup("work").await?.ok_or("no work list")?;
    shopping.put("milk").await?;
    shopping.put("eggs").await?;
    work.put("write the report").await?;
    // Both Create events were printed before the lookups were answered.
    next_event(&mut events).await?;
    next_event(&mut events).await?;
    show_lists(&app).await?;
    say("Each list is its own process (an Agent) under the list supervisor; in the");
    say("tree they are the `-` lines (simple_one_for_one children have no id).");
    show_tree(&app).await?;

    step(4, "Crash a list");
    say(&format!(
        "exit({}, ExitReason::custom(\"boom\")): the \"shopping\" list crashes.",
        shopping.pid()
    ));
    let before = Pids::of(&app)?;
    exit(shopping.pid(), ExitReason::custom("boom"));
    let event = next_event(&mut events).await?;
    say(&format!(
        "the todo manager saw the death and published: {event}"
    ));
    // The list supervisor had the exit queued before the manager's monitor
    // fired: once it answers, it has handled the death too.
    app.list_supervisor()?.supervisor().which_children().await?;
    let after = Pids::of(&app)?;
    report(&before, &after);
    say("Lists are temporary children: a dead list is not restarted. The todo");
    say("manager forgot its name; the other list kept its items.");
    show_lists(&app).await?;
    show_tree(&app).await?;

    step(5, "Crash the todo manager");
    let before = Pids::of(&app)?;
    say(&format!(
        "kill({}): the todo manager dies untrappably.",
        before.manager
    ));
    kill(before.manager);
    wait_exit(before.manager).await;
    // The inner supervisor got the exit before wait_exit returned: this
    // call is answered after the restart.
    app.inner()?.which_children().await?;
    let after = Pids::of(&app)?;
    report(&before, &after);
    say("The inner supervisor is one_for_all: it stopped the list supervisor (and");
    say(&format!(
        "with it the \"work\" list: alive = {}) and started both again, empty.",
        work.is_alive()
    ));
    say("No exit event: the old manager was already dead when the lists stopped.");
    say(&format!(
        "The event manager was not touched; its handlers: {}",
        handlers(&app).await?
    ));
    show_lists(&app).await?;
    show_tree(&app).await?;

    step(6, "Crash the event manager");
    say("First a new list, to watch it survive.");
    app.create("groceries")?;
    let groceries = app.lookup("groceries").await?.ok_or("no groceries list")?;
    groceries.put("bread").await?;
    next_event(&mut events).await?;
    show_lists(&app).await?;
    let before = Pids::of(&app)?;
    say(&format!(
        "kill({}): the event manager dies.",
        before.event_manager
    ));
    kill(before.event_manager);
    wait_exit(before.event_manager).await;
    app.root()?.which_children().await?;
    let after = Pids::of(&app)?;
    report(&before, &after);
    let ended = (&mut printer).await?;
    say(&format!("our event stream ended: {ended}"));
    say(&format!(
        "The new event manager starts with no handlers: {}",
        handlers(&app).await?
    ));
    say("The root is one_for_one: the lists and the todo manager kept running.");
    show_lists(&app).await?;
    say("Subscribing again, then creating \"after\":");
    let (mut events, printer) = follow(&app).await?;
    app.create("after")?;
    next_event(&mut events).await?;
    say("The todo manager publishes to whatever event manager holds the name now.");
    say("The tree counts one restart at the root and one in the inner supervisor.");
    show_tree(&app).await?;

    step(7, "Stop");
    app.stop().await?;
    let ended = printer.await?;
    say(&format!(
        "app.stop() stopped the tree in order; the stream ended: {ended}"
    ));
    say(&format!(
        "processes alive: {} before the tour, {} now.",
        processes_before,
        process_count()
    ));
    Ok(())
}

/// `--serve ADDR [--observe ADDR2]`: the todo tree and its TCP server
/// (and the observer page), until ctrl-c.
async fn serve(addr: &str, observe: Option<&str>) -> Result<(), Error> {
    let names = TreeNames::default();
    let app = TodoApp::start(names.clone()).await?;
    let server = TodoServer::bind(&app, addr).await?;
    let observer = match observe {
        Some(at) => Some(
            Observer::builder()
                .tree("todo", app.root()?)
                .tree("todo_server", server.supervisor().clone())
                .event_manager::<TodoEvent>(names.event_manager.clone())
                .allow_kill()
                .serve(at)
                .await?,
        ),
        None => None,
    };
    let at = server.local_addr();
    println!();
    println!(
        "todo service listening on {at} (try: nc {} {})",
        at.ip(),
        at.port()
    );
    println!();
    println!("  CREATE <list>           create a list (no-op if it exists)   -> OK");
    println!("  PUT <list> <item>       add an item in front                 -> OK");
    println!("  LIST <list>             one `* <item>` line per item, newest first, then OK");
    println!("  DELETE <list> <item>    remove the newest equal item         -> OK");
    println!(
        "  EVENTS                  OK, then `EVENT create|exit <list>` lines (use another connection for commands)"
    );
    println!(
        "  errors: `ERR <reason>` (unknown command or list or item, missing or extra arguments, line too long)"
    );
    println!();
    show_tree(&app).await?;
    println!("   the server's own tree:");
    println!();
    for line in server.supervisor().tree().await?.to_string().lines() {
        println!("   {line}");
    }
    println!();
    if let Some(observer) = &observer {
        println!("observer page: {} (kill button enabled)", observer.url());
        println!();
    }
    println!("ctrl-c to stop");
    tokio::signal::ctrl_c().await?;
    println!();
    if let Some(observer) = observer {
        observer.stop().await;
    }
    server.shutdown().await;
    app.stop().await?;
    println!("stopped the server, then the todo tree");
    Ok(())
}

/// Subscribes to the app's events: a task prints each one and passes it on,
/// and returns how the stream ended.
///
/// The stream is consumed in its own task because the todo manager's
/// `sync_notify` waits until the consumer asks for the next event.
async fn follow(
    app: &TodoApp,
) -> Result<(mpsc::UnboundedReceiver<TodoEvent>, JoinHandle<String>), Error> {
    let mut stream = app.subscribe().await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        loop {
            match stream.next().await {
                Some(Ok(event)) => {
                    println!("   [event] {event}");
                    let _ = tx.send(event);
                }
                Some(Err(e)) => return e.to_string(),
                None => return "normally (the event manager stopped)".to_string(),
            }
        }
    });
    Ok((rx, printer))
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<TodoEvent>) -> Result<TodoEvent, Error> {
    Ok(events.recv().await.ok_or("the event stream ended")?)
}

/// The pids of the tree's processes at one moment.
#[derive(Debug, Clone, Copy)]
struct Pids {
    root: Pid,
    event_manager: Pid,
    inner: Pid,
    list_sup: Pid,
    manager: Pid,
}

impl Pids {
    fn of(app: &TodoApp) -> Result<Pids, Error> {
        Ok(Pids {
            root: app.root()?.pid(),
            event_manager: app.event_manager()?.pid(),
            inner: app.inner()?.pid(),
            list_sup: app.list_supervisor()?.pid(),
            manager: app.manager()?.pid(),
        })
    }

    fn named(&self) -> [(&'static str, Pid); 5] {
        [
            ("root supervisor", self.root),
            ("event manager", self.event_manager),
            ("inner supervisor", self.inner),
            ("list supervisor", self.list_sup),
            ("todo manager", self.manager),
        ]
    }
}

/// Says which processes restarted (new pid) and which kept running.
fn report(before: &Pids, after: &Pids) {
    let mut restarted = Vec::new();
    let mut kept = Vec::new();
    for ((name, old), (_, new)) in before.named().into_iter().zip(after.named()) {
        if old == new {
            kept.push(name.to_string());
        } else {
            restarted.push(format!("{name} {old} -> {new}"));
        }
    }
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    say(&format!("restarted: {}", list(restarted)));
    say(&format!("kept:      {}", list(kept)));
}

async fn show_lists(app: &TodoApp) -> Result<(), Error> {
    let names = app.list_names().await?;
    if names.is_empty() {
        say("lists: none");
    }
    for name in names {
        if let Some(list) = app.lookup(&name).await? {
            say(&format!(
                "list {name:?} {}: {:?}",
                list.pid(),
                list.get().await?
            ));
        }
    }
    Ok(())
}

async fn handlers(app: &TodoApp) -> Result<String, Error> {
    let ids = app.event_manager()?.which_handlers().await?;
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    Ok(format!("[{}]", ids.join(", ")))
}

async fn show_tree(app: &TodoApp) -> Result<(), Error> {
    println!();
    for line in app.tree().await?.to_string().lines() {
        println!("   {line}");
    }
    println!();
    Ok(())
}

fn step(n: u32, title: &str) {
    println!("\n== {n}. {title} ==");
}

fn say(text: &str) {
    println!("   {text}");
}
