//! The named-owner rule of forwarded commands against a real server:
//! only the owner a request names runs it and answers; any other
//! subscriber of the shard's subject stays silent (no `NotOwner` that
//! could win the request race and make the sender retry a command that
//! ran).

use std::time::Duration;

use arbor_todo::protocol::Request;

use super::answer;
use crate::Node;
use crate::testkit::NatsServer;
use crate::todo::msg::{Command, ShardReply, ShardRequest};
use crate::todo::{ShardOwner, TodoCluster, TodoClusterConfig};
use crate::wire::encode;

const SHARDS: u32 = 2;

async fn one_node(server: &NatsServer) -> (Node, TodoCluster) {
    let node = Node::start(server.node_config("n1").tick(Duration::from_millis(100)))
        .await
        .unwrap();
    let config = TodoClusterConfig::new("127.0.0.1:0".parse().unwrap()).shards(SHARDS);
    let todo = TodoCluster::start(&node, config).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while todo.owned_shards().len() < SHARDS as usize {
        assert!(tokio::time::Instant::now() < deadline, "shards not taken");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (node, todo)
}

fn request(shard: u32, owner: ShardOwner, epoch: u64, list: &str) -> Vec<u8> {
    encode(&ShardRequest {
        shard,
        owner,
        epoch,
        command: Command::List(list.to_owned()),
    })
    .unwrap()
}

#[tokio::test]
async fn only_the_named_owner_answers_a_forwarded_command() {
    let Some(server) = NatsServer::start().await else {
        return;
    };
    let (node, todo) = one_node(&server).await;
    let shared = &todo.shared;
    let list = "groceries";
    let shard = todo.shard_of(list);
    let put = Request::Put {
        list: list.into(),
        item: "milk".into(),
    };
    assert_eq!(
        todo.execute(Request::Create { list: list.into() })
            .await
            .result,
        Ok(vec![])
    );
    assert_eq!(todo.execute(put).await.result, Ok(vec![]));
    let (me, epoch) = todo.owner(shard).unwrap();
    assert_eq!(me, shared.me());

    // Named: it runs and answers with the ownership it ran under.
    // (The epoch may be newer if the lease was confirmed meanwhile: the
    // same ownership, rewritten.)
    let reply = answer(shared, &request(shard, me.clone(), epoch, list)).await;
    let Some(ShardReply::Done {
        result,
        owner,
        epoch: ran_under,
    }) = reply
    else {
        panic!("{reply:?}")
    };
    assert_eq!(
        (result, &owner),
        (Ok(vec!["milk".to_owned()]), &me),
        "routed by {epoch}, ran under {ran_under}"
    );
    assert!(ran_under >= epoch);

    // Another owner named (the other subscriber during a handover, or an
    // earlier incarnation of this node): silent, not even `NotOwner`.
    let refused_before = shared
        .counters
        .refused
        .load(std::sync::atomic::Ordering::Relaxed);
    for other in [
        ShardOwner {
            node: crate::NodeId::new("n2"),
            incarnation: me.incarnation,
        },
        ShardOwner {
            node: me.node.clone(),
            incarnation: me.incarnation - 1,
        },
    ] {
        assert_eq!(
            answer(shared, &request(shard, other, epoch, list)).await,
            None
        );
    }
    assert_eq!(
        shared
            .counters
            .refused
            .load(std::sync::atomic::Ordering::Relaxed),
        refused_before + 2
    );

    // Named, but routed by a newer epoch than this owner serves
    // (state invariant 2): refused, so the sender retries elsewhere.
    assert_eq!(
        answer(shared, &request(shard, me, epoch + 1, list)).await,
        Some(ShardReply::NotOwner)
    );
    // Garbage gets an error reply, not silence and not a panic.
    assert!(matches!(
        answer(shared, b"\xff\xff").await,
        Some(ShardReply::Bad(_))
    ));
    todo.stop().await;
    node.stop().await;
}
