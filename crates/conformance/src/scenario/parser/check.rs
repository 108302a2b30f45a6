//! Whole-scenario validation, after every line parsed: references, unique
//! ids, the shape of simple_one_for_one supervisors, names.

use std::collections::BTreeMap;

use super::{Res, perr};
use crate::scenario::{ChildDecl, Kind, Op, Scenario, Strategy};

/// Whole-scenario checks: references, unique ids, simple_one_for_one shape.
pub(super) fn check_tree(s: &Scenario) -> Res<()> {
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    for c in &s.children {
        if !s.sups.contains_key(&c.parent) {
            return perr(c.line, format!("unknown parent supervisor '{}'", c.parent));
        }
        check_kind(c, s)?;
        match (c.duplicate, owner.get(c.id.as_str())) {
            (true, Some(p)) if *p == c.parent.as_str() => {}
            (true, _) => {
                return perr(
                    c.line,
                    format!(
                        "duplicate=true but no earlier child '{}' of '{}'",
                        c.id, c.parent
                    ),
                );
            }
            (false, Some(_)) => {
                return perr(c.line, format!("child id '{}' used twice", c.id));
            }
            (false, None) => {
                owner.insert(&c.id, &c.parent);
            }
        }
    }
    for (name, d) in &s.sups {
        if d.strategy() == Strategy::SimpleOneForOne {
            let mine: Vec<&ChildDecl> = s.children.iter().filter(|c| &c.parent == name).collect();
            if let [t] = mine.as_slice()
                && t.kind == Kind::Supervisor
                && s.children.iter().any(|c| c.parent == t.id)
            {
                return perr(
                    t.line,
                    format!(
                        "supervisor '{}' is the template of simple_one_for_one '{name}': it cannot have children",
                        t.id
                    ),
                );
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut cur: &str = name;
        loop {
            if seen.contains(&cur) {
                return perr(d.line, format!("supervisor '{cur}' contains itself"));
            }
            seen.push(cur);
            match owner.get(cur) {
                Some(p) => cur = p,
                None => break,
            }
        }
    }
    let names = declared_names(s);
    let mut marked = false;
    for o in &s.ops {
        let op = match &o.op {
            Op::RestartingOk(inner) => inner.as_ref(),
            op => op,
        };
        match op {
            Op::Whereis(r) if !names.contains(r) => {
                return perr(
                    o.line,
                    format!("whereis: no name={r} anywhere in the scenario"),
                );
            }
            Op::Mark => marked = true,
            Op::Elapsed(..) if !marked => return perr(o.line, "elapsed: no earlier mark"),
            _ => {}
        }
    }
    let statics = owner.clone();
    for o in &s.ops {
        let op = match &o.op {
            Op::RestartingOk(inner) => inner.as_ref(),
            op => op,
        };
        match op {
            Op::StartChild(sup, c) => {
                check_kind(c, s)?;
                match owner.get(c.id.as_str()) {
                    Some(other) if *other != sup.as_str() => {
                        return perr(
                            o.line,
                            format!("id '{}' already belongs to supervisor '{other}'", c.id),
                        );
                    }
                    _ => {
                        owner.insert(&c.id, sup);
                    }
                }
            }
            Op::Start(sup) => {
                if let Some(p) = statics.get(sup.as_str()) {
                    return perr(
                        o.line,
                        format!("'{sup}' is a child of '{p}'; start its top-level supervisor"),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every `name=` of the scenario: sups, child lines, `start_child` ops.
fn declared_names(s: &Scenario) -> Vec<String> {
    let mut names: Vec<String> = s.sups.values().filter_map(|d| d.reg_name.clone()).collect();
    names.extend(s.children.iter().filter_map(|c| c.probe.name.clone()));
    for o in &s.ops {
        let op = match &o.op {
            Op::RestartingOk(inner) => inner.as_ref(),
            op => op,
        };
        match op {
            Op::StartChild(_, c) => names.extend(c.probe.name.clone()),
            Op::StartChildExtra(_, p) => names.extend(p.name.clone()),
            _ => {}
        }
    }
    names
}

fn check_kind(c: &ChildDecl, s: &Scenario) -> Res<()> {
    match (c.kind, s.sups.contains_key(&c.id)) {
        (Kind::Supervisor, false) => perr(
            c.line,
            format!("type=supervisor but no 'sup {}' declared", c.id),
        ),
        (Kind::Worker, true) => perr(
            c.line,
            format!("'{}' is a declared supervisor: give type=supervisor", c.id),
        ),
        _ => Ok(()),
    }
}
