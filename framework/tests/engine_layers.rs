//! The engine stays layered: every file of `src/engine/` uses only modules declared above its
//! own in its folder's `mod.rs` (and, inside a folder, that folder's `mod.rs`), so no cycle
//! between engine files can come back unnoticed.
//!
//! References are read from the source text: every `crate::engine::a::b` path outside
//! `#[cfg(test)]` code. `super::` and `self::` paths are refused outright (they would hide a
//! dependency from this check).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A module of the engine: its path below `engine` (`["socket", "route"]`) and its file.
struct Module {
    path: Vec<String>,
    file: PathBuf,
}

fn engine_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine")
}

/// The code of a file without its `#[cfg(test)]` part (always at the end in this crate).
fn code_of(file: &Path) -> String {
    let text = fs::read_to_string(file).expect("readable source");
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The `mod` declarations of a file, in order.
fn declared(code: &str) -> Vec<String> {
    code.lines()
        .map(str::trim)
        .filter_map(|l| {
            let rest = l
                .strip_prefix("pub(crate) mod ")
                .or_else(|| l.strip_prefix("pub(super) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_string)
        })
        .collect()
}

/// Every module below `dir` whose declaring file is `decl`, depth first, with its order.
fn collect(dir: &Path, decl: &Path, prefix: &[String], out: &mut Vec<Module>) {
    for name in declared(&code_of(decl)) {
        let mut path = prefix.to_vec();
        path.push(name.clone());
        let file = dir.join(format!("{name}.rs"));
        let folder = dir.join(&name).join("mod.rs");
        let file = if file.exists() { file } else { folder.clone() };
        assert!(
            file.exists(),
            "module engine::{} has no file",
            path.join("::")
        );
        out.push(Module {
            path: path.clone(),
            file: file.clone(),
        });
        if file == folder {
            collect(&dir.join(&name), &folder, &path, out);
        }
    }
}

/// The engine modules a file names: the longest known prefix of each `crate::engine::` path.
fn references(code: &str, known: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::engine::") {
        let tail = &code[at + "crate::engine::".len()..];
        let mut segments = Vec::new();
        let mut rest = tail;
        loop {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                break;
            }
            segments.push(rest[..end].to_string());
            match rest[end..].strip_prefix("::") {
                Some(next) => rest = next,
                None => break,
            }
        }
        while !segments.is_empty() && !known.contains(&segments) {
            segments.pop();
        }
        if !segments.is_empty() {
            found.push(segments);
        }
    }
    found
}

/// Whether module `from` may use module `to`: `to` is `from`'s folder (its `mod.rs`) or one
/// of its folders, or `to` (or the folder holding it) is declared before `from`'s own line at
/// the level where their paths part.
fn allowed(from: &[String], to: &[String], order: &BTreeMap<Vec<String>, usize>) -> bool {
    if to.len() < from.len() && from.starts_with(to) {
        return true; // a file uses the folder it lives in
    }
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() {
        return false; // a folder's mod.rs reaching into its own files, or itself
    }
    if common == to.len() {
        return false;
    }
    let mine = &from[..=common];
    let theirs = &to[..=common];
    order[theirs] < order[mine]
}

#[test]
fn engine_files_use_only_files_above_them() {
    let dir = engine_dir();
    let mut modules = Vec::new();
    collect(&dir, &dir.join("mod.rs"), &[], &mut modules);
    assert!(modules.len() > 10, "the engine's modules were not found");
    let order: BTreeMap<Vec<String>, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.clone(), i))
        .collect();
    let known: Vec<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let mut wrong = Vec::new();
    for m in &modules {
        let code = code_of(&m.file);
        for banned in ["super::", "self::"] {
            assert!(
                !code.contains(banned),
                "{} uses a `{banned}` path: name engine modules as crate::engine::…",
                m.file.display()
            );
        }
        for to in references(&code, &known) {
            if to != m.path && !allowed(&m.path, &to, &order) {
                wrong.push(format!(
                    "engine::{} uses engine::{}, which is not above it",
                    m.path.join("::"),
                    to.join("::")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_file_that_reaches_down() {
    let known = vec![
        vec!["signals".to_string()],
        vec!["queues".to_string()],
        vec!["queues".to_string(), "send".to_string()],
        vec!["socket".to_string()],
    ];
    let order: BTreeMap<Vec<String>, usize> = known
        .iter()
        .enumerate()
        .map(|(i, m)| (m.clone(), i))
        .collect();
    let refs = references(
        "use crate::engine::socket::SocketActor;\nuse crate::engine::queues::send::{A, B};",
        &known,
    );
    assert_eq!(refs, [known[3].clone(), known[2].clone()]);
    // a queue reaching up to the socket actor is refused; the socket using a queue is fine
    assert!(!allowed(&known[2], &known[3], &order));
    assert!(allowed(&known[3], &known[2], &order));
    // a file may use its folder, but a folder may not reach into its own files
    assert!(allowed(&known[2], &known[1], &order));
    assert!(!allowed(&known[1], &known[2], &order));
}
