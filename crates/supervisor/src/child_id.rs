use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// The identity of a child within its supervisor: unique among the
/// supervisor's static children. Cheap to clone.
///
/// # OTP
///
/// The `id` of a child specification (any term in Erlang; a string here).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId(Arc<str>);

impl ChildId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ChildId {
    fn from(s: &str) -> ChildId {
        ChildId(Arc::from(s))
    }
}

impl From<String> for ChildId {
    fn from(s: String) -> ChildId {
        ChildId(Arc::from(s))
    }
}

impl From<&ChildId> for ChildId {
    fn from(id: &ChildId) -> ChildId {
        id.clone()
    }
}

impl Borrow<str> for ChildId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ChildId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for ChildId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl fmt::Display for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ChildId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
