//! Owners (docs/otp/genevent-oracle.md#gev-execution): processes the scenario
//! controls. An owner is the [`Owner`](arbor_genevent::Owner) of the handlers
//! added or swapped in with `owner=`, sends exit signals on request, exits on
//! `crash`, and reports every notice and (when it traps exits) every exit
//! message.

use std::sync::Arc;

use arbor_genevent::HandlerExit;
use arbor_process::{Ctx, ExitReason, Msg, Pid, ProcessRef, ReplyTo, spawn};

use super::recorder::Recorder;
use super::render::{notice_reason, reason_term};
use crate::term::Term;
use arbor_process::Myself;

/// An owner's mailbox.
pub(crate) enum OwnerMsg {
    /// A removal notice from a manager.
    Notice(HandlerExit),
    /// Answer once everything sent before is handled.
    Ping(ReplyTo<()>),
    /// Exit with this reason.
    Crash(ExitReason),
    /// Send an exit signal to a process.
    Signal(Pid, ExitReason, ReplyTo<()>),
}

impl From<HandlerExit> for OwnerMsg {
    fn from(x: HandlerExit) -> OwnerMsg {
        OwnerMsg::Notice(x)
    }
}

/// Spawns owner `name`.
pub(crate) fn spawn_owner(name: &str, trap: bool, rec: &Recorder) -> ProcessRef<OwnerMsg> {
    let name: Arc<str> = Arc::from(name);
    let rec = rec.clone();
    spawn(move |mut ctx: Ctx<OwnerMsg>| async move {
        ctx.trap_exit(trap);
        loop {
            match ctx.recv().await {
                Msg::Message(OwnerMsg::Notice(x)) => {
                    // arbor's notice names the new handler of a swap but not
                    // its owner: the one the swap op gave, else this owner
                    // (the new handler inherits it).
                    let new_owner = rec.swap_owner().unwrap_or_else(|| name.to_string());
                    let t = Term::tuple([
                        Term::atom("gen_event_EXIT"),
                        Term::atom(&x.id.to_string()),
                        notice_reason(&x.reason, &new_owner),
                    ]);
                    rec.oline(&name, &format!("got {t}"));
                }
                Msg::Message(OwnerMsg::Ping(r)) => {
                    let _ = r.reply(());
                }
                Msg::Message(OwnerMsg::Crash(reason)) => return reason,
                Msg::Message(OwnerMsg::Signal(pid, reason, r)) => {
                    arbor_process::exit(pid, reason);
                    let _ = r.reply(());
                }
                Msg::Exit(sig) => {
                    let t = Term::tuple([
                        Term::atom("EXIT"),
                        Term::atom(&rec.label_of(sig.from)),
                        reason_term(&sig.reason),
                    ]);
                    rec.oline(&name, &format!("got {t}"));
                }
                Msg::Down(_) => {}
            }
        }
    })
}
