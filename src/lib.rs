//! Integration tests, examples and benchmarks of actormq.
//!
//! The README's Rust examples are compiled as this crate's doc tests (`no_run`: they need
//! peers), so that what a user copies from it builds.
#![doc = include_str!("../README.md")]
