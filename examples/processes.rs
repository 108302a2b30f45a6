//! A tour of arbor's process runtime: processes and messages, links and
//! exit signals, trap_exit, monitors, `kill`, a GenServer with call and
//! cast, and an Agent. Each step prints what happened; run it with
//!
//! ```sh
//! cargo run --example processes
//! RUST_LOG=debug cargo run --example processes   # also the runtime's events
//! ```

use std::time::Duration;

use arbor::process::Myself;
use arbor::process::Process;
use arbor::process::{
    Agent, CallError, Control, Ctx, ExitReason, GenServer, Msg, ReplyTo, ServerCtx, kill, scope,
    spawn, spawn_link,
};
use tracing_subscriber::EnvFilter;

/// A counter server: `call(Get)` returns the count, `cast(n)` adds `n`.
struct Counter {
    count: u64,
}

enum Req {
    Get(ReplyTo<u64>),
    /// Calls itself: shows `CallingSelf` instead of a deadlock.
    CallMyself(ReplyTo<Result<u64, CallError>>),
}

impl GenServer for Counter {
    type Call = Req;
    type Cast = u64;
    type Info = ();

    async fn handle_call(&mut self, req: Req, ctx: &mut ServerCtx<Self>) -> Control {
        match req {
            Req::Get(reply) => reply.reply(self.count),
            Req::CallMyself(reply) => {
                let me = ctx.server_ref();
                reply.reply(me.call(Req::Get).await)
            }
        }
    }

    async fn handle_cast(&mut self, n: u64, _ctx: &mut ServerCtx<Self>) -> Control {
        self.count += n;
        Control::Continue
    }

    async fn terminate(&mut self, reason: &ExitReason, _ctx: &mut ServerCtx<Self>) {
        println!(
            "   counter terminates with {reason} at count {}",
            self.count
        );
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
    // One line per panic instead of a backtrace: the tour crashes on purpose.
    std::panic::set_hook(Box::new(|info| eprintln!("   (panic: {info})")));

    // `scope` makes this task a process, so it can link, monitor and trap.
    let outcome = scope(|mut me: Ctx<String>| async move {
        println!("1. processes and messages (I am {})", me.pid());
        let echo = spawn(
            |mut ctx: Ctx<(String, arbor::process::ProcessRef<String>)>| async move {
                while let Msg::Message((text, reply_to)) = ctx.recv().await {
                    let _ = reply_to.send(text.to_uppercase());
                }
                ExitReason::Normal
            },
        );
        for word in ["hello", "world"] {
            echo.send((word.to_owned(), me.process_ref()))
                .expect("echo is alive");
        }
        for _ in 0..2 {
            if let Msg::Message(m) = me.recv().await {
                println!("   echo {} replied {m:?} (in send order)", echo.pid());
            }
        }

        println!("2. links and trap_exit: a linked child's crash becomes a message");
        me.trap_exit(true);
        let child = spawn_link(|_: Ctx<()>| async { panic!("child crashed") });
        if let Msg::Exit(sig) = me.recv().await {
            println!("   EXIT from {}: {}", sig.from, sig.reason);
            assert_eq!(sig.from, child.pid());
        }

        println!("3. monitors: one DOWN with the reason; a dead pid gives noproc");
        let worker = spawn(|mut ctx: Ctx<()>| async move {
            ctx.recv().await;
            ExitReason::shutdown_with("done")
        });
        let mref = me.monitor(worker.pid());
        worker.send(()).expect("worker is alive");
        if let Msg::Down(down) = me.recv().await {
            println!(
                "   DOWN {:?} {}: {}",
                down.monitor == mref,
                down.pid,
                down.reason
            );
        }
        me.monitor(worker.pid());
        if let Msg::Down(down) = me.recv().await {
            println!("   DOWN for the dead {}: {}", down.pid, down.reason);
        }

        println!("4. kill is untrappable, even for a process blocked forever");
        let stubborn = spawn(|ctx: Ctx<()>| async move {
            ctx.trap_exit(true);
            std::future::pending::<ExitReason>().await
        });
        kill(stubborn.pid());
        println!(
            "   {} exited with {}",
            stubborn.pid(),
            stubborn.wait().await
        );

        println!("5. a GenServer: cast, call, calling itself, stop");
        let counter = Counter { count: 40 }
            .start_link()
            .await
            .expect("init cannot fail");
        counter.cast(2);
        println!("   call(Get) = {:?}", counter.call(Req::Get).await);
        println!(
            "   call(CallMyself) = {:?}",
            counter.call(Req::CallMyself).await
        );
        let stopped = counter
            .stop_with(ExitReason::Shutdown, Duration::from_secs(5))
            .await;
        println!("   stop = {stopped:?}");
        if let Msg::Exit(sig) = me.recv().await {
            println!("   the linked counter's EXIT reached me: {}", sig.reason);
        }

        println!("6. an Agent: state behind closures");
        let agent = Agent::start(Vec::<&str>::new)
            .await
            .expect("init cannot fail");
        agent.update(|v| v.push("milk")).await.expect("agent alive");
        agent.cast(|v| v.push("eggs"));
        let list = agent.get(|v| v.join(", ")).await.expect("agent alive");
        println!("   agent holds [{list}]");
        agent
            .stop_with(ExitReason::Normal, Duration::from_secs(5))
            .await
            .expect("agent stops");
    })
    .await;
    println!("done: the tour process exited {outcome:?}");
}
