//! Leak checks compare the global process count, so this binary holds one
//! test only (tests in one binary run in parallel).

use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{
    Agent, Ctx, ExitReason, GenServer, ServerCtx, StartOpts, kill, process_count, registered,
    scope, spawn_link,
};

struct Fails;

impl GenServer for Fails {
    type Call = ();
    type Cast = ();
    type Info = ();
    async fn init(&mut self, _ctx: &mut ServerCtx<Self>) -> Result<(), ExitReason> {
        Err(ExitReason::custom("no"))
    }
}

#[tokio::test]
async fn exited_processes_leave_no_process_name_or_timer() {
    let before = process_count();
    // A failed init leaves nothing.
    assert!(
        Fails
            .start_opts(StartOpts::default().name("fails"))
            .await
            .is_err()
    );
    assert_eq!(process_count(), before);
    // Linked children, monitors and timers die with their owner.
    let out = scope(|mut me: Ctx<u8>| async move {
        me.trap_exit(true);
        let agent = Agent::start_opts(|| 0u32, StartOpts::default().name("leak_agent").link())
            .await
            .unwrap();
        let child = spawn_link(|mut ctx: Ctx<()>| async move {
            ctx.send_after(std::time::Duration::from_secs(3600), ());
            ctx.recv().await;
            ExitReason::Normal
        });
        me.monitor(child.pid());
        me.send_after(std::time::Duration::from_secs(3600), 1);
        kill(agent.pid());
        (agent.wait().await, child)
    })
    .await;
    let (agent_reason, child) = out.expect("the scope traps exits");
    assert_eq!(agent_reason, ExitReason::Killed);
    // The scope exited normally; its linked child is still running (normal
    // is ignored by non-trapping links), so kill what is left of it.
    assert!(!registered().iter().any(|n| n.as_str() == "leak_agent"));
    assert_eq!(process_count(), before + 1, "only the idle child remains");
    kill(child.pid());
    assert_eq!(child.wait().await, ExitReason::Killed);
    assert_eq!(process_count(), before);
}
