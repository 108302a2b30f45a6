//! gen_event API (docs/otp/gen_event.md#ev-api): one test per row.

mod support;

use std::sync::Arc;
use std::time::Duration;

use arbor_genevent::{
    AddError, EventManager, EventManagerRef, HandlerCallError, HandlerError, ManagerOpts,
    RemoveError, SwapError,
};
use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::StartOpts;
use arbor_process::{CallError, ExitReason, StartError, StopError};
use support::{Ev, Init, Probe, drain, id, log};

async fn manager() -> EventManagerRef<Ev> {
    EventManager::start().await.unwrap()
}

/// `start/0` → `{ok, Pid}`; the manager is an arbor process.
#[tokio::test]
async fn start_returns_a_live_manager() {
    let mgr = manager().await;
    assert!(mgr.is_alive());
    assert!(arbor_process::is_alive(mgr.pid()));
    assert_eq!(mgr.which_handlers().await, Ok(vec![]));
}

/// `start({local, Name})` registers; a second start → `{error, {already_started, Pid}}`.
#[tokio::test]
async fn start_named_then_already_started() {
    let opts = StartOpts::new().name("api_named_mgr");
    let mgr = EventManager::<Ev>::start_opts(opts.clone()).await.unwrap();
    let found = EventManagerRef::<Ev>::whereis("api_named_mgr").unwrap();
    assert_eq!(found.pid(), mgr.pid());
    assert!(EventManagerRef::<u64>::whereis("api_named_mgr").is_none());
    let again = EventManager::<Ev>::start_opts(opts).await;
    assert_eq!(again.unwrap_err(), StartError::AlreadyStarted(mgr.pid()));
    mgr.stop().await.unwrap();
    assert!(EventManagerRef::<Ev>::whereis("api_named_mgr").is_none());
}

/// `start_link` links to the caller, who becomes the parent: the parent's
/// exit stops the manager with the parent's reason, handlers get `stop`.
#[tokio::test]
async fn start_link_parent_exit_stops_manager() {
    let (log, mut rx) = log();
    let (tx, got) = tokio::sync::oneshot::channel();
    let parent = arbor_process::spawn(move |_: arbor_process::Ctx<()>| async move {
        let mgr = EventManager::<Ev>::start_link().await.unwrap();
        mgr.add_handler(id("a"), Probe::new("a", &log))
            .await
            .unwrap();
        let _ = tx.send(mgr);
        ExitReason::custom("bye")
    });
    let mgr = got.await.unwrap();
    assert_eq!(parent.wait().await, ExitReason::custom("bye"));
    assert_eq!(mgr.wait().await, ExitReason::custom("bye"));
    assert_eq!(drain(&mut rx), ["a:init", "a:terminate:stop"]);
}

/// `add_handler` runs init in the manager: `{ok, S}` → `ok`.
#[tokio::test]
async fn add_handler_ok_runs_init() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    assert_eq!(
        mgr.add_handler(id("a"), Probe::new("a", &log)).await,
        Ok(())
    );
    assert_eq!(drain(&mut rx), ["a:init"]);
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("a")]);
}

/// `add_handler` whose init fails → the error is returned, nothing installed.
#[tokio::test]
async fn add_handler_init_error_not_installed() {
    let (log, _rx) = log();
    let mgr = manager().await;
    let out = mgr
        .add_handler(id("a"), Probe::failing_init("a", &log, Init::Fail))
        .await;
    assert_eq!(out, Err(AddError::Init(HandlerError::msg("init_failed"))));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// `add_handler` whose init raises → `{'EXIT', ..}`, nothing installed.
#[tokio::test]
async fn add_handler_init_panic_not_installed() {
    let (log, _rx) = log();
    let mgr = manager().await;
    let out = mgr
        .add_handler(id("a"), Probe::failing_init("a", &log, Init::Panic))
        .await;
    assert_eq!(out, Err(AddError::InitPanicked(Arc::from("init_panic"))));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
    assert!(mgr.is_alive());
}

/// Duplicate ids are rejected (Elixir 1.x `{:error, :already_present}`);
/// the first handler is untouched.
#[tokio::test]
async fn add_handler_duplicate_id_rejected() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    let out = mgr.add_handler(id("a"), Probe::new("a2", &log)).await;
    assert_eq!(out, Err(AddError::AlreadyPresent(id("a"))));
    // A tagged id of the same kind is another id.
    let tagged = id("a").tag("2");
    mgr.add_handler(tagged.clone(), Probe::new("a3", &log))
        .await
        .unwrap();
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("a"), tagged]);
    assert_eq!(drain(&mut rx), ["a:init", "a3:init"]);
}

