//! Restart-strategy experiments: why the guide's chapter 5 nests its tree.
//!
//! Run with `cargo run --example strategies`; to watch it, with
//! `cargo run --example strategies -- --observe 127.0.0.1:4041` and open
//! the page it prints (docs/observer.md).
//!
//! The same four crashes — kill a todo list, kill the todo manager, kill
//! the event manager, kill the list supervisor — hit four trees built from
//! the same parts (`ListSupervisor`, `EventManager<TodoEvent>`,
//! `TodoManager` publishing to the event manager by name):
//!
//! ```text
//! flat one_for_all  (the chapter's first tree)   [list_sup, event_manager, todo_manager]
//! flat one_for_one                               [list_sup, event_manager, todo_manager]
//! flat rest_for_one                              [list_sup, event_manager, todo_manager]
//! nested (TodoApp)  one_for_one [event_manager, inner one_for_all [list_sup, todo_manager]]
//! ```
//!
//! Before every crash the example restores the same starting point: three
//! named lists holding one item each, and a `Forwarder` handler it added to
//! the event manager. After the crash it waits until the tree has handled
//! it (on exits and supervisor calls, never on time) and records which
//! processes restarted (their pid changed), whether the `Forwarder` is gone
//! from `which_handlers`, how many of the three lists survived (same
//! process, still named, items intact) and how many lists still run but
//! are no longer named (orphans). Then it probes the tree: `create` plus
//! `lookup` of a new list.
//!
//! The flat trees get intensity 10 (the nested tree keeps `TodoApp`'s 3 in
//! 5 s) so that the tables show the scope of each restart, not an
//! escalation. Set `RUST_LOG=arbor=info` to see the supervisor reports.
//!
//! With `--observe ADDR` the four trees run side by side instead of one
//! after the other, all registered with the observer page served on
//! `ADDR`: each crash hits the four trees at once, then the example waits
//! a few seconds (`--pause SECS`, default 4) so a reader can see on the
//! page what restarted where, and the timeline records each exit and
//! restart. After the tables it keeps the trees and the page running (the
//! kill button enabled) until ctrl-c.

use std::fmt::Write as _;
use std::time::Duration;

use arbor::genevent::{Forwarder, HandlerId};
use arbor::observer::Observer;
use arbor::process::Process;
use arbor::process::{ExitReason, Pid, is_alive, kill, wait_exit};
use arbor::supervisor::{Strategy, SupFlags, Supervisor};
use arbor_todo::{AppError, TodoApp, TodoEvent, TodoList, TreeNames};
use tokio::sync::mpsc;

/// The lists restored before every step.
const LISTS: [&str; 3] = ["groceries", "work", "home"];

/// The crash sequence, in order.
#[derive(Debug, Clone, Copy)]
enum Crash {
    List,
    Manager,
    EventManager,
    ListSup,
}

const STEPS: [Crash; 4] = [
    Crash::List,
    Crash::Manager,
    Crash::EventManager,
    Crash::ListSup,
];

impl Crash {
    fn label(self) -> &'static str {
        match self {
            Crash::List => "1. kill list \"groceries\"",
            Crash::Manager => "2. kill todo manager",
            Crash::EventManager => "3. kill event manager",
            Crash::ListSup => "4. kill list supervisor",
        }
    }
}

/// Which tree an experiment runs.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Flat(Strategy),
    Nested,
}

impl Shape {
    fn label(self) -> &'static str {
        match self {
            Shape::Flat(Strategy::OneForAll) => "flat one_for_all (ch. 5)",
            Shape::Flat(Strategy::OneForOne) => "flat one_for_one",
            Shape::Flat(Strategy::RestForOne) => "flat rest_for_one",
            Shape::Flat(_) => "flat",
            Shape::Nested => "nested (TodoApp)",
        }
    }
}

/// The flat tree over the todo crate's public parts: the chapter's
/// `Todo.Supervisor` before it was nested, with `strategy`; start it
/// with [`TodoApp::root_opts`] (registered as the root).
fn flat_tree(strategy: Strategy, names: &TreeNames) -> Supervisor {
    // The todo manager finds the list supervisor once, at start (as in
    // TodoApp): a manager that outlives it keeps a dead handle.
    let flags = SupFlags::new(strategy)
        .intensity(10)
        .period(Duration::from_secs(5));
    Supervisor::new(flags)
        .child(TodoApp::list_supervisor_spec(names))
        .child(TodoApp::event_manager_spec(names))
        .child(TodoApp::manager_spec(names))
}

