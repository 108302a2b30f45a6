//! The clients: tasks that create lists, put and delete items, and
//! `sync_notify` numbered events, recording each outcome in the ledger.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arbor::genevent::{AddError, Forwarder, HandlerId};
use arbor::process::{ExitReason, Pid, ProcessHandle, registered, whereis};
use arbor_todo::{TodoApp, TodoEvent, TodoList};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::DEATH_TIMEOUT;
use crate::checker::check_dead_list;
use crate::collector::SEQ;
use crate::ledger::{ERR, OK};
use crate::rng::Rng;
use crate::shared::{Shared, lock};
use arbor::process::Process;

/// The handler the clients install: forwards every event to the collector.
fn handler_id() -> HandlerId {
    HandlerId::of::<Forwarder<TodoEvent>>().tag("chaos")
}

/// What a client did, summed over the clients for the report.
#[derive(Debug, Default, Clone)]
pub(crate) struct ClientStats {
    pub(crate) ops: u64,
    pub(crate) creates: u64,
    pub(crate) puts_ok: u64,
    pub(crate) puts_failed: u64,
    pub(crate) lists_stopped: u64,
    pub(crate) not_running: u64,
    pub(crate) handler_added: u64,
    pub(crate) handler_present: u64,
    pub(crate) dead_lists_checked: u64,
}

impl ClientStats {
    fn add(&mut self, o: &ClientStats) {
        self.ops += o.ops;
        self.creates += o.creates;
        self.puts_ok += o.puts_ok;
        self.puts_failed += o.puts_failed;
        self.lists_stopped += o.lists_stopped;
        self.not_running += o.not_running;
        self.handler_added += o.handler_added;
        self.handler_present += o.handler_present;
        self.dead_lists_checked += o.dead_lists_checked;
    }
}

/// One client task's state.
struct Client {
    id: usize,
    app: TodoApp,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<TodoEvent>,
    rng: Rng,
    stats: ClientStats,
    /// The event manager where this client saw the handler installed.
    confirmed: Option<Pid>,
    /// The list the client's events carry (the event type needs one).
    probe: TodoList,
    /// What the client awaits now (an index into `PHASES`), to name a hang.
    phase: Arc<AtomicU64>,
    /// The event manager the client talks to, to name it in a hang.
    callee: Arc<Mutex<Option<ProcessHandle>>>,
}

/// What a client can be waiting for, by `Client::phase`.
const PHASES: [&str; 12] = [
    "idle",
    "add_handler",
    "sync_notify",
    "lookup (create)",
    "put",
    "get (create)",
    "list stop normal",
    "delete",
    "lookup (read)",
    "get (read)",
    "dead list check",
    "probe stop",
];

impl Client {
    fn at(&self, phase: u64) {
        self.phase.store(phase, Ordering::Relaxed);
    }

    async fn run(mut self, stop: Arc<AtomicBool>) -> ClientStats {
        while !stop.load(Ordering::Relaxed) {
            self.stats.ops += 1;
            match self.rng.below(10) {
                0..=3 => self.send_event().await,
                4..=7 => self.create_and_put().await,
                _ => self.read().await,
            }
            tokio::task::yield_now().await;
        }
        self.at(11);
        let _ = self
            .probe
            .stop_with(ExitReason::Normal, Duration::MAX)
            .await;
        self.stats
    }

    async fn send_event(&mut self) {
        let Ok(em) = self.app.event_manager() else {
            self.stats.not_running += 1;
            return;
        };
        *lock(&self.callee) = Some(em.handle().clone());
        if self.confirmed != Some(em.pid()) {
            self.at(1);
            match em
                .add_handler(handler_id(), Forwarder::to_channel(self.tx.clone()))
                .await
            {
                Ok(()) => self.stats.handler_added += 1,
                Err(AddError::AlreadyPresent(_)) => self.stats.handler_present += 1,
                Err(_) => return, // that manager died meanwhile
            }
            self.confirmed = Some(em.pid());
        }
        let seq = self.shared.next_seq.fetch_add(1, Ordering::SeqCst);
        let event = TodoEvent::Create {
            name: format!("{SEQ}{seq}"),
            list: self.probe.clone(),
        };
        self.at(2);
        let bit = if em.sync_notify(event).await.is_ok() {
            OK
        } else {
            ERR
        };
        lock(&self.shared.ledger).record(seq, bit);
    }