/// `notify` → `ok` even for a dead manager.
#[tokio::test]
async fn notify_dead_manager_is_ok() {
    let mgr = manager().await;
    mgr.stop().await.unwrap();
    mgr.notify(Ev::N(1));
    assert!(!mgr.is_alive());
}

/// `sync_notify` returns after every handler's handle_event returned.
#[tokio::test]
async fn sync_notify_returns_after_all_handlers() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    for name in ["a", "b", "c"] {
        mgr.add_handler(id(name), Probe::new(name, &log))
            .await
            .unwrap();
    }
    drain(&mut rx);
    mgr.sync_notify(Ev::N(7)).await.unwrap();
    assert_eq!(drain(&mut rx), ["a:N(7)", "b:N(7)", "c:N(7)"]);
}

/// `call` → the handler's reply.
#[tokio::test]
async fn call_returns_reply() {
    let (log, _rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    assert_eq!(mgr.call::<u32>(&id("a"), 21u32).await, Ok(42));
    assert_eq!(
        mgr.call::<String>(&id("a"), 21u32).await,
        Err(HandlerCallError::WrongReplyType)
    );
}

/// `call` to a missing handler → `{error, bad_module}`.
#[tokio::test]
async fn call_unknown_handler_not_found() {
    let mgr = manager().await;
    assert_eq!(
        mgr.call::<u32>(&id("nope"), 1u32).await,
        Err(HandlerCallError::NotFound)
    );
}

/// `call` → `{remove_handler, Reply}`: reply returned, handler removed
/// with `remove_handler`.
#[tokio::test]
async fn call_remove_handler_reply() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    assert_eq!(mgr.call::<&str>(&id("a"), "remove").await, Ok("bye"));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
    assert_eq!(drain(&mut rx), ["a:init", "a:terminate:remove_handler"]);
}

/// `call` → `{swap_handler, Reply, ..}`: reply returned, swapped in place.
#[tokio::test]
async fn call_swap_handler_reply() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    mgr.add_handler(id("b"), Probe::new("b", &log))
        .await
        .unwrap();
    assert_eq!(mgr.call::<&str>(&id("a"), "swap").await, Ok("swapped"));
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("s"), id("b")]);
    assert_eq!(
        drain(&mut rx),
        [
            "a:init",
            "b:init",
            "a:terminate:{swapped,s}",
            "s:init_swapped:a-state"
        ]
    );
}

/// `call` whose handler crashes → `{error, {'EXIT', ..}}`, handler removed.
#[tokio::test]
async fn call_crash_removes_handler() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    let out = mgr.call::<u32>(&id("a"), "panic").await;
    let reason = arbor_genevent::RemoveReason::Panicked(Arc::from("call_panic"));
    assert_eq!(out, Err(HandlerCallError::Failed(reason)));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
    assert_eq!(
        drain(&mut rx),
        ["a:init", "a:terminate:{panic,\"call_panic\"}"]
    );
}

