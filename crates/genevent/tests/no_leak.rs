//! No processes are left behind by managers, handlers, owners and streams
//! (a test binary of its own: it compares the global process count).

use arbor_genevent::{AddOpts, EventManager, Forwarder, HandlerId, StreamOpts};
use arbor_process::Process;
use arbor_process::{Ctx, ExitReason, process_count};
use futures::StreamExt;

#[test]
fn stop_leaves_no_processes() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let before = process_count();
        for _ in 0..10 {
            let mgr = EventManager::<u32>::start().await.unwrap();
            let owner = arbor_process::spawn({
                let mgr = mgr.clone();
                move |mut me: Ctx<u32>| async move {
                    let id = HandlerId::of::<Forwarder<u32>>();
                    let fwd = Forwarder::to_process(&me.process_ref());
                    mgr.add_handler_opts(id, fwd, AddOpts::new().link())
                        .await
                        .unwrap();
                    let _ = me.recv().await;
                    ExitReason::Normal
                }
            });
            let mut s = mgr.stream(StreamOpts::default()).await.unwrap();
            // notify, not sync_notify: the stream is consumed by this task.
            mgr.notify(1);
            assert_eq!(s.next().await, Some(Ok(1)));
            assert_eq!(owner.wait().await, ExitReason::Normal);
            mgr.stop().await.unwrap();
            assert_eq!(s.next().await, None);
            let killed = EventManager::<u32>::start().await.unwrap();
            arbor_process::kill(killed.pid());
            killed.wait().await;
        }
        assert_eq!(process_count(), before);
    });
}
