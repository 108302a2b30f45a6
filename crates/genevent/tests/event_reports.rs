//! Reports: `tracing` events for handler added, removed (with the reason)
//! and crashed, target `arbor::genevent` (OTP's progress and error reports).

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use arbor_genevent::EventManager;
use arbor_process::Process;
use support::{Ev, Probe, id, log};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The manager runs on this test's thread (current-thread runtime), so the
/// thread-local subscriber sees its events.
#[tokio::test]
async fn handler_added_removed_crashed_are_reported() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (log, _rx) = log();
    let mgr = EventManager::<Ev>::start().await.unwrap();
    mgr.add_handler(id("a"), Probe::new("a", &log))
        .await
        .unwrap();
    mgr.add_handler(id("b"), Probe::new("b", &log))
        .await
        .unwrap();
    mgr.sync_notify(Ev::Panic("a")).await.unwrap();
    mgr.remove_handler(&id("b")).await.unwrap();

    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("arbor::genevent") && l.contains("handler"))
        .collect();
    let pid = mgr.pid();
    assert_eq!(
        lines,
        [
            format!(" INFO arbor::genevent: handler added manager={pid} handler=a"),
            format!(" INFO arbor::genevent: handler added manager={pid} handler=b"),
            format!(
                "ERROR arbor::genevent: handler crashed manager={pid} handler=a reason={{panic,\"boom\"}}"
            ),
            format!(
                " INFO arbor::genevent: handler removed manager={pid} handler=b reason=deleted"
            ),
        ]
    );
}
