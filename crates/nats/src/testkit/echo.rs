//! [`Echo`]: a small remote service for tests — echoes, sleeps, crashes
//! and answers large replies on request.

use std::time::Duration;

use arbor_process::{Control, ExitReason, GenServer, ReplyTo, ServerCtx};
use serde::{Deserialize, Serialize};

use crate::call::{Protocol, RemoteServer};
use crate::wire::Wire;

/// A request to [`Echo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EchoRequest {
    /// Reply with the text.
    Echo(String),
    /// Reply with the text after this many milliseconds.
    Sleep(u64, String),
    /// Exit with `Custom(reason)` without replying.
    Crash(String),
    /// Reply with a text of this many bytes.
    Big(usize),
}

impl Wire for EchoRequest {
    const TAG: &'static str = "arbor.test.EchoRequest/v1";
}

/// [`Echo`]'s protocol: requests, text replies, text casts (`Echo("last")`
/// returns the last cast, `Echo("casts")` all of them joined by `,`).
#[derive(Debug)]
pub struct EchoApi;

impl Protocol for EchoApi {
    type Call = EchoRequest;
    type Reply = String;
    type Cast = String;
}

/// The echo server.
#[derive(Debug, Default)]
pub struct Echo {
    casts: Vec<String>,
}

/// [`Echo`]'s call message.
#[derive(Debug)]
pub struct EchoCall(EchoRequest, ReplyTo<String>);

impl EchoCall {
    /// A local call with `request` (`echo.call(|r| EchoCall::new(req, r))`).
    pub fn new(request: EchoRequest, reply: ReplyTo<String>) -> EchoCall {
        EchoCall(request, reply)
    }
}

impl GenServer for Echo {
    type Call = EchoCall;
    type Cast = String;
    type Info = ();

    async fn handle_call(&mut self, call: EchoCall, _: &mut ServerCtx<Self>) -> Control {
        let EchoCall(req, reply) = call;
        match req {
            EchoRequest::Echo(t) if t == "last" => {
                reply.reply(self.casts.last().cloned().unwrap_or_default())
            }
            EchoRequest::Echo(t) if t == "casts" => reply.reply(self.casts.join(",")),
            EchoRequest::Echo(t) => reply.reply(t),
            EchoRequest::Sleep(ms, t) => {
                // Reply later, from a task: the server stays responsive.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    reply.reply(t);
                });
                Control::Continue
            }
            EchoRequest::Crash(r) => Control::Stop(ExitReason::custom(r)),
            EchoRequest::Big(n) => reply.reply("x".repeat(n)),
        }
    }

    async fn handle_cast(&mut self, text: String, _: &mut ServerCtx<Self>) -> Control {
        self.casts.push(text);
        Control::Continue
    }
}

impl RemoteServer for Echo {
    type Protocol = EchoApi;
    fn remote_call(request: EchoRequest, reply: ReplyTo<String>) -> EchoCall {
        EchoCall(request, reply)
    }
    fn remote_cast(text: String) -> String {
        text
    }
}
