//! [`TodoList`]: one todo list, an agent holding its items newest first.

use std::fmt;

use arbor_process::{Agent, CallError, StartError};
use arbor_process::{Process, ProcessWrapper};

/// One todo list: an [`Agent`] whose state is the list's items, newest
/// first. Cheap to clone; clones address the same list. Two handles are
/// equal when they address the same process.
///
/// # Examples
///
/// ```
/// use arbor_todo::TodoList;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let list = TodoList::start().await.unwrap();
/// list.put("eggs").await.unwrap();
/// list.put("milk").await.unwrap();
/// assert_eq!(list.get().await.unwrap(), ["milk", "eggs"]);
/// # }
/// ```
///
/// # OTP
///
/// The guide's `Todo.List` (an `Agent` over a list).
#[derive(Clone, PartialEq)]
pub struct TodoList {
    agent: Agent<Vec<String>>,
}

impl TodoList {
    /// Starts an empty list linked to the calling process (its parent).
    ///
    /// # Errors
    ///
    /// As [`Agent::start_link`] (in practice never: the initial state is
    /// an empty vector).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future may leave the list running.
    ///
    /// # OTP
    ///
    /// `Todo.List.start_link/0`.
    pub async fn start_link() -> Result<TodoList, StartError> {
        let agent = Agent::start_link(Vec::new).await?;
        Ok(TodoList { agent })
    }

    /// Starts an empty list with no parent.
    ///
    /// # Errors
    ///
    /// As [`TodoList::start_link`].
    ///
    /// # Cancel safety
    ///
    /// As [`TodoList::start_link`].
    ///
    /// # OTP
    ///
    /// `Agent.start(fn -> [] end)`.
    pub async fn start() -> Result<TodoList, StartError> {
        let agent = Agent::start(Vec::new).await?;
        Ok(TodoList { agent })
    }

    /// All items, newest first.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the list is gone or does not answer in 5 s.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the read has no effect.
    ///
    /// # OTP
    ///
    /// `Todo.List.get/1`.
    pub async fn get(&self) -> Result<Vec<String>, CallError> {
        self.agent.get(Vec::clone).await
    }

    /// Adds `item` in front (it becomes the newest).
    ///
    /// # Errors
    ///
    /// As [`TodoList::get`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after the request was sent still adds the item.
    ///
    /// # OTP
    ///
    /// `Todo.List.put/2`.
    pub async fn put(&self, item: impl Into<String>) -> Result<(), CallError> {
        let item = item.into();
        self.agent.update(move |items| items.insert(0, item)).await
    }

    /// Removes the first (newest) item equal to `item`, if any, and returns
    /// the list as it was before.
    ///
    /// # Errors
    ///
    /// As [`TodoList::get`].
    ///
    /// # Cancel safety
    ///
    /// As [`TodoList::put`].
    ///
    /// # OTP
    ///
    /// The guide's exercise `Todo.List.delete/2`
    /// (`Agent.get_and_update(list, &{&1, List.delete(&1, item)})`).
    pub async fn delete(&self, item: impl Into<String>) -> Result<Vec<String>, CallError> {
        let item = item.into();
        self.agent
            .get_and_update(move |items| {
                let before = items.clone();
                if let Some(i) = items.iter().position(|x| *x == item) {
                    items.remove(i);
                }
                before
            })
            .await
    }
}

impl ProcessWrapper for TodoList {
    type Inner = Agent<Vec<String>>;

    #[inline]
    fn inner(&self) -> &Agent<Vec<String>> {
        &self.agent
    }
}

impl fmt::Debug for TodoList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TodoList({})", self.pid())
    }
}
