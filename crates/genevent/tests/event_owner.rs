//! Handlers with an owner (docs/otp/gen_event.md#ev-owners, Elixir 1.x monitored
//! handlers): one test per row of the removal table, plus owner death.

mod support;

use std::sync::Arc;

use arbor_genevent::{
    AddOpts, EventHandler, EventManager, EventManagerRef, Handled, HandlerCtx, HandlerError,
    HandlerExit, Owner, RemoveReason, Step,
};
use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, Msg, scope};
use support::{Ev, Init, Probe, drain, id, log};

/// Runs `body` as the owner process; returns what it returned.
async fn as_owner<F, Fut, T>(body: F) -> T
where
    F: FnOnce(Ctx<HandlerExit>) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    scope(body).await.unwrap()
}

async fn next_exit(me: &mut Ctx<HandlerExit>) -> HandlerExit {
    match me.recv().await {
        Msg::Message(exit) => exit,
        other => panic!("unexpected {other:?}"),
    }
}

async fn owned(
    mgr: &EventManagerRef<Ev>,
    me: &Ctx<HandlerExit>,
    name: &'static str,
    log: &support::Log,
) {
    let opts = AddOpts::new().owner(Owner::process(&me.process_ref()));
    mgr.add_handler_opts(id(name), Probe::new(name, log), opts)
        .await
        .unwrap();
}

/// `delete_handler` → owner gets `{gen_event_EXIT, H, normal}` (`Deleted`).
#[tokio::test]
async fn owner_told_on_delete() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let exit = as_owner(|mut me| async move {
        owned(&mgr, &me, "a", &log).await;
        mgr.remove_handler(&id("a")).await.unwrap();
        (next_exit(&mut me).await, mgr.pid())
    })
    .await;
    assert_eq!(
        exit.0,
        HandlerExit {
            manager: exit.1,
            id: id("a"),
            reason: RemoveReason::Deleted
        }
    );
}

/// Callback returned `remove_handler` → owner gets `Removed` (OTP `normal`).
#[tokio::test]
async fn owner_told_on_remove_return() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let exit = as_owner(|mut me| async move {
        owned(&mgr, &me, "a", &log).await;
        mgr.notify(Ev::Remove("a"));
        next_exit(&mut me).await
    })
    .await;
    assert_eq!((exit.id, exit.reason), (id("a"), RemoveReason::Removed));
}

/// Callback crashed → owner gets the crash (`{'EXIT', ..}`).
#[tokio::test]
async fn owner_told_on_crash() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let exit = as_owner(|mut me| async move {
        owned(&mgr, &me, "a", &log).await;
        mgr.notify(Ev::Panic("a"));
        next_exit(&mut me).await
    })
    .await;
    assert_eq!(exit.reason, RemoveReason::Panicked(Arc::from("boom")));
}

/// Callback returned a bad value → owner gets it.
#[tokio::test]
async fn owner_told_on_error() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let exit = as_owner(|mut me| async move {
        owned(&mgr, &me, "a", &log).await;
        mgr.notify(Ev::Fail("a"));
        next_exit(&mut me).await
    })
    .await;
    assert_eq!(exit.reason, RemoveReason::Failed(HandlerError::msg("bad")));
}

/// Swapped out (API) → owner gets `{swapped, H2, ..}`; H2 inherits the owner.
#[tokio::test]
async fn owner_told_on_swap_and_inherits() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let (first, second) = as_owner(|mut me| async move {
        owned(&mgr, &me, "a", &log).await;
        mgr.swap_handler(&id("a"), id("b"), Probe::new("b", &log))
            .await
            .unwrap();
        let first = next_exit(&mut me).await;
        mgr.remove_handler(&id("b")).await.unwrap();
        (first, next_exit(&mut me).await)
    })
    .await;
    assert_eq!(
        (first.id, first.reason),
        (id("a"), RemoveReason::Swapped { to: id("b") })
    );
    assert_eq!((second.id, second.reason), (id("b"), RemoveReason::Deleted));
}

/// Swapped out (callback) → owner told; the new handler keeps the owner.
#[tokio::test]
async fn owner_told_on_callback_swap() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let (first, second) = as_owner(|mut me| async move {
        owned(&mgr, &me, "a", &log).await;
        mgr.notify(Ev::Swap("a", "x"));
        let first = next_exit(&mut me).await;
        mgr.notify(Ev::Panic("x"));
        (first, next_exit(&mut me).await)
    })
    .await;
    assert_eq!(first.reason, RemoveReason::Swapped { to: id("x") });
    assert_eq!(
        (second.id, second.reason),
        (id("x"), RemoveReason::Panicked(Arc::from("boom")))
    );
}