/// The pids of the named processes, `None` where nothing is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pids {
    list_sup: Option<Pid>,
    event_manager: Option<Pid>,
    manager: Option<Pid>,
    inner: Option<Pid>,
}

fn pids(app: &TodoApp) -> Pids {
    Pids {
        list_sup: app.list_supervisor().ok().map(|s| s.pid()),
        event_manager: app.event_manager().ok().map(|m| m.pid()),
        manager: app.manager().ok().map(|m| m.pid()),
        inner: app.inner().ok().map(|s| s.pid()),
    }
}

/// Short names of the processes whose pid changed.
fn restarted(before: Pids, after: Pids) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (label, b, a) in [
        ("inner", before.inner, after.inner),
        ("LS", before.list_sup, after.list_sup),
        ("EM", before.event_manager, after.event_manager),
        ("TM", before.manager, after.manager),
    ] {
        if b != a {
            out.push(label);
        }
    }
    out
}

/// One cell of each table.
#[derive(Debug, Clone, Default)]
struct Outcome {
    restarted: Vec<&'static str>,
    handler_lost: bool,
    survived: usize,
    orphans: usize,
    probe: String,
}

fn handler_id() -> HandlerId {
    HandlerId::of::<Forwarder<TodoEvent>>().tag("strategies")
}

/// Three named lists with one item each, and our Forwarder installed.
async fn restore(app: &TodoApp, tx: &mpsc::UnboundedSender<TodoEvent>) -> Result<(), AppError> {
    for name in LISTS {
        if app.lookup(name).await?.is_none() {
            app.create(name)?;
            let list = app
                .lookup(name)
                .await?
                .ok_or_else(|| AppError::NotRunning(format!("list {name}")))?;
            list.put(format!("{name} item")).await?;
        }
    }
    let em = app.event_manager()?;
    if !em.which_handlers().await?.contains(&handler_id()) {
        em.add_handler(handler_id(), Forwarder::to_channel(tx.clone()))
            .await
            .map_err(|e| AppError::NotRunning(format!("forwarder: {e}")))?;
    }
    Ok(())
}

/// Lists running under the list supervisor that no name leads to.
async fn orphans(app: &TodoApp) -> Result<usize, AppError> {
    let mut named_alive = 0;
    for name in app.list_names().await? {
        if app.lookup(&name).await?.is_some_and(|l| l.is_alive()) {
            named_alive += 1;
        }
    }
    let running = app
        .list_supervisor()?
        .count()
        .await
        .map_err(|e| AppError::NotRunning(format!("list_sup: {e}")))?;
    Ok(running.saturating_sub(named_alive))
}

/// Waits until the tree handled the death of `dead`: every supervisor has
/// it queued before `wait_exit` returns; lists die after their supervisor,
/// so their deaths are awaited too when it went.
async fn settle(app: &TodoApp, before: Pids, lists: &[TodoList]) -> Result<(), AppError> {
    if before.list_sup.is_some_and(|p| !is_alive(p)) {
        for list in lists {
            list.wait().await;
        }
    }
    // Answered by each supervisor after the exits queued before it.
    app.tree().await?;
    // Answered by the manager after every list death it monitors.
    app.list_names().await?;
    Ok(())
}

async fn run_step(
    app: &TodoApp,
    crash: Crash,
    tx: &mpsc::UnboundedSender<TodoEvent>,
) -> Result<Outcome, AppError> {
    restore(app, tx).await?;
    let before = pids(app);
    let mut lists = Vec::new();
    for name in LISTS {
        if let Some(list) = app.lookup(name).await? {
            lists.push(list);
        }
    }
    let orphans_before = orphans(app).await?;
    let victim = match crash {
        Crash::List => lists.first().map(TodoList::pid),
        Crash::Manager => before.manager,
        Crash::EventManager => before.event_manager,
        Crash::ListSup => before.list_sup,
    }
    .ok_or_else(|| AppError::NotRunning(format!("{crash:?}")))?;
    kill(victim);
    wait_exit(victim).await;
    settle(app, before, &lists).await?;

    let after = pids(app);
    let mut out = Outcome {
        restarted: restarted(before, after),
        ..Outcome::default()
    };
    out.handler_lost = !app
        .event_manager()?
        .which_handlers()
        .await?
        .contains(&handler_id());
    for (name, list) in LISTS.iter().zip(&lists) {
        if app.lookup(name).await?.as_ref() == Some(list)
            && list.get().await.is_ok_and(|items| items.len() == 1)
        {
            out.survived += 1;
        }
    }
    out.orphans = orphans(app).await?.saturating_sub(orphans_before);

    // The probe: does the tree still create and find lists?
    let manager = app.manager()?;
    manager.create("probe");
    out.probe = match manager.lookup("probe").await {
        Ok(Some(list)) => {
            list.stop_with(ExitReason::Normal, Duration::MAX)
                .await
                .map_err(|e| AppError::NotRunning(format!("probe: {e}")))?;
            app.list_names().await?; // the manager forgot it
            "ok".to_owned()
        }
        Ok(None) => "not found".to_owned(),
        Err(_) => {
            wait_exit(manager.pid()).await;
            app.tree().await?;
            let again = restarted(after, pids(app));
            format!("TM crashed, then {} restarted", again.join(" "))
        }
    };
    Ok(out)
}

