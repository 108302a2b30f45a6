//! arbor-todo (work in progress).
