//! Where a command runs: here if this node serves the list's shard, else
//! forwarded to the shard's subject with the epoch it was routed by.
//!
//! # Invariants
//!
//! 1. A command is retried only when it surely did not run, or ran on a
//!    copy that no longer exists: nobody subscribed the shard (`no
//!    responders`, a handover), the node refused it (`NotOwner`), or the
//!    shard got a new owner while waiting (the one asked was fenced). A
//!    forwarded command without an answer in time is `ERR unavailable`
//!    (it may have run; at most once).
//! 2. Every command ends by its deadline (`command_timeout`): with the
//!    owner's answer or `ERR unavailable …`, never with another node's
//!    guess.

use std::sync::atomic::Ordering;
use std::time::Duration;

use arbor_todo::protocol::ErrorReason;
use async_nats::RequestErrorKind;
use bytes::Bytes;
use tokio::time::Instant;

use super::msg::{Command, ShardReply, ShardRequest};
use super::serve::{run_local, subject};
use super::shard::{ShardOwner, shard_of};
use super::state::{AfterRun, Shared};
use crate::wire::{decode, encode};

/// The answer to a command and who gave it (for tests and the soak).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// `OK`'s item lines, or the error.
    pub result: Result<Vec<String>, ErrorReason>,
    /// The owner that answered, with its epoch; `None` when no owner did.
    pub by: Option<(ShardOwner, u64)>,
}

fn unavailable(shard: u32, why: &str) -> Routed {
    Routed {
        result: Err(ErrorReason::Unavailable(format!("shard {shard}: {why}"))),
        by: None,
    }
}

/// Runs `command` where its list lives (invariants 1-2).
pub(crate) async fn route(shared: &Shared, command: Command) -> Routed {
    let shard = shard_of(command.list(), shared.config.shards);
    let deadline = Instant::now() + shared.config.command_timeout;
    let mut backoff = Duration::from_millis(1);
    let mut why;
    loop {
        // Registered before reading state, so a change in between wakes us.
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        match shared.view_of(shard) {
            Some((owner, _)) if owner == shared.me() => {
                why = "being handed over";
                if shared.may_serve(shard, None).is_some() {
                    let result = run_local(shared, command.clone()).await;
                    match shared.after_run(shard) {
                        AfterRun::Answer(epoch) => {
                            shared.counters.served_local.fetch_add(1, Ordering::Relaxed);
                            return Routed {
                                result,
                                by: Some((owner, epoch)),
                            };
                        }
                        // It ran on a copy that is gone: run it again where
                        // the shard is now.
                        AfterRun::Gone => {}
                        AfterRun::Unconfirmed => {
                            return unavailable(
                                shard,
                                "ownership unconfirmed after the command ran",
                            );
                        }
                    }
                }
            }
            Some((owner, epoch)) => {
                match forward(shared, shard, (&owner, epoch), &command, deadline).await {
                    Ok(routed) => return routed,
                    Err(Retry::Yes(w)) => why = w,
                    Err(Retry::No(w)) => return unavailable(shard, w),
                }
            }
            None => why = "no owner yet",
        }
        let now = Instant::now();
        if now >= deadline {
            return unavailable(shard, why);
        }
        let wait = backoff.min(deadline - now);
        let _ = tokio::time::timeout(wait, changed).await;
        // Short: a new owner subscribes right after its write, which wakes
        // this loop before the subscription is there.
        backoff = (backoff * 2).min(Duration::from_millis(8));
    }
}

enum Retry {
    Yes(&'static str),
    No(&'static str),
}

async fn forward(
    shared: &Shared,
    shard: u32,
    (to, epoch): (&ShardOwner, u64),
    command: &Command,
    deadline: Instant,
) -> Result<Routed, Retry> {
    let req = ShardRequest {
        shard,
        owner: to.clone(),
        epoch,
        command: command.clone(),
    };
    let payload = encode(&req).map_err(|_| Retry::No("request does not encode"))?;
    let wait = deadline.saturating_duration_since(Instant::now());
    let request = shared
        .node
        .client()
        .request(subject(shared, shard), Bytes::from(payload));
    // A newer owner in the table means the one asked is fenced: whatever
    // it did (if anything) happened to a copy that is gone, so asking the
    // new owner is safe (invariant 1).
    let moved = async {
        loop {
            let changed = shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            // Another owner, not a newer epoch of the same one (a confirmed
            // ownership keeps its copy: the command may have run there).
            if shared.view_of(shard).is_none_or(|(o, _)| o != *to) {
                return;
            }
            changed.await;
        }
    };
    let answer = tokio::select! {
        a = tokio::time::timeout(wait, request) => a,
        () = moved => return Err(Retry::Yes("being handed over")),
    };
    let msg = match answer {
        Err(_) => return Err(Retry::No("the owner did not answer in time")),
        Ok(Err(e)) => {
            return Err(match e.kind() {
                RequestErrorKind::NoResponders => Retry::Yes("being handed over"),
                RequestErrorKind::TimedOut => Retry::No("the owner did not answer in time"),
                // It may have gone out before the connection failed.
                RequestErrorKind::Other => Retry::No("the connection to NATS failed"),
                _ => Retry::No("the request was refused by NATS"),
            });
        }
        Ok(Ok(msg)) => msg,
    };
    match decode::<ShardReply>(&msg.payload) {
        Ok(ShardReply::Done {
            result,
            owner,
            epoch,
        }) => Ok(Routed {
            result: result.map_err(Into::into),
            by: Some((owner, epoch)),
        }),
        Ok(ShardReply::Bad(_)) => Err(Retry::No("the owner could not read the request")),
        Ok(ShardReply::NotOwner) => Err(Retry::Yes("being handed over")),
        Err(_) => Err(Retry::No("the owner's answer does not decode")),
    }
}
