//! The scripted handler: one [`Probe`] per handler instance, following the
//! scenario's rules (docs/otp/genevent-oracle.md#gev-declarations) through
//! arbor's public [`EventHandler`] trait. Every callback reports itself to the
//! recorder before it acts.
//!
//! How the outcomes map onto arbor: `ok`/`remove`/`swap` are [`Step`]s;
//! `fail V` and `exit T` return a [`HandlerError`] (carrying
//! [`BadReturn`]/[`ExitValue`], printed `V` / `{EXIT,T}`); `crash T`
//! panics with T's text (printed `{EXIT,{T,_}}`); `selfcall` calls
//! `which_handlers` on its own manager and returns the error. A
//! `terminate` can only panic: `crash T` and `exit T` both panic there.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use arbor_genevent::{
    EventHandler, Handled, HandlerCtx, HandlerError, HandlerId, HandlerInfo, HandlerReply, Payload,
    RemoveReason, Step,
};
use parking_lot::Mutex;

use super::recorder::Recorder;
use super::render::{BadReturn, ExitValue, panic_term, reason_term, terminate_arg};
use super::scenario::{Callback, Hid, Outcome, Scenario};
use crate::term::Term;

/// What every probe shares: the rules and the trace.
pub(crate) struct World {
    pub(crate) scn: Scenario,
    pub(crate) rec: Recorder,
}

/// One handler instance.
pub(crate) struct Probe {
    hid: Hid,
    arg: Term,
    subject: String,
    w: Arc<World>,
}

/// arbor's id for a scenario's handler id. Kinds are interned: arbor's
/// kinds are `&'static str`.
pub(crate) fn handler_id(h: &Hid) -> HandlerId {
    static KINDS: OnceLock<Mutex<BTreeMap<String, &'static str>>> = OnceLock::new();
    let kind = *KINDS
        .get_or_init(Default::default)
        .lock()
        .entry(h.kind.clone())
        .or_insert_with(|| Box::leak(h.kind.clone().into_boxed_str()));
    let id = HandlerId::new(kind);
    match &h.tag {
        Some(t) => id.tag(t.as_str()),
        None => id,
    }
}

thread_local! {
    /// Set just before a probe panics on purpose: the panic hook stays quiet.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Installs (once) a panic hook that is silent for probes' deliberate
/// panics and forwards every other panic to the previous hook.
pub(crate) fn quiet_probe_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.replace(false)) {
                prev(info);
            }
        }));
    });
}

/// `crash T`: raise with T's text as the panic message.
fn raise(t: &Term) -> ! {
    QUIET.with(|q| q.set(true));
    std::panic::panic_any(t.to_string())
}

fn message_term(p: &Payload) -> Term {
    p.downcast_ref::<Term>()
        .cloned()
        .unwrap_or_else(|| Term::atom("unit"))
}

impl Probe {
    pub(crate) fn new(hid: Hid, arg: Term, w: Arc<World>) -> Probe {
        Probe {
            hid,
            arg,
            subject: String::new(),
            w,
        }
    }

