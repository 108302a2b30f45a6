use super::*;
use crate::counting_waker::counting_waker;
use crate::signal::Envelope;
use crate::{Myself, Process};

fn unborn() -> MailboxSlot {
    MailboxSlot::Unborn {
        open: open::<u8>,
        waiter: None,
    }
}

#[test]
fn an_unborn_mailbox_keeps_the_waiter_until_the_first_message() {
    let (wakes, waker) = counting_waker();
    let mut slot = unborn();
    assert!(slot.claim::<u8>(Some(&waker)).is_none());
    assert!(matches!(
        slot,
        MailboxSlot::Unborn {
            waiter: Some(_),
            ..
        }
    ));
    let tx = slot.sender::<u8>().expect("open");
    // Opening wakes no one: the queue is still empty.
    assert_eq!(wakes.get(), 0);
    assert!(tx.send(Envelope::User(5)).is_ok());
    assert_eq!(wakes.get(), 1);
    // Later messages find no waiter until the process waits again.
    let second = slot.sender::<u8>().expect("still open");
    assert!(second.send(Envelope::User(6)).is_ok());
    assert_eq!(wakes.get(), 1);
    let mut rx = slot.claim::<u8>(None).expect("receiver");
    assert!(matches!(rx.try_recv(), Some(Envelope::User(5))));
    assert!(matches!(rx.try_recv(), Some(Envelope::User(6))));
    assert!(slot.claim::<u8>(None).is_none(), "taken once");
}

#[test]
fn a_system_message_wakes_a_process_waiting_for_its_mailbox() {
    let (wakes, waker) = counting_waker();
    let mut slot = unborn();
    assert!(slot.claim::<u8>(Some(&waker)).is_none());
    let sink = slot.open().expect("open");
    sink.push(Box::new(Sys::Exit(crate::signal::ExitSignal {
        from: crate::Pid::fresh(),
        reason: crate::ExitReason::Shutdown,
    })));
    assert_eq!(wakes.get(), 1);
}

#[test]
fn a_sender_slot_is_filled_once_and_clones_share_the_sender() {
    let mut slot = unborn();
    let empty = SenderSlot::<u8>::lazy();
    let empty_clone = empty.clone();
    let tx = slot.sender::<u8>().expect("open");
    let filled = empty.get_or_init(tx);
    assert!(filled.send(Envelope::User(1)).is_ok());
    // An empty slot's clone stays empty; a filled one's is ready.
    assert!(empty_clone.get().is_none());
    let ready = empty.clone();
    assert!(matches!(ready, SenderSlot::Ready(_)));
    let other = slot.sender::<u8>().expect("open");
    // A ready slot keeps its sender.
    assert!(ready.get_or_init(other).send(Envelope::User(2)).is_ok());
    let mut rx = slot.claim::<u8>(None).expect("receiver");
    assert!(matches!(rx.try_recv(), Some(Envelope::User(1))));
    assert!(matches!(rx.try_recv(), Some(Envelope::User(2))));
}

#[test]
fn a_sender_of_another_type_opens_but_gets_nothing() {
    let mut slot = unborn();
    assert!(slot.sender::<String>().is_none());
    assert!(matches!(slot, MailboxSlot::Open(_)));
    assert!(slot.sender::<u8>().is_some());
}

/// The point of the lazy mailbox: spawning, linking, and a supervisor's
/// bookkeeping open nothing; the first message does.
#[tokio::test]
async fn a_process_gets_its_channel_with_its_first_message() {
    let (seen_tx, seen) = tokio::sync::oneshot::channel();
    let p = crate::spawn(|mut ctx: crate::Ctx<u8>| async move {
        let _ = ctx.recv().await;
        let _ = seen_tx.send(());
        crate::ExitReason::Normal
    });
    let cell = p.handle.cell.clone();
    let linked = crate::scope(|ctx: crate::Ctx<()>| async move {
        ctx.link(p.pid());
        ctx.unlink(p.pid());
        tokio::task::yield_now().await;
        (p.clone(), crate::ProcessHandle::lookup(p.pid()).is_some())
    })
    .await;
    let (p, found) = linked.unwrap();
    assert!(found && cell.mailbox_is_unborn());
    p.send(1).unwrap();
    assert!(!cell.mailbox_is_unborn());
    seen.await.unwrap();
    assert_eq!(p.wait().await, crate::ExitReason::Normal);
}

#[test]
fn a_closed_mailbox_opens_for_no_one() {
    let mut slot = MailboxSlot::Closed;
    assert!(slot.open().is_none());
    assert!(slot.sender::<u8>().is_none());
    assert!(slot.claim::<u8>(None).is_none());
}

#[test]
fn a_receiver_left_in_the_slot_is_drained_when_the_slot_is_dropped() {
    let mut slot = unborn();
    let tx = slot.sender::<u8>().expect("open");
    assert!(tx.send(Envelope::User(1)).is_ok());
    drop(slot);
    assert!(tx.is_closed());
    assert!(tx.send(Envelope::User(2)).is_err());
}
