//! Running a command on this node's todo tree, and the subscription of a
//! shard's subject that runs forwarded commands (one task per owned
//! shard, ended when the shard is dropped).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arbor_todo::protocol::ErrorReason;
use arbor_todo::{AppError, TodoList};
use bytes::Bytes;
use futures::StreamExt;

use super::msg::{Command, ShardReply, ShardRequest, WireError};
use super::state::{AfterRun, Shared};
use crate::wire::{decode, encode};

/// The subject of shard `k`.
pub(crate) fn subject(shared: &Shared, k: u32) -> String {
    shared.node.subject(&format!("todo.shard.{k}"))
}

/// Runs `command` on the local tree, as the single-node server does.
pub(crate) async fn run_local(
    shared: &Shared,
    command: Command,
) -> Result<Vec<String>, ErrorReason> {
    let app = &shared.app;
    match command {
        Command::Create(list) => {
            let manager = app.manager().map_err(unavailable)?;
            manager.create(list.clone());
            match manager.lookup(&list).await {
                Ok(Some(_)) => Ok(Vec::new()),
                Ok(None) => Err(ErrorReason::NotCreated(list)),
                Err(e) => Err(unavailable(AppError::Call(e))),
            }
        }
        Command::Put(list, item) => {
            let todo = find(shared, &list).await?;
            todo.put(item).await.map_err(|e| gone(&list, e))?;
            Ok(Vec::new())
        }
        Command::List(list) => {
            let todo = find(shared, &list).await?;
            todo.get().await.map_err(|e| gone(&list, e))
        }
        Command::Delete(list, item) => {
            let todo = find(shared, &list).await?;
            let before = todo
                .delete(item.clone())
                .await
                .map_err(|e| gone(&list, e))?;
            if before.contains(&item) {
                Ok(Vec::new())
            } else {
                Err(ErrorReason::UnknownItem { list, item })
            }
        }
    }
}

async fn find(shared: &Shared, list: &str) -> Result<TodoList, ErrorReason> {
    shared
        .app
        .lookup(list)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ErrorReason::UnknownList(list.to_owned()))
}

pub(crate) fn unavailable(e: AppError) -> ErrorReason {
    ErrorReason::Unavailable(match e {
        AppError::NotRunning(_) => "the todo service is restarting or stopped".to_owned(),
        AppError::Call(e) => format!("the todo service did not answer: {e}"),
    })
}

fn gone(list: &str, e: arbor_process::CallError) -> ErrorReason {
    ErrorReason::Unavailable(format!("list {list:?} did not answer: {e}"))
}

/// Answers one forwarded request (state invariants 1-2); `None`: it names
/// another owner (the other subscriber of a shard being handed over, or an
/// earlier incarnation of this node), which runs it or not: no answer
/// from here, neither a result nor a refusal that would race the named
/// owner's answer and make the sender retry a command that ran.
pub(crate) async fn answer(shared: &Shared, payload: &[u8]) -> Option<ShardReply> {
    let req = match decode::<ShardRequest>(payload) {
        Ok(r) => r,
        Err(e) => return Some(ShardReply::Bad(e)),
    };
    if req.owner != shared.me() {
        shared.counters.refused.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    let Some(epoch) = shared.may_serve(req.shard, Some(req.epoch)) else {
        shared.counters.refused.fetch_add(1, Ordering::Relaxed);
        return Some(ShardReply::NotOwner);
    };
    let _ = epoch;
    let result = run_local(shared, req.command).await;
    // Ownership may have been lost while the command ran: the answer
    // would then come from a fenced owner. If another node owns the shard
    // now, the copy it ran on is gone and the sender may retry there; if
    // this node's ownership is only unconfirmed, it ran on a copy that
    // may live on: no answer, and no retry either.
    let epoch = match shared.after_run(req.shard) {
        AfterRun::Answer(epoch) => epoch,
        AfterRun::Gone => {
            shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Some(ShardReply::NotOwner);
        }
        AfterRun::Unconfirmed => {
            shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Some(ShardReply::Done {
                result: Err(WireError::Unavailable(format!(
                    "shard {}: ownership unconfirmed after the command ran",
                    req.shard
                ))),
                owner: shared.me(),
                epoch,
            });
        }
    };
    shared
        .counters
        .served_forwarded
        .fetch_add(1, Ordering::Relaxed);
    Some(ShardReply::Done {
        result: result.map_err(Into::into),
        owner: shared.me(),
        epoch,
    })
}

/// Serves shard `k`'s subject until the subscription ends or the task is
/// aborted (the shard was dropped). Commands run one at a time, in
/// arrival order.
pub(crate) async fn serve(shared: Arc<Shared>, mut sub: async_nats::Subscriber) {
    while let Some(msg) = sub.next().await {
        let Some(reply_to) = msg.reply.clone() else {
            continue;
        };
        let Some(reply) = answer(&shared, &msg.payload).await else {
            continue;
        };
        if let Ok(bytes) = encode(&reply) {
            let _ = shared
                .node
                .client()
                .publish(reply_to, Bytes::from(bytes))
                .await;
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests;