/// OTP 25 `gen_event` (oracle README 4, `do_swap`): a swap asked for by a
/// callback whose new handler's init fails tells the old handler's owner
/// `{swapped, H2, O}` and then `{gen_event_EXIT, H2, crash}`.
#[tokio::test]
async fn callback_swap_failed_init_owner_told_swap_then_crash() {
    struct Swapper(support::Log);
    impl EventHandler<Ev> for Swapper {
        fn handle_event(&mut self, _: &Ev, _: &HandlerCtx<'_, Ev>) -> Handled<Ev> {
            Ok(Step::swap(
                id("x"),
                Probe::failing_init("x", &self.0, Init::Fail),
            ))
        }
    }
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let m = mgr.clone();
    let (first, second) = as_owner(|mut me| async move {
        let opts = AddOpts::new().owner(Owner::process(&me.process_ref()));
        m.add_handler_opts(id("a"), Swapper(log), opts)
            .await
            .unwrap();
        m.sync_notify(Ev::N(1)).await.unwrap();
        // Both notices were sent before sync_notify returned.
        let first = next_exit(&mut me).await;
        let second = match me.try_recv() {
            Some(Msg::Message(exit)) => exit,
            other => panic!("no crash notice: {other:?}"),
        };
        (first, second)
    })
    .await;
    assert_eq!(
        (first.id, first.reason),
        (id("a"), RemoveReason::Swapped { to: id("x") })
    );
    assert_eq!(
        (second.id, second.reason),
        (
            id("x"),
            RemoveReason::Failed(HandlerError::msg("init_failed"))
        )
    );
    // The swapper's terminate returned `()`, which the probe prints as `?`.
    assert_eq!(drain(&mut rx), ["x:init_swapped:?"]);
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// Manager stopping → owner told (`Stop`, OTP `shutdown`); owner unaffected.
#[tokio::test]
async fn owner_told_on_manager_stop() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let exit = as_owner(|mut me| async move {
        owned(&mgr, &me, "a", &log).await;
        mgr.stop().await.unwrap();
        next_exit(&mut me).await
    })
    .await;
    assert_eq!(exit.reason, RemoveReason::Stop);
}

/// Owner exits → its handlers are removed with `terminate({stop, Reason})`;
/// other handlers stay.
#[tokio::test]
async fn owner_death_removes_its_handlers() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    mgr.add_handler(id("other"), Probe::new("other", &log))
        .await
        .unwrap();
    let owner = arbor_process::spawn({
        let mgr = mgr.clone();
        let log = log.clone();
        move |_: Ctx<()>| async move {
            for name in ["a", "b"] {
                mgr.add_handler_opts(id(name), Probe::new(name, &log), AddOpts::new().link())
                    .await
                    .unwrap();
            }
            ExitReason::custom("owner_gone")
        }
    });
    assert_eq!(owner.wait().await, ExitReason::custom("owner_gone"));
    let mut lines = Vec::new();
    while lines.len() < 5 {
        lines.push(rx.recv().await.unwrap());
    }
    assert_eq!(
        lines,
        [
            "other:init",
            "a:init",
            "b:init",
            "a:terminate:{stop,owner_gone}",
            "b:terminate:{stop,owner_gone}"
        ]
    );
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("other")]);
    mgr.sync_notify(Ev::N(1)).await.unwrap();
    assert_eq!(drain(&mut rx), ["other:N(1)"]);
}

/// Owner exits → all its handlers are terminated in list order, in one
/// go, even when a swapped-in handler inherited an older monitor than a
/// handler registered before it (OTP: one `{'EXIT', Owner, R}` removes every
/// supervised handler in list order; found by `event_model`).
#[tokio::test]
async fn owner_death_terminates_handlers_in_list_order_after_swap() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let owner = arbor_process::spawn(|mut ctx: Ctx<ExitReason>| async move {
        match ctx.recv().await {
            Msg::Message(reason) => reason,
            _ => ExitReason::Normal,
        }
    });
    let (tx, _notices) = tokio::sync::mpsc::unbounded_channel();
    for name in ["a", "b"] {
        let opts = AddOpts::new().owner(Owner::channel(owner.pid(), tx.clone()));
        mgr.add_handler_opts(id(name), Probe::new(name, &log), opts)
            .await
            .unwrap();
    }
    // `c` takes `a`'s (older) monitor but is appended after `b`.
    mgr.swap_handler(&id("a"), id("c"), Probe::new("c", &log))
        .await
        .unwrap();
    assert_eq!(mgr.which_handlers().await.unwrap(), [id("b"), id("c")]);
    drain(&mut rx);
    owner.send(ExitReason::custom("owner_gone")).unwrap();
    owner.wait().await;
    // The manager has the owner's notifications queued: this call is
    // answered after they were handled.
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
    assert_eq!(
        drain(&mut rx),
        [
            "b:terminate:{stop,owner_gone}",
            "c:terminate:{stop,owner_gone}"
        ]
    );
}

