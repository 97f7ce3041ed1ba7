//! The library part of the `actormq` command-line tool: its line format ([`frames`]), shared
//! by the binary and by the fuzz target that feeds it arbitrary lines and frames. The tool
//! itself is the `actormq` binary; see the README's CLI section.

pub mod frames;
