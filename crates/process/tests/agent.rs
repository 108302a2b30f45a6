//! Agent (Elixir: Agent.start_link/get/update/get_and_update/cast/stop).

use std::time::Duration;

use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{Agent, CallError, Ctx, ExitReason, Msg, StopError, scope};

/// get, update, get_and_update and cast act on one state, in order.
#[tokio::test]
async fn get_update_get_and_update_cast() {
    let agent = Agent::start(|| vec![1u32]).await.unwrap();
    agent.update(|v| v.push(2)).await.unwrap();
    agent.cast(|v| v.push(3));
    let popped = agent.get_and_update(|v| v.pop()).await.unwrap();
    assert_eq!(popped, Some(3));
    assert_eq!(agent.get(|v| v.clone()).await, Ok(vec![1, 2]));
    assert_eq!(
        agent
            .stop_with(ExitReason::Normal, Duration::from_secs(5))
            .await,
        Ok(())
    );
    assert_eq!(agent.get(|v| v.len()).await, Err(CallError::NoProcess));
    assert_eq!(
        agent
            .stop_with(ExitReason::Normal, Duration::from_secs(5))
            .await,
        Err(StopError::NoProcess)
    );
}

/// A panicking update crashes the agent; the caller gets the reason.
#[tokio::test]
async fn panicking_update_crashes_agent() {
    let agent = Agent::start(|| 0u32).await.unwrap();
    let r = agent.update(|_| panic!("bad update")).await;
    assert_eq!(
        r,
        Err(CallError::Exited(ExitReason::Panic("bad update".into())))
    );
    assert_eq!(agent.wait().await, ExitReason::Panic("bad update".into()));
}

/// start_link: the agent's crash reaches the (trapping) parent as an EXIT.
#[tokio::test]
async fn start_link_links_to_the_caller() {
    let got = scope(|mut me: Ctx<()>| async move {
        me.trap_exit(true);
        let agent = Agent::start_link(|| 0u32).await.unwrap();
        agent.cast(|_| panic!("cast crash"));
        match me.recv().await {
            Msg::Exit(sig) => (sig.from == agent.pid(), sig.reason),
            other => panic!("unexpected {other:?}"),
        }
    })
    .await
    .unwrap();
    assert_eq!(got, (true, ExitReason::Panic("cast crash".into())));
}

/// A panicking initial-state closure fails start and leaves no process.
#[tokio::test]
async fn failing_init_returns_error() {
    let r = Agent::<u32>::start(|| panic!("no state")).await;
    assert_eq!(
        r.map(|a| a.pid()).map_err(|e| e.reason()),
        Err(ExitReason::Panic("no state".into()))
    );
}
