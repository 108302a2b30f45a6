//! The four everyday tasks of `examples/api_tour.rs` run and keep their
//! size: each task's lines (between its `// task N` and `// end` markers,
//! without blank lines and without the wrapper function's signature and
//! closing brace) stay within the counts measured when the API was made.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[path = "../examples/api_tour.rs"]
#[allow(dead_code)] // the example's `main`
mod tour;

#[tokio::test]
async fn a_genserver_answers_its_call_after_its_cast() {
    assert_eq!(tour::counter().await.unwrap(), 42);
}

#[tokio::test]
async fn a_one_for_one_supervisor_runs_three_children() {
    use arbor::prelude::*;
    let sup = tour::three_children().await.unwrap();
    let children = sup.which_children().await.unwrap();
    let ids: Vec<Option<&str>> = children
        .iter()
        .map(|c| c.id.as_ref().map(|i| i.as_str()))
        .collect();
    assert_eq!(ids, [Some("c"), Some("b"), Some("a")]); // OTP lists the newest first
    assert!(children.iter().all(|c| c.state.pid().is_some()));
    sup.stop().await.unwrap();
}

#[tokio::test]
async fn an_event_handler_sees_the_notified_event() {
    let total = Arc::new(AtomicU64::new(0));
    tour::total(total.clone()).await.unwrap();
    assert_eq!(total.load(Ordering::Relaxed), 5);
}

#[test]
fn a_tree_property_test_runs_against_the_model() {
    tour::tree_matches_the_model();
}

/// The lines of task `n`, counted as the module doc says.
fn task_lines(source: &str, n: usize) -> usize {
    let start = source
        .find(&format!("// task {n}:"))
        .expect("the task's marker");
    let body = &source[start..];
    let end = body.find("// end").expect("the task's end marker");
    let mut in_wrapper = false;
    let mut count = 0;
    for line in body[..end].lines().skip(1).filter(|l| !l.trim().is_empty()) {
        if line.starts_with("pub(crate) ") {
            in_wrapper = true;
        } else if in_wrapper && line == "}" {
            in_wrapper = false;
        } else {
            count += 1;
        }
    }
    count
}

#[test]
fn the_four_tasks_stay_short() {
    let source = include_str!("../examples/api_tour.rs");
    let counts: Vec<usize> = (1..=4).map(|n| task_lines(source, n)).collect();
    println!("api tour task lines: {counts:?}");
    // Measured when written: GenServer call + cast, three-child supervisor,
    // event handler, property test of one's own tree.
    let budget = [17, 6, 6, 9];
    for (task, (count, max)) in counts.iter().zip(budget).enumerate() {
        assert!(
            *count <= max,
            "task {} takes {count} lines, more than {max}",
            task + 1
        );
    }
}
