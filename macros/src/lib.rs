//! Derive macros for actormq. The derives arrive with the typed layer (see the README).
