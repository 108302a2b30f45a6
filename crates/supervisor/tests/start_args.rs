//! Typed start arguments: what a start function is given, at the first
//! start and at every restart (otp-reference §2.5: `{M, F, A}`, and
//! simple_one_for_one's extra arguments).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arbor_process::{Ctx, ExitReason, Msg, ProcessHandle, ProcessRef, spawn_link};
use arbor_supervisor::{ChildSpec, Restart, StartOutcome, SupFlags, Supervisor};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use arbor_process::Process;
use arbor_supervisor::IntoStartOutcome;
use common::{boom, crash_pid, pid_of};

/// An argument that counts its clones and reports each start.
#[derive(Debug)]
struct Counted {
    tag: &'static str,
    clones: Arc<AtomicUsize>,
    starts: mpsc::UnboundedSender<&'static str>,
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.clones.fetch_add(1, Ordering::SeqCst);
        Counted {
            tag: self.tag,
            clones: self.clones.clone(),
            starts: self.starts.clone(),
        }
    }
}

/// A child that waits for an exit request and exits with it.
fn crashable(ctx_tag: &'static str, starts: &mpsc::UnboundedSender<&'static str>) -> StartOutcome {
    let _ = starts.send(ctx_tag);
    spawn_link(|mut ctx: Ctx<ExitReason>| async move {
        loop {
            if let Msg::Message(r) = ctx.recv().await {
                return r;
            }
        }
    })
    .into_start_outcome()
}

async fn crash(pid: arbor_process::Pid, reason: ExitReason) {
    let p = ProcessRef::<ExitReason>::from_pid(pid).unwrap();
    p.send(reason).unwrap();
    p.wait().await;
}

/// OTP: a simple_one_for_one child is restarted with the same arguments.
#[tokio::test]
async fn transient_template_restarts_with_a_clone_of_its_argument() {
    let (starts_tx, mut starts) = mpsc::unbounded_channel();
    let clones = Arc::new(AtomicUsize::new(0));
    let template = ChildSpec::template("w", |arg: Counted| async move {
        crashable(arg.tag, &arg.starts)
    })
    .restart(Restart::Transient);
    let sup = Supervisor::simple(SupFlags::default().intensity(5), template)
        .start()
        .await
        .unwrap();
    let arg = Counted {
        tag: "first",
        clones: clones.clone(),
        starts: starts_tx,
    };
    let pid = sup.start_child(arg).await.unwrap().pid().unwrap();
    assert_eq!(starts.recv().await, Some("first"));
    assert_eq!(clones.load(Ordering::SeqCst), 1, "one clone per start");
    crash(pid, ExitReason::custom("boom")).await;
    assert_eq!(starts.recv().await, Some("first"), "restarted with it");
    assert_eq!(clones.load(Ordering::SeqCst), 2);
    let restarted = sup.which_children().await.unwrap()[0].state.pid().unwrap();
    crash(restarted, ExitReason::Normal).await;
    assert!(sup.which_children().await.unwrap().is_empty());
    sup.stop().await.unwrap();
}

/// The connection-handler case: a temporary template takes a non-`Clone`
/// argument (a real `TcpStream`), moved into its only start.
#[tokio::test]
async fn temporary_template_child_owns_the_tcp_stream_it_is_handed() {
    let template = ChildSpec::temporary_template("conn", |mut stream: TcpStream| async move {
        spawn_link(move |_: Ctx<()>| async move {
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
            ExitReason::Normal
        })
    });
    let sup = Supervisor::simple(SupFlags::default(), template)
        .start()
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server_side, _) = listener.accept().await.unwrap();
    let child = sup.start_child(server_side).await.unwrap().pid().unwrap();
    // Looked up before the child can finish: it waits for the client.
    let child = ProcessHandle::lookup(child).unwrap();
    client.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    client.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");
    assert_eq!(child.wait().await, ExitReason::Normal);
    assert!(
        sup.which_children().await.unwrap().is_empty(),
        "not restarted"
    );
    sup.stop().await.unwrap();
}

/// `{M, F, A}`: a static child's own argument is given again, cloned, at
/// every restart; the closure never clones by hand.
#[tokio::test]
async fn worker_with_gives_a_clone_of_its_argument_at_every_start() {
    let (starts_tx, mut starts) = mpsc::unbounded_channel();
    let clones = Arc::new(AtomicUsize::new(0));
    let arg = Counted {
        tag: "db",
        clones: clones.clone(),
        starts: starts_tx,
    };
    let spec = ChildSpec::worker_with("db", arg, |arg: Counted| async move {
        crashable(arg.tag, &arg.starts)
    });
    let sup = Supervisor::one_for_one()
        .intensity(5)
        .child(spec)
        .start()
        .await
        .unwrap();
    assert_eq!(starts.recv().await, Some("db"));
    crash(pid_of(&sup, "db").await, ExitReason::custom("boom")).await;
    assert_eq!(starts.recv().await, Some("db"));
    assert_eq!(clones.load(Ordering::SeqCst), 2, "one clone per start");
    sup.stop().await.unwrap();
}

/// OTP's default flags: intensity 1 within 5 s.
#[tokio::test(start_paused = true)]
async fn strategy_shortcuts_have_otp_default_intensity() {
    let sup = Supervisor::one_for_one();
    assert_eq!(
        (sup.flags().intensity, sup.flags().period),
        (1, Duration::from_secs(5))
    );
    let log = common::Log::default();
    let sup = sup.child(common::probe(&log, "a")).start().await.unwrap();
    crash_pid(pid_of(&sup, "a").await, boom()).await;
    crash_pid(pid_of(&sup, "a").await, boom()).await;
    assert_eq!(
        sup.wait().await,
        ExitReason::Shutdown,
        "second restart escalates"
    );
}

/// `gen_server:stop/1`: reason `normal`.
#[tokio::test]
async fn stop_exits_normal() {
    let sup = Supervisor::rest_for_one().start().await.unwrap();
    sup.stop().await.unwrap();
    assert_eq!(sup.wait().await, ExitReason::Normal);
}