    async fn create_and_put(&mut self) {
        let name = format!("c{}-{}", self.id, self.rng.below(16));
        if self.app.create(name.clone()).is_err() {
            self.stats.not_running += 1;
            return;
        }
        self.stats.creates += 1;
        self.at(3);
        let Ok(Some(list)) = self.app.lookup(&name).await else {
            return; // the manager restarted in between, or is restarting
        };
        let item = format!("item{}", self.rng.below(4));
        self.at(4);
        if list.put(item.clone()).await.is_err() {
            self.stats.puts_failed += 1;
            self.stats.dead_lists_checked += 1;
            self.at(10);
            check_dead_list(&self.app, &name, &list, &self.shared).await;
            return;
        }
        self.stats.puts_ok += 1;
        // Keep lists small; a full one exits `normal` (the manager forgets it).
        self.at(5);
        match list.get().await {
            Ok(items) if items.len() > 8 => {
                self.at(6);
                if list
                    .stop_with(ExitReason::Normal, Duration::MAX)
                    .await
                    .is_ok()
                {
                    self.stats.lists_stopped += 1;
                }
                self.stats.dead_lists_checked += 1;
                self.at(10);
                check_dead_list(&self.app, &name, &list, &self.shared).await;
            }
            Ok(_) if self.rng.below(2) == 0 => {
                self.at(7);
                let _ = list.delete(item).await;
            }
            Ok(_) => {}
            Err(_) => {}
        }
    }

    async fn read(&mut self) {
        let name = format!("c{}-{}", self.id, self.rng.below(16));
        self.at(8);
        match self.app.lookup(&name).await {
            Ok(Some(list)) => {
                self.at(9);
                if list.get().await.is_err() {
                    self.stats.dead_lists_checked += 1;
                    self.at(10);
                    check_dead_list(&self.app, &name, &list, &self.shared).await;
                }
            }
            Ok(None) => {}
            Err(_) => self.stats.not_running += 1,
        }
    }
}

// ===== impl Clients =====

/// One running client, with what names it in a hang.
struct Running {
    id: usize,
    phase: Arc<AtomicU64>,
    callee: Arc<Mutex<Option<ProcessHandle>>>,
    task: JoinHandle<ClientStats>,
}

/// The running clients and their stop flag.
pub(crate) struct Clients {
    stop: Arc<AtomicBool>,
    running: Vec<Running>,
}

impl Clients {
    /// Starts `n` clients, each with a probe list and a seed from `seeder`.
    /// Exits the process (code 1) if a probe list does not start.
    pub(crate) async fn spawn(
        n: usize,
        app: &TodoApp,
        shared: &Arc<Shared>,
        tx: &mpsc::UnboundedSender<TodoEvent>,
        seeder: &mut Rng,
    ) -> Clients {
        let stop = Arc::new(AtomicBool::new(false));
        let mut running = Vec::new();
        for id in 0..n {
            let probe = match TodoList::start().await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("could not start a probe list: {e}");
                    std::process::exit(1);
                }
            };
            let client = Client {
                id,
                app: app.clone(),
                shared: shared.clone(),
                tx: tx.clone(),
                rng: Rng(seeder.next()),
                stats: ClientStats::default(),
                confirmed: None,
                probe,
                phase: Arc::new(AtomicU64::new(0)),
                callee: Arc::new(Mutex::new(None)),
            };
            let (phase, callee) = (client.phase.clone(), client.callee.clone());
            let task = tokio::spawn(client.run(stop.clone()));
            running.push(Running {
                id,
                phase,
                callee,
                task,
            });
        }
        Clients { stop, running }
    }

    /// Stops the clients and sums their counts; a client that does not end
    /// within [`DEATH_TIMEOUT`] is a violation (named by what it awaits).
    pub(crate) async fn stop(self, shared: &Shared) -> ClientStats {
        self.stop.store(true, Ordering::Relaxed);
        let mut stats = ClientStats::default();
        for Running {
            id,
            phase,
            callee,
            task: mut c,
        } in self.running
        {
            match tokio::time::timeout(DEATH_TIMEOUT, &mut c).await {
                Ok(Ok(s)) => stats.add(&s),
                Ok(Err(e)) => shared.violations.report(format!("client task failed: {e}")),
                Err(_) => {
                    let at = PHASES[phase.load(Ordering::Relaxed) as usize];
                    let em = lock(&callee).clone().map(|h| {
                        format!(
                            "{} (alive: {}, exit reason: {:?})",
                            h.pid(),
                            h.is_alive(),
                            h.exit_reason()
                        )
                    });
                    shared.violations.report(format!(
                        "client {id} hangs in {at} for {DEATH_TIMEOUT:?}; last event manager {em:?}; registered: {:?}",
                        registered()
                            .iter()
                            .map(|n| (n.as_str().to_owned(), whereis(n.as_str())))
                            .collect::<Vec<_>>()
                    ));
                    c.abort();
                    let _ = c.await;
                }
            }
        }
        stats
    }
}
