//! The server loop: init handshake, dispatch, terminate.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use tokio::sync::oneshot;

use super::GenServer;
use super::ctx::ServerCtx;
use super::message::ServerMsg;
use super::server_ref::ServerRef;
use crate::ExitReason;
use crate::catch_unwind::catch;
use crate::cell::register_cell;
use crate::control::Control;
use crate::ctx::Ctx;
use crate::current::current;
use crate::error::StartError;
use crate::handle::Process;
use crate::myself::Myself;
use crate::name::Name;
use crate::signal::Msg;
use crate::spawn::spawn_unregistered;
use crate::start_opts::StartOpts;

pub(crate) async fn start<S: GenServer>(
    state: S,
    mut opts: StartOpts,
) -> Result<ServerRef<S>, StartError> {
    let (ack_tx, ack_rx) = oneshot::channel();
    let parent = if opts.link { current() } else { None };
    // The name is registered by the server itself, so that a taken name
    // is reported with the holder's pid after the link, as OTP does.
    let name = opts.name.take();
    let proc = spawn_unregistered(opts, move |ctx| run::<S>(ctx, state, name, parent, ack_tx));
    match ack_rx.await {
        Ok(Ok(())) => Ok(ServerRef { inner: proc }),
        Ok(Err(e)) => {
            // Leave nothing behind: the process is exiting; wait for it.
            proc.wait().await;
            Err(e)
        }
        Err(_) => Err(StartError::Exited(proc.wait().await)),
    }
}

async fn run<S: GenServer>(
    proc: Ctx<ServerMsg<S>>,
    mut state: S,
    name: Option<Name>,
    parent: Option<crate::Pid>,
    ack: oneshot::Sender<Result<(), StartError>>,
) -> ExitReason {
    let mut ctx = ServerCtx { proc, parent };
    // Fails start without an exit signal to the parent (OTP 26+).
    let fail = |ctx: &ServerCtx<S>, ack: oneshot::Sender<_>, err: StartError| {
        if let Some(p) = parent {
            ctx.unlink(p);
        }
        let _ = ack.send(Err(err));
    };
    if let Some(Err(e)) = name.map(|n| register_cell(n, &ctx.proc.me.cell)) {
        let holder = match e {
            crate::RegisterError::AlreadyRegistered(p) => p,
            _ => ctx.pid(),
        };
        fail(&ctx, ack, StartError::AlreadyStarted(holder));
        return ExitReason::Normal;
    }
    match catch(state.init(&mut ctx)).await {
        Ok(Ok(())) => {}
        Ok(Err(reason)) | Err(reason) => {
            fail(&ctx, ack, StartError::Init(reason.clone()));
            return reason;
        }
    }
    if ack.send(Ok(())).is_err() {
        // The starter was cancelled: nobody holds a handle to us.
        return ExitReason::Normal;
    }
    // One unwind boundary around the whole loop rather than one per
    // callback: a panic ends the loop either way, and a per-callback
    // `catch_unwind` cost a non-inlined call on every message.
    // The adapter itself rather than `catch`'s `async fn` around it: one
    // state machine fewer to resume on every message.
    let served = AssertUnwindSafe(serve(&mut state, &mut ctx))
        .catch_unwind()
        .await;
    let reason = match served {
        Ok(reason) => reason,
        // The pending caller (if the panic was in handle_call) learns the
        // reason when the process exits: its reply port was dropped.
        Err(panic) => ExitReason::from_panic(&*panic),
    };
    if let Err(panic) = catch(state.terminate(&reason, &mut ctx)).await {
        return panic;
    }
    reason
}

/// Dispatches messages until a callback stops the server; returns the reason.
/// A panicking callback unwinds out of it (caught by `run`).
async fn serve<S: GenServer>(state: &mut S, ctx: &mut ServerCtx<S>) -> ExitReason {
    loop {
        let control = match ctx.proc.recv().await {
            Msg::Message(ServerMsg::Call(req)) => state.handle_call(req, ctx).await,
            Msg::Message(ServerMsg::Cast(m)) => state.handle_cast(m, ctx).await,
            Msg::Message(ServerMsg::Info(m)) => state.handle_info(Msg::Message(m), ctx).await,
            Msg::Message(ServerMsg::Stop(reason)) => Control::Stop(*reason),
            Msg::Exit(sig) if Some(sig.from) == ctx.parent => Control::Stop(sig.reason),
            Msg::Exit(sig) => state.handle_info(Msg::Exit(sig), ctx).await,
            Msg::Down(down) => state.handle_info(Msg::Down(down), ctx).await,
        };
        if let Control::Stop(reason) = control {
            return reason;
        }
    }
}
