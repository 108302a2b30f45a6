//! arbor-supervisor (work in progress).