    /// Finds the rule, reports the callback, applies `delay` and `notify`;
    /// returns the outcome.
    fn act(
        &self,
        cb: Callback,
        arg: &Term,
        pred: Option<&str>,
        ctx: &HandlerCtx<'_, Term>,
    ) -> Outcome {
        let rule = self.w.scn.rule(&self.hid, cb, arg);
        let outcome = match rule {
            Some(r) => r.outcome.clone(),
            None => match cb {
                Callback::Call => Outcome::Reply(Term::atom("ok")),
                Callback::Terminate => Outcome::Return(Term::atom("ok")),
                _ => Outcome::Ok,
            },
        };
        let text = format!("{} {arg} -> {}", cb.name(), outcome.text());
        self.w.rec.hline(&self.subject, &text, pred);
        if let Some(ms) = rule.and_then(|r| r.delay) {
            // The one place a run uses real time: a delay against a call's
            // timeout (docs/otp/genevent-oracle.md#gev-execution).
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        if let Some(e) = rule.and_then(|r| r.notify.clone()) {
            ctx.manager().notify(e);
        }
        outcome
    }

    fn init_with(&mut self, arg: Term, ctx: &HandlerCtx<'_, Term>) -> Result<(), HandlerError> {
        let pred = self.w.rec.take_pred();
        let generation = self.w.rec.attempt(&self.hid);
        self.subject = format!("{}/gen={generation}", self.hid.text());
        match self.act(Callback::Init, &arg, pred.as_deref(), ctx) {
            Outcome::Ok => Ok(()),
            Outcome::Crash(t) => raise(&t),
            other => Err(error_of(other)),
        }
    }

    fn step(&self, outcome: Outcome, ctx: &HandlerCtx<'_, Term>) -> Handled<Term> {
        match outcome {
            Outcome::Ok => Ok(Step::Keep),
            Outcome::Remove => Ok(Step::Remove),
            Outcome::Swap(h, a) => Ok(self.swap_to(h, a)),
            Outcome::SelfCall => Err(self_call(ctx)),
            Outcome::Crash(t) => raise(&t),
            other => Err(error_of(other)),
        }
    }

    fn swap_to(&self, h: Hid, a: Term) -> Step<Term> {
        let id = handler_id(&h);
        Step::swap(id, Probe::new(h, a, self.w.clone()))
    }
}

/// `fail V` / `exit T` as the error the callback returns.
fn error_of(o: Outcome) -> HandlerError {
    match o {
        Outcome::Exit(t) => HandlerError::new(ExitValue(t)),
        Outcome::Fail(t) => HandlerError::new(BadReturn(t)),
        other => HandlerError::new(BadReturn(Term::atom(&other.text()))),
    }
}

/// `selfcall`: a synchronous call to the manager this handler runs in.
/// arbor answers `CallingSelf` at once (on the first poll); the handler
/// fails with that error.
fn self_call(ctx: &HandlerCtx<'_, Term>) -> HandlerError {
    let mut fut = pin!(ctx.manager().which_handlers());
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Err(e)) => HandlerError::new(e),
        Poll::Ready(Ok(_)) => HandlerError::msg("which_handlers answered a handler"),
        Poll::Pending => HandlerError::msg("which_handlers blocked a handler"),
    }
}

impl EventHandler<Term> for Probe {
    fn init(&mut self, ctx: &HandlerCtx<'_, Term>) -> Result<(), HandlerError> {
        self.init_with(self.arg.clone(), ctx)
    }

    fn init_swapped(
        &mut self,
        previous: Option<Result<Payload, Arc<str>>>,
        ctx: &HandlerCtx<'_, Term>,
    ) -> Result<(), HandlerError> {
        let t = match previous {
            Some(Ok(p)) => message_term(&p),
            Some(Err(m)) => panic_term(&m),
            None => Term::atom("error"),
        };
        let arg = Term::tuple([self.arg.clone(), t]);
        self.init_with(arg, ctx)
    }

    fn handle_event(&mut self, event: &Term, ctx: &HandlerCtx<'_, Term>) -> Handled<Term> {
        let o = self.act(Callback::Event, event, None, ctx);
        self.step(o, ctx)
    }

    fn handle_info(&mut self, info: &HandlerInfo, ctx: &HandlerCtx<'_, Term>) -> Handled<Term> {
        let msg = match info {
            HandlerInfo::Message(p) => message_term(p),
            HandlerInfo::Exit(sig) => Term::tuple([
                Term::atom("EXIT"),
                Term::atom(&self.w.rec.label_of(sig.from)),
                reason_term(&sig.reason),
            ]),
        };
        let o = self.act(Callback::Info, &msg, None, ctx);
        self.step(o, ctx)
    }

    fn handle_call(
        &mut self,
        request: Payload,
        ctx: &HandlerCtx<'_, Term>,
    ) -> Result<HandlerReply<Term>, HandlerError> {
        let q = message_term(&request);
        match self.act(Callback::Call, &q, None, ctx) {
            Outcome::Reply(v) => Ok(HandlerReply::keep(v)),
            Outcome::CallRemove(v) => Ok(HandlerReply::remove(v)),
            Outcome::CallSwap(v, h, a) => Ok(HandlerReply {
                reply: Payload::new(v),
                step: self.swap_to(h, a),
            }),
            o => match self.step(o, ctx) {
                Ok(_) => Err(HandlerError::msg("not a call outcome")),
                Err(e) => Err(e),
            },
        }
    }

    fn terminate(&mut self, reason: &RemoveReason, ctx: &HandlerCtx<'_, Term>) -> Payload {
        if matches!(reason, RemoveReason::Swapped { .. }) {
            self.w.rec.set_pred(self.subject.clone());
        }
        match self.act(Callback::Terminate, &terminate_arg(reason), None, ctx) {
            Outcome::Return(v) => Payload::new(v),
            Outcome::Crash(t) | Outcome::Exit(t) => raise(&t),
            other => Payload::new(Term::atom(&other.text())),
        }
    }
}
