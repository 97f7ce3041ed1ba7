//! Graph files: arbitrary bytes as a TOML, YAML or JSON graph file, checked against the
//! built-in kinds (the first byte picks the format).

use std::panic::AssertUnwindSafe;

use actormq::graph::{load, Kinds};

fn main() {
    // the kinds are only read: a panic cannot leave them half-changed
    let kinds = AssertUnwindSafe(Kinds::builtin());
    let kinds = &kinds;
    let dir = std::env::temp_dir().join(format!("actormq-fuzz-graph-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    afl::fuzz!(|data: &[u8]| {
        let Some((&format, text)) = data.split_first() else {
            return;
        };
        let ext = ["toml", "yaml", "json"][usize::from(format % 3)];
        let path = dir.join(format!("graph.{ext}"));
        if std::fs::write(&path, text).is_ok() {
            let _ = load(&path, kinds);
        }
    });
}