/// `call` whose handler returns a bad value → `{error, V}`, handler removed.
#[tokio::test]
async fn call_error_removes_handler() {
    let (log, _rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    let out = mgr.call::<u32>(&id("a"), 'x').await;
    let reason = arbor_genevent::RemoveReason::Failed(HandlerError::msg("bad_request"));
    assert_eq!(out, Err(HandlerCallError::Failed(reason)));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// `call` on a dead manager → noproc.
#[tokio::test]
async fn call_dead_manager_noproc() {
    let mgr = manager().await;
    mgr.stop().await.unwrap();
    assert_eq!(
        mgr.call::<u32>(&id("a"), 1u32).await,
        Err(HandlerCallError::Manager(CallError::NoProcess))
    );
}

/// `call` timeout → error; the handler still processes the request and the
/// late reply is dropped.
#[tokio::test(start_paused = true)]
async fn call_timeout_late_reply_dropped() {
    use futures::StreamExt;
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    // A stream consumer that has not asked for the next event keeps the
    // manager waiting inside a sync_notify.
    let mut stream = mgr.stream(Default::default()).await.unwrap();
    let busy = tokio::spawn({
        let mgr = mgr.clone();
        async move { mgr.sync_notify(Ev::N(1)).await }
    });
    assert_eq!(stream.next().await, Some(Ok(Ev::N(1))));
    let out = mgr
        .call_timeout::<u32>(&id("a"), 1u32, Duration::from_millis(100))
        .await;
    assert_eq!(out, Err(HandlerCallError::Manager(CallError::Timeout)));
    drop(stream); // processed: the manager goes on
    busy.await.unwrap().unwrap();
    mgr.sync_notify(Ev::N(2)).await.unwrap();
    assert_eq!(drain(&mut rx), ["a:init", "a:N(1)", "a:N(2)"]);
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("a")]);
}

/// `delete_handler` returns terminate's value; the handler is gone.
#[tokio::test]
async fn delete_handler_returns_terminate_value() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    let value = mgr.remove_handler(&id("a")).await.unwrap();
    assert_eq!(value.downcast::<String>().ok().as_deref(), Some("a-state"));
    assert_eq!(drain(&mut rx), ["a:init", "a:terminate:deleted"]);
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// `delete_handler` of a missing handler → `{error, module_not_found}`.
#[tokio::test]
async fn delete_handler_not_found() {
    let mgr = manager().await;
    let out = mgr.remove_handler(&id("a")).await;
    assert_eq!(out.unwrap_err(), RemoveError::NotFound);
}

/// OTP 25 `gen_event:delete_handler/3` (oracle 06, `remove c` whose
/// terminate crashes → `{EXIT,{oops,_}}`): a terminate that raises makes
/// delete answer `{'EXIT', Reason}`; the handler is removed anyway.
#[tokio::test]
async fn delete_handler_terminate_crash_returns_exit() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::panicking_terminate("a", &log))
        .await
        .unwrap();
    let out = mgr.remove_handler(&id("a")).await;
    assert_eq!(
        out.unwrap_err(),
        RemoveError::TerminatePanicked(Arc::from("terminate_panic"))
    );
    assert_eq!(drain(&mut rx), ["a:init", "a:terminate:deleted"]);
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// OTP 25 `gen_event:swap_handler/3` (`do_swap`): when H1's terminate
/// raises, H2's init gets `{A2, {'EXIT', Reason}}` and H2 is installed.
#[tokio::test]
async fn swap_handler_terminate_crash_passes_exit_to_init() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::panicking_terminate("a", &log))
        .await
        .unwrap();
    let out = mgr
        .swap_handler(&id("a"), id("c"), Probe::new("c", &log))
        .await;
    assert_eq!(out, Ok(()));
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("c")]);
    assert_eq!(
        drain(&mut rx),
        [
            "a:init",
            "a:terminate:{swapped,c}",
            "c:init_swapped:panicked:terminate_panic"
        ]
    );
}

/// `swap_handler`: H1's terminate value goes to H2's init; H2 is appended.
#[tokio::test]
async fn swap_handler_passes_terminate_value() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    mgr.add_handler(id("b"), Probe::new("b", &log))
        .await
        .unwrap();
    let out = mgr
        .swap_handler(&id("a"), id("c"), Probe::new("c", &log))
        .await;
    assert_eq!(out, Ok(()));
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("b"), id("c")]);
    assert_eq!(
        drain(&mut rx),
        [
            "a:init",
            "b:init",
            "a:terminate:{swapped,c}",
            "c:init_swapped:a-state"
        ]
    );
}

/// `swap_handler` with H1 not installed: H2's init gets `error` (`None`)
/// and is installed.
#[tokio::test]
async fn swap_handler_missing_old_still_installs() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    let out = mgr
        .swap_handler(&id("a"), id("c"), Probe::new("c", &log))
        .await;
    assert_eq!(out, Ok(()));
    assert_eq!(drain(&mut rx), ["c:init_swapped:none"]);
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("c")]);
}

