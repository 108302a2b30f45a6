//! The model's configuration: the supervisor and child specs it starts
//! from.

use arbor_supervisor::{Restart, Strategy, SupFlags};

/// A child spec in the model's configuration: a probe worker (tag = id),
/// or a nested supervisor.
#[derive(Debug, Clone)]
pub struct SpecConfig {
    /// The child id (also the probe's tag).
    pub id: String,
    /// Its restart type.
    pub restart: Restart,
    /// For a supervisor child: its configuration.
    pub nested: Option<Box<SupConfig>>,
}

/// A supervisor's configuration.
#[derive(Debug, Clone)]
pub struct SupConfig {
    /// Its flags (auto_shutdown must be `never`).
    pub flags: SupFlags,
    /// Static children, in start order (empty for simple_one_for_one).
    pub children: Vec<SpecConfig>,
    /// simple_one_for_one: the restart type of the template, whose probe
    /// id is `t` (children are tagged `t:<n>`).
    pub template: Option<Restart>,
}

impl SpecConfig {
    /// A probe worker `id` (its log tag) with this restart type.
    pub fn worker(id: &str, restart: Restart) -> SpecConfig {
        SpecConfig {
            id: id.to_string(),
            restart,
            nested: None,
        }
    }

    /// A nested static supervisor `id` with this restart type and
    /// configuration (whose children must be workers).
    pub fn supervisor(id: &str, restart: Restart, config: SupConfig) -> SpecConfig {
        SpecConfig {
            id: id.to_string(),
            restart,
            nested: Some(Box::new(config)),
        }
    }
}

impl SupConfig {
    /// A static supervisor (`one_for_one`, `one_for_all`, `rest_for_one`)
    /// with these flags and no children yet.
    pub fn new(flags: SupFlags) -> SupConfig {
        SupConfig {
            flags,
            children: Vec::new(),
            template: None,
        }
    }

    /// A simple_one_for_one supervisor (the strategy in `flags` is set to
    /// it) whose template probe `t` has this restart type.
    pub fn simple(flags: SupFlags, template: Restart) -> SupConfig {
        SupConfig {
            flags: flags.strategy(Strategy::SimpleOneForOne),
            children: Vec::new(),
            template: Some(template),
        }
    }

    /// Adds a probe worker (see [`SpecConfig::worker`]) at the end of the
    /// start order.
    pub fn worker(self, id: &str, restart: Restart) -> SupConfig {
        self.child(SpecConfig::worker(id, restart))
    }

    /// Adds a child at the end of the start order.
    pub fn child(mut self, spec: SpecConfig) -> SupConfig {
        self.children.push(spec);
        self
    }
}
