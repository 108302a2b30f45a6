//! Fixture handlers shared by the genevent tests.
#![allow(dead_code, unreachable_pub)]

use arbor_genevent::{
    EventHandler, HandlerCtx, HandlerError, HandlerId, HandlerInfo, HandlerReply, Payload,
    RemoveReason, Step,
};
use std::sync::Arc;

use tokio::sync::mpsc;

/// The events the tests send. `N` is logged by every probe; the others make
/// the probe named by the first field act (and are logged by all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    N(u32),
    Panic(&'static str),
    Fail(&'static str),
    Remove(&'static str),
    /// `Swap(who, new)`: `who` swaps itself for a probe named `new`.
    Swap(&'static str, &'static str),
}

pub type Log = mpsc::UnboundedSender<String>;

pub fn log() -> (Log, mpsc::UnboundedReceiver<String>) {
    mpsc::unbounded_channel()
}

/// Everything logged so far.
pub fn drain(rx: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(line) = rx.try_recv() {
        out.push(line);
    }
    out
}

pub fn id(name: &'static str) -> HandlerId {
    HandlerId::new(name)
}

/// How a probe's `init` behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    Ok,
    Fail,
    Panic,
}

/// A handler that logs every callback as `"<name>:<what>"`.
pub struct Probe {
    pub name: &'static str,
    pub log: Log,
    pub init: Init,
    /// `terminate` logs, then panics with `terminate_panic`.
    pub terminate_panics: bool,
}

impl Probe {
    pub fn new(name: &'static str, log: &Log) -> Probe {
        Probe {
            name,
            log: log.clone(),
            init: Init::Ok,
            terminate_panics: false,
        }
    }

    pub fn panicking_terminate(name: &'static str, log: &Log) -> Probe {
        Probe {
            terminate_panics: true,
            ..Probe::new(name, log)
        }
    }

    pub fn failing_init(name: &'static str, log: &Log, init: Init) -> Probe {
        Probe {
            name,
            log: log.clone(),
            init,
            terminate_panics: false,
        }
    }

    fn note(&self, what: impl std::fmt::Display) {
        let _ = self.log.send(format!("{}:{}", self.name, what));
    }
}

impl EventHandler<Ev> for Probe {
    fn init(&mut self, _: &HandlerCtx<'_, Ev>) -> Result<(), HandlerError> {
        self.note("init");
        match self.init {
            Init::Ok => Ok(()),
            Init::Fail => Err(HandlerError::msg("init_failed")),
            Init::Panic => panic!("init_panic"),
        }
    }

    fn init_swapped(
        &mut self,
        previous: Option<Result<Payload, Arc<str>>>,
        _: &HandlerCtx<'_, Ev>,
    ) -> Result<(), HandlerError> {
        let previous = match previous {
            None => "none".to_string(),
            Some(Ok(p)) => p.downcast::<String>().unwrap_or_else(|_| "?".into()),
            Some(Err(panic)) => format!("panicked:{panic}"),
        };
        self.note(format_args!("init_swapped:{previous}"));
        match self.init {
            Init::Ok => Ok(()),
            Init::Fail => Err(HandlerError::msg("init_failed")),
            Init::Panic => panic!("init_panic"),
        }
    }

    fn handle_event(&mut self, ev: &Ev, _: &HandlerCtx<'_, Ev>) -> Result<Step<Ev>, HandlerError> {
        self.note(format_args!("{ev:?}"));
        match *ev {
            Ev::Panic(w) if w == self.name => panic!("boom"),
            Ev::Fail(w) if w == self.name => Err(HandlerError::msg("bad")),
            Ev::Remove(w) if w == self.name => Ok(Step::Remove),
            Ev::Swap(w, new) if w == self.name => {
                Ok(Step::swap(id(new), Probe::new(new, &self.log)))
            }
            _ => Ok(Step::Keep),
        }
    }

    fn handle_call(
        &mut self,
        request: Payload,
        _: &HandlerCtx<'_, Ev>,
    ) -> Result<HandlerReply<Ev>, HandlerError> {
        let request = match request.downcast::<u32>() {
            Ok(n) => return Ok(HandlerReply::keep(n * 2)),
            Err(r) => r,
        };
        match request.downcast::<&'static str>() {
            Ok("remove") => Ok(HandlerReply::remove("bye")),
            Ok("panic") => panic!("call_panic"),
            Ok("swap") => Ok(HandlerReply {
                reply: Payload::new("swapped"),
                step: Step::swap(id("s"), Probe::new("s", &self.log)),
            }),
            _ => Err(HandlerError::msg("bad_request")),
        }
    }

    fn handle_info(
        &mut self,
        info: &HandlerInfo,
        _: &HandlerCtx<'_, Ev>,
    ) -> Result<Step<Ev>, HandlerError> {
        match info {
            HandlerInfo::Message(p) => match p.downcast_ref::<&'static str>() {
                Some(s) => self.note(format_args!("info:{s}")),
                None => self.note("info:?"),
            },
            HandlerInfo::Exit(sig) => self.note(format_args!("info:exit:{}", sig.reason)),
        }
        Ok(Step::Keep)
    }

    fn terminate(&mut self, reason: &RemoveReason, _: &HandlerCtx<'_, Ev>) -> Payload {
        self.note(format_args!("terminate:{reason}"));
        if self.terminate_panics {
            panic!("terminate_panic");
        }
        Payload::new(format!("{}-state", self.name))
    }
}
