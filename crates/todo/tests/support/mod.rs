//! Test helpers: the test process's mailbox with Erlang-style selective
//! receive, and the seed's `kill_with`.
#![allow(dead_code, unreachable_pub)] // each test binary uses a subset

use std::collections::VecDeque;
use std::future::Future;

use arbor_genevent::{AddOpts, EventManagerRef, Forwarder, HandlerId};
use arbor_process::Myself;
use arbor_process::Process;
use arbor_process::{Ctx, Msg};
use arbor_todo::{TodoEvent, TodoList};

/// The test process's mailbox: forwarded events are kept in arrival order
/// while a receive looks for something else (a monitor notification).
pub struct Mailbox<'a> {
    pub me: &'a mut Ctx<TodoEvent>,
    stash: VecDeque<TodoEvent>,
}

impl<'a> Mailbox<'a> {
    pub fn new(me: &'a mut Ctx<TodoEvent>) -> Mailbox<'a> {
        Mailbox {
            me,
            stash: VecDeque::new(),
        }
    }

    /// ExUnit's `assert_received`: an event already in the mailbox, no
    /// waiting.
    pub fn received(&mut self) -> Option<TodoEvent> {
        if let Some(e) = self.stash.pop_front() {
            return Some(e);
        }
        match self.me.try_recv()? {
            Msg::Message(e) => Some(e),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// `assert_receive` without a timeout: waits for the next event.
    pub async fn next_event(&mut self) -> TodoEvent {
        if let Some(e) = self.stash.pop_front() {
            return e;
        }
        match self.me.recv().await {
            Msg::Message(e) => e,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The seed's `kill_with(pid, fun)`: monitor the list, run `kill`,
    /// wait for the list's death. Events arriving meanwhile are kept.
    pub async fn kill_with<F, Fut>(&mut self, list: &TodoList, kill: F)
    where
        F: FnOnce(TodoList) -> Fut,
        Fut: Future<Output = ()>,
    {
        let monitor = self.me.monitor(list.pid());
        kill(list.clone()).await;
        loop {
            match self.me.recv().await {
                Msg::Down(d) if d.monitor == monitor => return,
                Msg::Message(e) => self.stash.push_back(e),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

/// Adds a Forwarder to `events` owned by the calling process (`link: true`).
pub async fn forward_to_me(events: &EventManagerRef<TodoEvent>, me: &Ctx<TodoEvent>) {
    events
        .add_handler_opts(
            HandlerId::of::<Forwarder<TodoEvent>>(),
            Forwarder::to_process(&me.process_ref()),
            AddOpts::new().link(),
        )
        .await
        .unwrap();
}