/// OTP 25 `gen_event:swap_handler/3` (oracle 07, `swap absent picky`): with
/// H1 not installed, H2's init still runs, told `error` (`None`); its
/// failure V answers `{error, V}` and nothing is installed.
#[tokio::test]
async fn swap_handler_missing_old_init_failure_returns_error() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    let out = mgr
        .swap_handler(
            &id("absent"),
            id("c"),
            Probe::failing_init("c", &log, Init::Fail),
        )
        .await;
    assert_eq!(out, Err(SwapError::Init(HandlerError::msg("init_failed"))));
    assert_eq!(drain(&mut rx), ["c:init_swapped:none"]);
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// `swap_handler` whose H2 init fails → `{error, V}`; H1 stays removed.
#[tokio::test]
async fn swap_handler_init_failure_old_stays_removed() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    let out = mgr
        .swap_handler(
            &id("a"),
            id("c"),
            Probe::failing_init("c", &log, Init::Fail),
        )
        .await;
    assert_eq!(out, Err(SwapError::Init(HandlerError::msg("init_failed"))));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
    assert_eq!(
        drain(&mut rx),
        [
            "a:init",
            "a:terminate:{swapped,c}",
            "c:init_swapped:a-state"
        ]
    );
}

/// `swap_handler` to an id that another handler has → error; H1 stays removed.
#[tokio::test]
async fn swap_handler_to_present_id_rejected() {
    let (log, _rx) = log();
    let mgr = manager().await;
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    mgr.add_handler(id("b"), Probe::new("b", &log))
        .await
        .unwrap();
    let out = mgr
        .swap_handler(&id("a"), id("b"), Probe::new("b2", &log))
        .await;
    assert_eq!(out, Err(SwapError::AlreadyPresent(id("b"))));
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("b")]);
}

/// `which_handlers` lists in registration order (arbor decision: oldest first).
#[tokio::test]
async fn which_handlers_registration_order() {
    let (log, _rx) = log();
    let mgr = manager().await;
    for name in ["h", "h2", "h3"] {
        mgr.add_handler(id(name), Probe::new(name, &log))
            .await
            .unwrap();
    }
    assert_eq!(
        mgr.which_handlers().await.unwrap(),
        [id("h"), id("h2"), id("h3")]
    );
}

/// `stop`: every handler's `terminate(stop)` in list order; manager exits
/// `normal`; `stop` → `ok`.
#[tokio::test]
async fn stop_terminates_handlers_in_order() {
    let (log, mut rx) = log();
    let mgr = manager().await;
    for name in ["a", "b"] {
        mgr.add_handler(id(name), Probe::new(name, &log))
            .await
            .unwrap();
    }
    drain(&mut rx);
    assert_eq!(mgr.stop().await, Ok(()));
    assert_eq!(drain(&mut rx), ["a:terminate:stop", "b:terminate:stop"]);
    assert_eq!(mgr.wait().await, ExitReason::Normal);
}

/// `stop/3` with a reason: the manager exits with it.
#[tokio::test]
async fn stop_with_reason() {
    let mgr = manager().await;
    let reason = ExitReason::shutdown_with("done");
    assert_eq!(mgr.stop_with(reason.clone(), Duration::MAX).await, Ok(()));
    assert_eq!(mgr.wait().await, reason);
}

/// Operations on a dead manager → noproc.
#[tokio::test]
async fn dead_manager_operations_noproc() {
    let (log, _rx) = log();
    let mgr = manager().await;
    mgr.stop().await.unwrap();
    assert_eq!(mgr.stop().await, Err(StopError::NoProcess));
    assert_eq!(mgr.sync_notify(Ev::N(1)).await, Err(CallError::NoProcess));
    assert_eq!(mgr.which_handlers().await, Err(CallError::NoProcess));
    assert_eq!(
        mgr.add_handler(id("a"), Probe::new("a", &log)).await,
        Err(AddError::Manager(CallError::NoProcess))
    );
    assert_eq!(
        mgr.remove_handler(&id("a")).await.unwrap_err(),
        RemoveError::Manager(CallError::NoProcess)
    );
    assert_eq!(
        mgr.swap_handler(&id("a"), id("b"), Probe::new("b", &log))
            .await,
        Err(SwapError::Manager(CallError::NoProcess))
    );
}

