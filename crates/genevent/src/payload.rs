//! [`Payload`]: a value of any type, for the rare paths (handler calls,
//! `terminate` values, user info messages).

use std::any::Any;
use std::fmt;

/// A boxed value of any `Send` type: the request and reply of a handler
/// call, the value `terminate` returns, a user info message.
///
/// Events never travel as a `Payload`: they are typed per manager. Only the
/// rare paths are dynamically typed, so each handler can have its own call
/// protocol without the manager knowing it.
///
/// # Examples
///
/// ```
/// use arbor_genevent::Payload;
/// let p = Payload::new(42u32);
/// assert!(p.is::<u32>());
/// let p = p.downcast::<String>().unwrap_err(); // wrong type: get it back
/// assert_eq!(p.downcast::<u32>().ok(), Some(42));
/// ```
pub struct Payload(Box<dyn Any + Send>);

impl Payload {
    /// Wraps `value`. A zero-sized value (such as `()`) does not allocate.
    pub fn new<T: Any + Send>(value: T) -> Payload {
        Payload(Box::new(value))
    }

    /// The unit payload, what `terminate` returns by default (Erlang's `ok`).
    pub fn unit() -> Payload {
        Payload::new(())
    }

    /// Whether the value is a `T`.
    pub fn is<T: Any>(&self) -> bool {
        self.0.is::<T>()
    }

    /// A reference to the value if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    /// The value if it is a `T`.
    ///
    /// # Errors
    ///
    /// The payload itself, unchanged, if the value is not a `T`.
    pub fn downcast<T: Any>(self) -> Result<T, Payload> {
        self.0.downcast::<T>().map(|b| *b).map_err(Payload)
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Payload(..)")
    }
}
