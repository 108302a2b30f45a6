//! Model test: random sequences of add / remove / notify / crash / swap,
//! checked against a pure model of the handler list (registration order)
//! and of what every handler sees.

mod support;

use arbor_genevent::{AddError, EventManager, RemoveError};
use proptest::prelude::*;
use support::{Ev, Probe, drain, id, log};

const NAMES: [&str; 4] = ["h0", "h1", "h2", "h3"];

#[derive(Clone, Debug)]
enum Op {
    Add(usize),
    Remove(usize),
    Notify(u32),
    Crash(usize),
    Swap(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4usize).prop_map(Op::Add),
        1 => (0..4usize).prop_map(Op::Remove),
        2 => (0..100u32).prop_map(Op::Notify),
        1 => (0..4usize).prop_map(Op::Crash),
        1 => (0..4usize, 0..4usize).prop_map(|(a, b)| Op::Swap(a, b)),
    ]
}

/// The expected log lines of dispatching `ev` over `model`, and the model
/// afterwards.
fn dispatch(model: &mut Vec<&'static str>, ev: &Ev) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < model.len() {
        let name = model[i];
        out.push(format!("{name}:{ev:?}"));
        match *ev {
            Ev::Panic(w) if w == name => {
                out.push(format!("{name}:terminate:{{panic,\"boom\"}}"));
                model.remove(i);
            }
            Ev::Swap(w, new) if w == name => {
                out.push(format!("{name}:terminate:{{swapped,{new}}}"));
                if new != name && model.contains(&new) {
                    model.remove(i);
                } else {
                    out.push(format!("{new}:init_swapped:{name}-state"));
                    model[i] = new;
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn manager_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        quiet_boom();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (log, mut rx) = log();
            let mgr = EventManager::<Ev>::start().await.unwrap();
            let mut model: Vec<&'static str> = Vec::new();
            for op in ops {
                let expected: Vec<String> = match op {
                    Op::Add(i) => {
                        let name = NAMES[i];
                        let got = mgr.add_handler(id(name), Probe::new(name, &log)).await;
                        if model.contains(&name) {
                            assert_eq!(got, Err(AddError::AlreadyPresent(id(name))));
                            vec![]
                        } else {
                            assert_eq!(got, Ok(()));
                            model.push(name);
                            vec![format!("{name}:init")]
                        }
                    }
                    Op::Remove(i) => {
                        let name = NAMES[i];
                        let got = mgr.remove_handler(&id(name)).await;
                        if let Some(pos) = model.iter().position(|n| *n == name) {
                            assert!(got.is_ok());
                            model.remove(pos);
                            vec![format!("{name}:terminate:deleted")]
                        } else {
                            assert_eq!(got.unwrap_err(), RemoveError::NotFound);
                            vec![]
                        }
                    }
                    Op::Notify(n) => {
                        mgr.notify(Ev::N(n));
                        mgr.sync_notify(Ev::N(n + 1000)).await.unwrap();
                        let mut out = dispatch(&mut model, &Ev::N(n));
                        out.extend(dispatch(&mut model, &Ev::N(n + 1000)));
                        out
                    }
                    Op::Crash(i) => {
                        let ev = Ev::Panic(NAMES[i]);
                        mgr.sync_notify(ev.clone()).await.unwrap();
                        dispatch(&mut model, &ev)
                    }
                    Op::Swap(a, b) => {
                        let ev = Ev::Swap(NAMES[a], NAMES[b]);
                        mgr.sync_notify(ev.clone()).await.unwrap();
                        dispatch(&mut model, &ev)
                    }
                };
                assert_eq!(drain(&mut rx), expected);
                let ids: Vec<_> = model.iter().map(|n| id(n)).collect();
                assert_eq!(mgr.which_handlers().await.unwrap(), ids);
            }
            mgr.stop().await.unwrap();
            let stops: Vec<String> = model.iter().map(|n| format!("{n}:terminate:stop")).collect();
            assert_eq!(drain(&mut rx), stops);
        });
    }
}

/// The fixture's `boom` panics are expected: do not print them.
fn quiet_boom() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&"boom") {
                default(info);
            }
        }));
    });
}
