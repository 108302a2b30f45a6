//! Dispatch cost of one workload, arbor or a raw tokio equivalent, alone in
//! the process, so `perf stat -e instructions:u` can count what each costs
//! independently of machine load (W3/W4 of docs/performance.md#workloads).
//!
//! ```sh
//! cargo build --release -p arbor-genevent --example dispatch_cost
//! perf stat -e instructions:u target/release/examples/dispatch_cost arbor notify 10 200000
//! perf stat -e instructions:u target/release/examples/dispatch_cost raw notify 10 200000
//! ```
//!
//! Arguments: `arbor|raw`, `sync|notify`, handlers, events. Runs on a
//! current-thread runtime and prints ns/event.

use std::time::Instant;

use arbor_genevent::{EventHandler, EventManager, HandlerCtx, HandlerError, HandlerId, Step};
use tokio::sync::{mpsc, oneshot};

struct Sum(u64);

impl EventHandler<u64> for Sum {
    fn handle_event(
        &mut self,
        n: &u64,
        _: &HandlerCtx<'_, u64>,
    ) -> Result<Step<u64>, HandlerError> {
        self.0 += n;
        Ok(Step::Keep)
    }
}

trait RawHandler: Send {
    fn handle(&mut self, event: &u64);
}

struct RawSum(u64);

impl RawHandler for RawSum {
    fn handle(&mut self, event: &u64) {
        self.0 += event;
    }
}

enum RawMsg {
    Notify(u64),
    Sync(u64, oneshot::Sender<()>),
}

async fn arbor(sync: bool, h: u64, n: u64) {
    let mgr = EventManager::<u64>::start().await.expect("start");
    for i in 0..h {
        let id = HandlerId::of::<Sum>().tag(i.to_string());
        mgr.add_handler(id, Sum(0)).await.expect("add");
    }
    for e in 1..=n {
        if sync {
            mgr.sync_notify(e).await.expect("sync_notify");
        } else {
            mgr.notify(e);
        }
    }
    mgr.sync_notify(0).await.expect("drain");
}

async fn raw(sync: bool, h: u64, n: u64) {
    let (tx, mut rx) = mpsc::unbounded_channel::<RawMsg>();
    tokio::spawn(async move {
        let mut handlers: Vec<Box<dyn RawHandler>> = (0..h)
            .map(|_| Box::new(RawSum(0)) as Box<dyn RawHandler>)
            .collect();
        while let Some(msg) = rx.recv().await {
            match msg {
                RawMsg::Notify(e) => handlers.iter_mut().for_each(|x| x.handle(&e)),
                RawMsg::Sync(e, reply) => {
                    handlers.iter_mut().for_each(|x| x.handle(&e));
                    let _ = reply.send(());
                }
            }
        }
    });
    let sync_one = |e| {
        let (rtx, rrx) = oneshot::channel();
        let _ = tx.send(RawMsg::Sync(e, rtx));
        rrx
    };
    for e in 1..=n {
        if sync {
            let _ = sync_one(e).await;
        } else {
            let _ = tx.send(RawMsg::Notify(e));
        }
    }
    let _ = sync_one(0).await;
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("arbor", String::as_str).to_string();
    let sync = args.get(2).map_or("notify", String::as_str) == "sync";
    let h: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let n: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let t0 = Instant::now();
    rt.block_on(async {
        if which == "raw" {
            raw(sync, h, n).await;
        } else {
            arbor(sync, h, n).await;
        }
    });
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    println!("impl={which} sync={sync} h={h} n={n} ns_per_event={ns:.1}");
}