/// Bounded mailbox: `notify` beyond the bound drops and counts; never blocks.
#[tokio::test]
async fn notify_bound_drops_and_counts() {
    let (log, mut rx) = log();
    let mgr =
        EventManager::<Ev>::start_with(StartOpts::new(), ManagerOpts::default().notify_bound(2))
            .await
            .unwrap();
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    // The current-thread runtime does not run the manager until we await.
    for n in 1..=5 {
        mgr.notify(Ev::N(n));
    }
    assert_eq!(mgr.dropped_notifies(), 3);
    mgr.sync_notify(Ev::N(9)).await.unwrap();
    assert_eq!(drain(&mut rx), ["a:init", "a:N(1)", "a:N(2)", "a:N(9)"]);
    // The queue drained: there is room again.
    mgr.notify(Ev::N(10));
    mgr.sync_notify(Ev::N(11)).await.unwrap();
    assert_eq!(drain(&mut rx), ["a:N(10)", "a:N(11)"]);
    assert_eq!(mgr.dropped_notifies(), 3);
}

/// A ref found by name carries the notify bound of the manager.
#[tokio::test]
async fn whereis_ref_keeps_notify_bound() {
    let opts = StartOpts::new().name("api_bounded_mgr");
    let config = ManagerOpts::default().notify_bound(1);
    let mgr = EventManager::<Ev>::start_with(opts, config).await.unwrap();
    let found = EventManagerRef::<Ev>::whereis("api_bounded_mgr").unwrap();
    found.notify(Ev::N(1));
    found.notify(Ev::N(2));
    assert_eq!(found.dropped_notifies(), 1);
    assert_eq!(mgr.dropped_notifies(), 1);
    mgr.stop().await.unwrap();
}

/// `start_link` with a taken name fails without an exit signal to the caller
/// (OTP 26+, arbor decision).
#[tokio::test]
async fn start_link_name_taken_no_exit_signal() {
    let first = EventManager::<Ev>::start_opts(StartOpts::new().name("api_taken_mgr"))
        .await
        .unwrap();
    let (err, stray) = arbor_process::scope(|mut me: arbor_process::Ctx<()>| async move {
        me.trap_exit(true);
        let opts = StartOpts::new().name("api_taken_mgr").link();
        let err = EventManager::<Ev>::start_opts(opts).await.unwrap_err();
        (err, me.try_recv().is_some())
    })
    .await
    .unwrap();
    assert_eq!(err, StartError::AlreadyStarted(first.pid()));
    assert!(!stray);
    first.stop().await.unwrap();
}

/// A closure handler (`FnHandler`) sees every event in order; a second one
/// gets a tagged id; one that panics is removed and the other keeps
/// receiving (OTP: a handler that crashes in
/// `handle_event` is deleted, the manager goes on).
#[tokio::test]
async fn closure_handlers_run_per_event_and_a_panicking_one_is_removed() {
    use arbor_genevent::{FnHandler, HandlerId};
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mgr = EventManager::<u32>::start().await.unwrap();
    let record = seen.clone();
    mgr.add(FnHandler::new(move |n: &u32| {
        record.lock().unwrap().push(*n)
    }))
    .await
    .unwrap();
    let strict = FnHandler::new(|n: &u32| assert!(*n < 2, "too big"));
    assert_eq!(
        mgr.add(strict).await,
        Err(arbor_genevent::AddError::AlreadyPresent(id("FnHandler")))
    );
    let tagged = HandlerId::of::<FnHandler<()>>().tag("strict");
    let strict = FnHandler::new(|n: &u32| assert!(*n < 2, "too big"));
    mgr.add_handler(tagged, strict).await.unwrap();
    assert_eq!(mgr.which_handlers().await.unwrap().len(), 2);
    for n in 0..3 {
        mgr.sync_notify(n).await.unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
    let left = mgr.which_handlers().await.unwrap();
    assert_eq!(left.len(), 1, "the panicking closure was removed: {left:?}");
    mgr.stop().await.unwrap();
}
