//! The todo tree tour. Run with `cargo run --example todo`.
//!
//! (Placeholder until the todo crate lands: shows processes, links and
//! monitors.)

use arbor::process::{Ctx, ExitReason, Msg, scope, spawn, spawn_link};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_target(false).init();
    let out = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        let worker = spawn_link(|_: Ctx<()>| async { ExitReason::custom("boom") });
        if let Msg::Exit(sig) = me.recv().await {
            println!("linked {} exited: {}", sig.from, sig.reason);
        }
        let watched = spawn(|_: Ctx<()>| async { ExitReason::Normal });
        me.monitor(watched.pid());
        if let Msg::Down(d) = me.recv().await {
            println!("monitored {} went down: {}", d.pid, d.reason);
        }
        worker.pid()
    })
    .await;
    println!("done: {out:?}");
}