/// Starts the tree of `shape` under names with `prefix`; exits the example
/// if it cannot.
async fn start_tree(shape: Shape, prefix: &str) -> (TodoApp, String) {
    let names = TreeNames::prefixed(prefix);
    let started = match shape {
        Shape::Flat(strategy) => flat_tree(strategy, &names)
            .start_opts(TodoApp::root_opts(&names))
            .await
            .map(|_| ()),
        Shape::Nested => TodoApp::start(names.clone()).await.map(|_| ()),
    };
    if let Err(e) = started {
        eprintln!("{}: start failed: {e}", shape.label());
        std::process::exit(1);
    }
    let app = TodoApp::client(names);
    let tree = app.tree().await.map(|t| t.to_string()).unwrap_or_default();
    (app, tree)
}

async fn step_or_exit(
    shape: Shape,
    app: &TodoApp,
    crash: Crash,
    tx: &mpsc::UnboundedSender<TodoEvent>,
) -> Outcome {
    match run_step(app, crash, tx).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{} / {}: {e}", shape.label(), crash.label());
            std::process::exit(1);
        }
    }
}

async fn stop_tree(shape: Shape, app: &TodoApp) {
    if let Err(e) = app.stop().await {
        eprintln!("{}: stop failed: {e}", shape.label());
        std::process::exit(1);
    }
}

async fn run_tree(shape: Shape, prefix: &str) -> (String, Vec<Outcome>) {
    let (app, tree) = start_tree(shape, prefix).await;
    // The receiver stays alive until the tree stopped: a Forwarder whose
    // receiver is gone removes itself, which would read as "lost".
    let (tx, rx) = mpsc::unbounded_channel();
    let mut outcomes = Vec::new();
    for crash in STEPS {
        outcomes.push(step_or_exit(shape, &app, crash, &tx).await);
    }
    stop_tree(shape, &app).await;
    drop(rx);
    (tree, outcomes)
}

/// `--observe ADDR`: the four trees at once, each step hitting all four,
/// watched on the observer page; the trees run on until ctrl-c.
async fn observe(shapes: &[Shape], addr: &str, pause: Duration) -> Vec<Vec<Outcome>> {
    let mut trees = Vec::new();
    let mut observer = Observer::builder().allow_kill();
    for (i, shape) in shapes.iter().enumerate() {
        let prefix = format!("strategies{i}_");
        let (app, tree) = start_tree(*shape, &prefix).await;
        println!("{}:\n{tree}", shape.label());
        let root = app.root().unwrap_or_else(|e| {
            eprintln!("{}: {e}", shape.label());
            std::process::exit(1)
        });
        observer = observer
            .tree(shape.label(), root)
            .event_manager::<TodoEvent>(app.names().event_manager.clone());
        trees.push((*shape, app, mpsc::unbounded_channel::<TodoEvent>()));
    }
    let observer = match observer.serve(addr).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("observer: {e}");
            std::process::exit(1);
        }
    };
    println!("observer page: {}", observer.url());
    println!("the first crash in {} s", pause.as_secs());
    tokio::time::sleep(pause).await;
    let mut results = vec![Vec::new(); trees.len()];
    for crash in STEPS {
        println!("{} (all four trees)", crash.label());
        for (outcomes, (shape, app, (tx, _))) in results.iter_mut().zip(&trees) {
            outcomes.push(step_or_exit(*shape, app, crash, tx).await);
        }
        // Pacing for a reader watching the page, not synchronisation.
        tokio::time::sleep(pause).await;
    }
    print_tables(shapes, &results);
    println!("\nthe trees and the page keep running (kill button enabled); ctrl-c to stop");
    let _ = tokio::signal::ctrl_c().await;
    observer.stop().await;
    for (shape, app, _) in &trees {
        stop_tree(*shape, app).await;
    }
    results
}

