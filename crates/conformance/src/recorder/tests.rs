#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use arbor_process::{
    Ctx, ExitReason, Msg, Pid, ProcessHandle, StartOpts, exit, kill, scope, spawn_opts,
};

use super::*;
use crate::probe::{ProbeMsg, spawn_probe};
use crate::scenario::ProbeOpts;
use arbor_process::Myself;
use arbor_process::Process;

fn info(kind: ProcKind, id: &str, generation: u32, parent: Option<Pid>) -> ProcInfo {
    ProcInfo {
        kind,
        id: id.to_owned(),
        generation,
        parent,
    }
}

/// A stand-in supervisor: starts probes on request, reports them like a
/// start function would, and restarts a probe once when it exits.
enum Fake {
    Start(String, ReplyTo<ProcessRef<ProbeMsg>>),
}

fn fake_sup(rec: Recorder, restart: bool) -> ProcessRef<Fake> {
    spawn_opts(
        StartOpts::new().trap_exit(),
        move |mut ctx: Ctx<Fake>| async move {
            let mut ids: HashMap<Pid, String> = HashMap::new();
            loop {
                match ctx.recv().await {
                    Msg::Message(Fake::Start(id, reply)) => {
                        let n = rec.attempt(&id).await.unwrap();
                        let p = spawn_probe(&ProbeOpts::default()).unwrap();
                        let i = info(ProcKind::Probe, &id, n, Some(ctx.pid()));
                        rec.started(i, p.handle().clone()).await.unwrap();
                        ids.insert(p.pid(), id);
                        reply.reply(p);
                    }
                    Msg::Exit(sig) if restart => {
                        if let Some(id) = ids.remove(&sig.from) {
                            let n = rec.attempt(&id).await.unwrap();
                            let p = spawn_probe(&ProbeOpts::default()).unwrap();
                            let i = info(ProcKind::Probe, &id, n, Some(ctx.pid()));
                            rec.started(i, p.handle().clone()).await.unwrap();
                            ids.insert(p.pid(), id);
                        }
                    }
                    _ => {}
                }
            }
        },
    )
    .unwrap()
}

async fn register_sup(rec: &Recorder, sup: &ProcessRef<Fake>, name: &str) {
    rec.sup_init(name).await.unwrap();
    rec.started(info(ProcKind::Sup, name, 1, None), sup.handle().clone())
        .await
        .unwrap();
}

async fn start(sup: &ProcessRef<Fake>, id: &str) -> ProcessRef<ProbeMsg> {
    sup.call_timeout(|r| Fake::Start(id.to_owned(), r), Duration::MAX)
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_death_is_recorded_before_the_restart_it_causes() {
    let rec = Recorder::spawn(BTreeSet::new());
    let sup = fake_sup(rec.clone(), true);
    register_sup(&rec, &sup, "root").await;
    let a = start(&sup, "a").await;
    a.send(ProbeMsg::Crash(ExitReason::custom("boom"))).unwrap();
    a.wait().await;
    // The restart is reported by the supervisor; poll the recorder for it
    // (each lookup is a call, so this waits on the recorder, not on time).
    while !rec
        .lookup("a")
        .await
        .unwrap()
        .is_some_and(|(p, live)| live && p != a.pid())
    {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        rec.dump().await.unwrap(),
        [
            "sup_start root gen=1",
            "start a gen=1",
            "stop a gen=1 reason=boom",
            "start a gen=2"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_killed_supervisors_descendants_are_one_sorted_group() {
    let rec = Recorder::spawn(BTreeSet::new());
    let sup = fake_sup(rec.clone(), false);
    register_sup(&rec, &sup, "root").await;
    let _b = start(&sup, "b").await;
    let _a = start(&sup, "a").await;
    kill(sup.pid());
    sup.wait().await;
    rec.line(vec![Part::Text("after".into())]).await.unwrap();
    assert_eq!(
        rec.dump().await.unwrap(),
        [
            "sup_start root gen=1",
            "start b gen=1",
            "start a gen=1",
            "sup_exit root gen=1 reason=killed",
            "begin orphans root",
            "stop a gen=1 reason=killed",
            "stop b gen=1 reason=killed",
            "end orphans root",
            "after"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn simple_one_for_one_stops_are_held_until_the_supervisor_exits() {
    let rec = Recorder::spawn(BTreeSet::from(["pool".to_owned()]));
    let sup = fake_sup(rec.clone(), false);
    register_sup(&rec, &sup, "pool").await;
    let w2 = start(&sup, "w#2").await;
    let w10 = start(&sup, "w#10").await;
    let w3 = start(&sup, "w#3").await;
    // The op's own target is printed in place.
    rec.target(w3.pid()).await.unwrap();
    exit(w3.pid(), ExitReason::custom("boom"));
    w3.wait().await;
    exit(w2.pid(), ExitReason::Shutdown);
    exit(w10.pid(), ExitReason::Killed);
    w2.wait().await;
    w10.wait().await;
    exit(sup.pid(), ExitReason::Kill);
    sup.wait().await;
    let handle: ProcessHandle = sup.handle().clone();
    assert!(!handle.is_alive());
    assert_eq!(
        rec.dump().await.unwrap(),
        [
            "sup_start pool gen=1",
            "start w#2 gen=1",
            "start w#10 gen=1",
            "start w#3 gen=1",
            "stop w#3 gen=1 reason=boom",
            "begin parallel_stop pool",
            "stop w#10 gen=1 reason=killed",
            "stop w#2 gen=1 reason=shutdown",
            "end parallel_stop pool",
            "sup_exit pool gen=1 reason=killed",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn live_supervisors_are_listed_deepest_first() {
    let rec = Recorder::spawn(BTreeSet::new());
    scope(|me: Ctx<()>| async move {
        let top = fake_sup(rec.clone(), false);
        let mid = fake_sup(rec.clone(), false);
        rec.started(
            info(ProcKind::Sup, "top", 1, Some(me.pid())),
            top.handle().clone(),
        )
        .await
        .unwrap();
        rec.started(
            info(ProcKind::Sup, "mid", 1, Some(top.pid())),
            mid.handle().clone(),
        )
        .await
        .unwrap();
        assert_eq!(rec.live_sups().await.unwrap(), [mid.pid(), top.pid()]);
        assert_eq!(
            rec.whois(mid.pid()).await.unwrap().map(|i| i.parent),
            Some(Some(top.pid()))
        );
    })
    .await
    .unwrap();
}
