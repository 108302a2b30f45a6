//! pg against a real server, driven through crate internals.