/// Prints rows = steps, columns = trees.
fn table(title: &str, columns: &[&str], rows: &[(&str, Vec<String>)]) -> String {
    let first = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|(_, cells)| cells[i].chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("\n{title}\n");
    let _ = write!(out, "{:first$}", "");
    for (c, w) in columns.iter().zip(&widths) {
        let _ = write!(out, " | {c:w$}");
    }
    out.push('\n');
    let _ = write!(out, "{}", "-".repeat(first));
    for w in &widths {
        let _ = write!(out, "-+-{}", "-".repeat(*w));
    }
    out.push('\n');
    for (label, cells) in rows {
        let _ = write!(out, "{label:first$}");
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(out, " | {cell:w$}");
        }
        out.push('\n');
    }
    out
}

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();

    let shapes = [
        Shape::Flat(Strategy::OneForAll),
        Shape::Flat(Strategy::OneForOne),
        Shape::Flat(Strategy::RestForOne),
        Shape::Nested,
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (observe_at, pause) = match args.as_slice() {
        [] => (None, 4),
        [flag, addr] if flag == "--observe" => (Some(addr.clone()), 4),
        [flag, addr, p, secs] if flag == "--observe" && p == "--pause" => {
            (Some(addr.clone()), secs.parse().unwrap_or(4))
        }
        _ => {
            eprintln!("usage: cargo run --example strategies [-- --observe ADDR [--pause SECS]]");
            std::process::exit(2);
        }
    };
    if let Some(addr) = observe_at {
        observe(&shapes, &addr, Duration::from_secs(pause)).await;
        return;
    }
    let mut results = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        let (tree, outcomes) = run_tree(*shape, &format!("strategies{i}_")).await;
        println!("{}:\n{tree}", shape.label());
        results.push(outcomes);
    }
    print_tables(&shapes, &results);
}

/// The four tables: restarts, the Forwarder, the lists, the probe.
fn print_tables(shapes: &[Shape], results: &[Vec<Outcome>]) {
    let columns: Vec<&str> = shapes.iter().map(|s| s.label()).collect();
    let rows = |f: &dyn Fn(&Outcome) -> String| -> Vec<(&str, Vec<String>)> {
        STEPS
            .iter()
            .enumerate()
            .map(|(s, crash)| (crash.label(), results.iter().map(|r| f(&r[s])).collect()))
            .collect()
    };
    let restarted = |o: &Outcome| {
        if o.restarted.is_empty() {
            "-".to_owned()
        } else {
            o.restarted.join(" ")
        }
    };
    let mut restarts_rows = rows(&restarted);
    restarts_rows.push((
        "processes restarted, total",
        results
            .iter()
            .map(|r| {
                r.iter()
                    .map(|o| o.restarted.len())
                    .sum::<usize>()
                    .to_string()
            })
            .collect(),
    ));
    let mut handler_rows = rows(&|o| if o.handler_lost { "lost" } else { "kept" }.to_owned());
    handler_rows.push((
        "times lost, total",
        results
            .iter()
            .map(|r| r.iter().filter(|o| o.handler_lost).count().to_string())
            .collect(),
    ));
    let mut list_rows = rows(&|o| match o.orphans {
        0 => format!("{}/3", o.survived),
        n => format!("{}/3, {n} orphaned", o.survived),
    });
    list_rows.push((
        "lists lost, total",
        results
            .iter()
            .map(|r| r.iter().map(|o| 3 - o.survived).sum::<usize>().to_string())
            .collect(),
    ));
    let probe_rows = rows(&|o| o.probe.clone());

    print!(
        "{}",
        table(
            "Processes restarted by each crash (pid changed; LS = list supervisor, EM = event manager, TM = todo manager, inner = inner supervisor)",
            &columns,
            &restarts_rows
        )
    );
    print!(
        "{}",
        table(
            "The example's Forwarder handler after each crash",
            &columns,
            &handler_rows
        )
    );
    print!(
        "{}",
        table(
            "Lists that survived (of 3: same process, still named, items intact); lists this crash orphaned (still running, no name leads to them)",
            &columns,
            &list_rows
        )
    );
    print!(
        "{}",
        table(
            "Probe after the crash: create \"probe\" and look it up",
            &columns,
            &probe_rows
        )
    );
}
