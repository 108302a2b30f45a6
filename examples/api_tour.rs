//! The four everyday tasks of an OTP user, written with arbor's prelude:
//! a GenServer with a call and a cast, a one_for_one supervisor of three
//! children, an event handler added and notified (a closure; a handler
//! with state, calls or swaps implements `EventHandler`), and a property test of
//! one's own tree against the reference model. Each task sits between its
//! `// task N` and `// end` markers; `tests/api_tour.rs` runs them and
//! counts their lines.
//!
//! ```sh
//! cargo run --example api_tour
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arbor::prelude::*;
use arbor::supervisor::SupStartError;

/// Any error of the tour.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

// task 1: a GenServer with a call and a cast
struct Counter(u64);
struct Get(ReplyTo<u64>);

impl GenServer for Counter {
    type Call = Get;
    type Cast = u64;
    type Info = ();
    async fn handle_call(&mut self, Get(r): Get, _: &mut ServerCtx<Self>) -> Control {
        r.reply(self.0)
    }
    async fn handle_cast(&mut self, n: u64, _: &mut ServerCtx<Self>) -> Control {
        self.0 += n;
        Control::Continue
    }
}

pub(crate) async fn counter() -> Result<u64, Error> {
    let counter = Counter(40).start().await?;
    counter.cast(2);
    Ok(counter.call(Get).await?)
}
// end

// task 2: a one_for_one supervisor of three children
pub(crate) async fn three_children() -> Result<SupervisorRef, SupStartError> {
    Supervisor::one_for_one()
        .child(ChildSpec::worker("a", || Counter(0).start_link()))
        .child(ChildSpec::worker("b", || Counter(0).start_link()))
        .child(ChildSpec::worker("c", || Counter(0).start_link()))
        .start()
        .await
}
// end

// task 3: an event handler, added and notified
pub(crate) async fn total(total: Arc<AtomicU64>) -> Result<(), Error> {
    let mgr = EventManager::start().await?;
    let add = move |n: &u64| {
        total.fetch_add(*n, Ordering::Relaxed);
    };
    mgr.add(FnHandler::new(add)).await?;
    Ok(mgr.sync_notify(5).await?)
}
// end

// task 4: a property test of one's own tree against the reference model
pub(crate) fn tree_matches_the_model() {
    use arbor::testkit::{check_tree, crash_sequence, model::SupConfig, model_cases};
    use proptest::prelude::{ProptestConfig, proptest};
    proptest!(ProptestConfig::with_cases(model_cases(8)), |(crashes in crash_sequence(3, 1..12))| {
        let tree = SupConfig::new(SupFlags::new(Strategy::OneForOne).intensity(3))
            .worker("db", Restart::Permanent)
            .worker("cache", Restart::Transient)
            .worker("web", Restart::Temporary);
        check_tree(tree, crashes)?;
    });
}
// end

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        println!(
            "1. counter: cast 2 onto 40, call Get = {:?}",
            counter().await
        );
        let sup = three_children().await.expect("three counters start");
        let children = sup.which_children().await.expect("the supervisor answers");
        println!("2. one_for_one with {} children", children.len());
        sup.stop().await.expect("the supervisor stops");
        let sum = Arc::new(AtomicU64::new(0));
        total(sum.clone()).await.expect("the event is handled");
        println!(
            "3. the handler saw 5: total = {}",
            sum.load(Ordering::Relaxed)
        );
    });
    drop(rt);
    tree_matches_the_model();
    println!("4. the tree matched the model under random crash sequences");
}
