//! arbor-genevent (work in progress).
