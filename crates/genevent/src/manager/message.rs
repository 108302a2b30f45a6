//! The messages an event manager's mailbox holds.

use arbor_process::{ExitReason, ReplyTo};
use tokio::sync::oneshot;

use super::handler::Slot;
use crate::{AddError, HandlerCallError, HandlerId, Owner, Payload, RemoveError, SwapError};

/// A manager's mailbox. Events travel unboxed; everything rare is boxed so
/// a mailbox slot is no bigger than `SyncNotify` (the event and a pointer).
pub(crate) enum ManagerMsg<E> {
    Notify(E),
    SyncNotify(E, oneshot::Sender<()>),
    Admin(Box<Admin<E>>),
    Info(Payload),
    /// An event stream was dropped: remove its handler (no reply).
    Unsubscribe(Box<HandlerId>),
    Stop(Box<ExitReason>),
}

pub(crate) enum Admin<E> {
    Add {
        id: HandlerId,
        slot: Box<dyn Slot<E>>,
        owner: Option<Owner>,
        reply: ReplyTo<Result<(), AddError>>,
    },
    Remove {
        id: HandlerId,
        reply: ReplyTo<Result<Payload, RemoveError>>,
    },
    Swap {
        old: HandlerId,
        id: HandlerId,
        slot: Box<dyn Slot<E>>,
        owner: Option<Owner>,
        reply: ReplyTo<Result<(), SwapError>>,
    },
    Call {
        id: HandlerId,
        request: Payload,
        reply: ReplyTo<Result<Payload, HandlerCallError>>,
    },
    Which(ReplyTo<Vec<HandlerId>>),
}
