//! W9 todo_workload: the todo app's tree. Create L lists through the todo
//! manager (start_child + monitor + sync_notify to a forwarding handler),
//! K random lookups, kill X lists and wait until all X exit events reached
//! the forwarding handler. Milliseconds per phase and in total; arbor only
//! (the target is absolute: ≤ 100 ms, Erlang/OTP takes 303 ms).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arbor::genevent::{Forwarder, HandlerId};
use arbor::process::kill;
use arbor_todo::{TodoApp, TodoEvent, TodoList, TreeNames};
use tokio::sync::mpsc;

use crate::suite::harness::{Rng, Sample, check_eq, fail, ms, ok, timed};
use arbor::process::Process;

fn list_name(i: u64) -> String {
    format!("list{i}")
}

/// Receives `n` events of the expected kind and returns their names, in
/// arrival order (the caller checks them after its clock stopped).
async fn expect_events(
    what: &str,
    rx: &mut mpsc::UnboundedReceiver<TodoEvent>,
    n: u64,
    create: bool,
) -> Vec<String> {
    let mut names = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let event = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
        match ok(what, event) {
            Some(TodoEvent::Create { name, .. }) if create => names.push(name),
            Some(TodoEvent::Exit { name, .. }) if !create => names.push(name),
            other => fail(&format!("{what}: unexpected event {other:?}")),
        };
    }
    names
}

pub(crate) async fn todo_arbor(lists: u64, lookups: u64, kills: u64) -> Sample {
    // Names are global: every run gets its own tree names.
    static RUN: AtomicU64 = AtomicU64::new(0);
    let prefix = format!("w9_{}_", RUN.fetch_add(1, Ordering::Relaxed));
    let app = ok(
        "todo: start",
        TodoApp::start(TreeNames::prefixed(&prefix)).await,
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let events = ok("todo: event manager", app.event_manager());
    let id = HandlerId::of::<Forwarder<TodoEvent>>();
    ok(
        "todo: add forwarder",
        events.add_handler(id, Forwarder::to_channel(tx)).await,
    );

    // The keys are made before the clock runs: formatting 110k names is
    // not the todo app's work.
    let names: Vec<String> = (0..lists).map(list_name).collect();
    let (create, created) = timed(async {
        for name in &names {
            ok("todo: create", app.create(name.clone()));
        }
        expect_events("todo: create events", &mut rx, lists, true).await
    })
    .await;
    let created: HashSet<String> = created.into_iter().collect();
    check_eq("todo: distinct lists created", created.len() as u64, lists);

    let mut rng = Rng::new(0x5eed);
    let (lookup, found) = timed(async {
        let mut found = 0u64;
        for _ in 0..lookups {
            let name = &names[rng.below(lists) as usize];
            if ok("todo: lookup", app.lookup(name).await).is_some() {
                found += 1;
            }
        }
        found
    })
    .await;
    check_eq("todo: lookups that found their list", found, lookups);

    // The victims, spread over all lists, looked up before the clock runs.
    let step = (lists / kills.max(1)).max(1);
    let mut victims: Vec<(String, TodoList)> = Vec::with_capacity(kills as usize);
    for name in names.iter().step_by(step as usize).take(kills as usize) {
        match ok("todo: victim lookup", app.lookup(name).await) {
            Some(list) => victims.push((name.clone(), list)),
            None => fail(&format!("todo: list {name} missing")),
        }
    }
    let (kill_phase, exited) = timed(async {
        for (_, list) in &victims {
            kill(list.pid());
        }
        expect_events("todo: exit events", &mut rx, victims.len() as u64, false).await
    })
    .await;
    let want: HashSet<String> = victims.into_iter().map(|(n, _)| n).collect();
    let exited: HashSet<String> = exited.into_iter().collect();
    check_eq("todo: exit events name the killed lists", exited, want);
    let left = ok("todo: names", app.list_names().await).len() as u64;
    check_eq("todo: lists left", left, lists - kills.min(lists));
    ok("todo: stop", app.stop().await);

    Sample::new()
        .with("total_ms", ms(create + lookup + kill_phase))
        .with("create_ms", ms(create))
        .with("lookup_ms", ms(lookup))
        .with("kill_ms", ms(kill_phase))
}