/// `link: true` outside a process is an error, nothing installed.
#[tokio::test]
async fn link_outside_process_rejected() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let out = mgr
        .add_handler_opts(id("a"), Probe::new("a", &log), AddOpts::new().link())
        .await;
    assert_eq!(out, Err(arbor_genevent::AddError::NotAProcess));
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// Owner already dead when the handler is added: removed at once with
/// `{stop, noproc}` (the monitor fires immediately).
#[tokio::test]
async fn dead_owner_handler_removed() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let dead = arbor_process::spawn(|_: Ctx<()>| async { ExitReason::Normal });
    dead.wait().await;
    let opts = AddOpts::new().owner(Owner::silent(dead.pid()));
    mgr.add_handler_opts(id("a"), Probe::new("a", &log), opts)
        .await
        .unwrap();
    assert_eq!(rx.recv().await.unwrap(), "a:init");
    assert_eq!(rx.recv().await.unwrap(), "a:terminate:{stop,noproc}");
    assert_eq!(mgr.which_handlers().await.unwrap(), []);
}

/// A killed manager does not take the owner down (monitor, not link).
#[tokio::test]
async fn killed_manager_does_not_kill_owner() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let out = as_owner(|me| async move {
        owned(&mgr, &me, "a", &log).await;
        arbor_process::kill(mgr.pid());
        mgr.wait().await
    })
    .await;
    assert_eq!(out, ExitReason::Killed);
}

/// Notices through a channel owner.
#[tokio::test]
async fn channel_owner_gets_notice() {
    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let (tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    let keeper = arbor_process::spawn(|mut ctx: Ctx<()>| async move {
        let _ = ctx.recv().await;
        ExitReason::Normal
    });
    let opts = AddOpts::new().owner(Owner::channel(keeper.pid(), tx));
    mgr.add_handler_opts(id("a"), Probe::new("a", &log), opts)
        .await
        .unwrap();
    mgr.remove_handler(&id("a")).await.unwrap();
    let exit = notices.recv().await.unwrap();
    assert_eq!((exit.id, exit.reason), (id("a"), RemoveReason::Deleted));
    keeper.send(()).unwrap();
}

/// `swap_sup_handler`: the new handler gets the caller as its owner; the old
/// owner is told `{swapped, ..}` and its later death no longer affects the
/// new handler.
#[tokio::test]
async fn swap_with_new_owner_moves_ownership() {
    let (log, mut rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let (old_tx, mut old_notices) = tokio::sync::mpsc::unbounded_channel();
    let old_owner = arbor_process::spawn(|mut ctx: Ctx<()>| async move {
        let _ = ctx.recv().await;
        ExitReason::custom("old_owner_done")
    });
    let opts = AddOpts::new().owner(Owner::channel(old_owner.pid(), old_tx));
    mgr.add_handler_opts(id("a"), Probe::new("a", &log), opts)
        .await
        .unwrap();
    let exit = as_owner(|mut me| async move {
        let opts = AddOpts::new().owner(Owner::process(&me.process_ref()));
        mgr.swap_handler_opts(&id("a"), id("b"), Probe::new("b", &log), opts)
            .await
            .unwrap();
        // The old owner's death does not remove `b`.
        old_owner.send(()).unwrap();
        old_owner.wait().await;
        assert_eq!(mgr.which_handlers().await.unwrap(), [id("b")]);
        mgr.remove_handler(&id("b")).await.unwrap();
        next_exit(&mut me).await
    })
    .await;
    assert_eq!((exit.id, exit.reason), (id("b"), RemoveReason::Deleted));
    let old = old_notices.recv().await.unwrap();
    assert_eq!(
        (old.id, old.reason),
        (id("a"), RemoveReason::Swapped { to: id("b") })
    );
    assert_eq!(
        drain(&mut rx),
        [
            "a:init",
            "a:terminate:{swapped,b}",
            "b:init_swapped:a-state",
            "b:terminate:deleted"
        ]
    );
}

/// A GenServer owner receives notices through its info messages
/// (`Owner::with`).
#[tokio::test]
async fn genserver_owner_via_closure() {
    use arbor_process::{Control, GenServer, Msg, ReplyTo, ServerCtx};

    struct Watcher(Vec<HandlerExit>);
    impl GenServer for Watcher {
        /// Takes the notices seen so far.
        type Call = ReplyTo<Vec<HandlerExit>>;
        type Cast = ();
        type Info = HandlerExit;
        async fn handle_call(
            &mut self,
            take: ReplyTo<Vec<HandlerExit>>,
            _: &mut ServerCtx<Self>,
        ) -> Control {
            take.reply(std::mem::take(&mut self.0))
        }
        async fn handle_info(
            &mut self,
            info: Msg<HandlerExit>,
            _: &mut ServerCtx<Self>,
        ) -> Control {
            if let Msg::Message(exit) = info {
                self.0.push(exit);
            }
            Control::Continue
        }
    }

    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    let watcher = Watcher(Vec::new()).start().await.unwrap();
    let server = watcher.clone();
    let owner = Owner::with(watcher.pid(), move |exit| server.send_info(exit));
    mgr.add_handler_opts(id("a"), Probe::new("a", &log), AddOpts::new().owner(owner))
        .await
        .unwrap();
    mgr.sync_notify(Ev::Fail("a")).await.unwrap();
    let seen = watcher.call(|take| take).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].reason,
        RemoveReason::Failed(HandlerError::msg("bad"))
    );
}
