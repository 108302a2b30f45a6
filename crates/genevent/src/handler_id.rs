//! [`HandlerId`]: how handlers are named inside one manager.

use std::fmt;
use std::sync::Arc;

/// The identity of an installed handler: a kind (by default the handler's
/// type name) and an optional tag that tells apart several handlers of the
/// same kind.
///
/// Lookup is by exact equality: `HandlerId::of::<H>()` matches only a
/// handler installed without a tag, `HandlerId::of::<H>().tag("x")` only
/// the one tagged `"x"`. Cheap to clone (the tag is behind an `Arc`).
///
/// Printed like Erlang's handler ids: `Forwarder`, `{Forwarder,x}`.
///
/// # Examples
///
/// ```
/// use arbor_genevent::{Forwarder, HandlerId};
/// let plain = HandlerId::of::<Forwarder<u32>>();
/// assert_eq!(plain.to_string(), "Forwarder");
/// assert_eq!(plain.clone().tag("audit").to_string(), "{Forwarder,audit}");
/// assert_ne!(plain, HandlerId::of::<Forwarder<u32>>().tag("audit"));
/// ```
///
/// # OTP
///
/// `Module` or `{Module, Id}` of `gen_event`, with the same lookup rule
/// (a plain `Module` never matches `{Module, Id}`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandlerId {
    kind: &'static str,
    tag: Option<Arc<str>>,
}

impl HandlerId {
    /// An id of kind `kind` without a tag.
    pub const fn new(kind: &'static str) -> HandlerId {
        HandlerId { kind, tag: None }
    }

    /// The id of kind "short type name of `H`" (no module path, no generic
    /// parameters) without a tag.
    pub fn of<H: ?Sized>() -> HandlerId {
        HandlerId::new(short_type_name(std::any::type_name::<H>()))
    }

    /// The same id with `tag` (replacing any previous tag).
    pub fn tag(mut self, tag: impl Into<Arc<str>>) -> HandlerId {
        self.tag = Some(tag.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The tag, if any.
    pub fn tag_str(&self) -> Option<&str> {
        self.tag.as_deref()
    }
}

/// `a::b::Forwarder<alloc::string::String>` → `Forwarder`.
fn short_type_name(full: &'static str) -> &'static str {
    let base = match full.find('<') {
        Some(i) => &full[..i],
        None => full,
    };
    match base.rfind("::") {
        Some(i) => &base[i + 2..],
        None => base,
    }
}

impl fmt::Display for HandlerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            None => f.write_str(self.kind),
            Some(t) => write!(f, "{{{},{}}}", self.kind, t),
        }
    }
}

impl fmt::Debug for HandlerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("a::b::Fwd<x::Y<z::W>>"), "Fwd");
        assert_eq!(short_type_name("Fwd"), "Fwd");
        assert_eq!(short_type_name("u64"), "u64");
    }
}
