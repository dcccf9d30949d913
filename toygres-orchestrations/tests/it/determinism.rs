//! Guards on the orchestration sources: they stay deterministic, and a shipped version is
//! never edited.
//!
//! Replay runs orchestration code again and expects the same decisions, so anything whose
//! answer can change between runs (clocks, sleeps, randomness, I/O, hash-map order, direct
//! access to the CMS or the platform) must go through `ctx` or an activity instead.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Source patterns that have no place in an orchestration, with the reason.
const FORBIDDEN: &[(&str, &str)] = &[
    ("tokio::time::sleep", "use ctx.schedule_timer"),
    ("thread::sleep", "use ctx.schedule_timer"),
    ("SystemTime", "use ctx.utc_now"),
    ("Instant", "use ctx.utc_now"),
    ("Utc::now", "use ctx.utc_now"),
    ("Local::now", "use ctx.utc_now"),
    ("rand", "use ctx.new_guid, or an activity"),
    ("Uuid::new_v4", "use ctx.new_guid"),
    ("HashMap", "iteration order changes between runs"),
    ("HashSet", "iteration order changes between runs"),
    ("std::fs", "I/O belongs in an activity"),
    ("tokio::fs", "I/O belongs in an activity"),
    ("std::net", "I/O belongs in an activity"),
    ("tokio::net", "I/O belongs in an activity"),
    ("std::process", "I/O belongs in an activity"),
    ("tokio::process", "I/O belongs in an activity"),
    ("std::env", "configuration belongs in the input"),
    ("sqlx", "the CMS belongs in an activity"),
    ("reqwest", "I/O belongs in an activity"),
    (
        "tokio::spawn",
        "use ctx.schedule_* or a detached orchestration",
    ),
    ("tokio::select", "use ctx.select2"),
    ("tokio::join", "use ctx.join"),
    ("println", "use ctx.trace_*"),
    (
        "tracing::",
        "use ctx.trace_*, which is silent during replay",
    ),
    ("crate::cms::instances", "the CMS belongs in an activity"),
    ("crate::cms::health", "the CMS belongs in an activity"),
    ("crate::cms::fence", "the CMS belongs in an activity"),
    (
        "crate::platform::local",
        "the platform belongs in an activity",
    ),
    ("crate::probe", "I/O belongs in an activity"),
    ("crate::dependencies", "dependencies belong to activities"),
];

fn orchestrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/orchestrations")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

/// Code without comments (doc comments may well say "never sleep").
fn code_only(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `pattern` occurring as a whole word (or path) in `code`.
fn contains_word(code: &str, pattern: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let open_ended = pattern.ends_with(|c: char| is_ident(c));
    code.match_indices(pattern).any(|(at, _)| {
        let glued_before = code[..at].chars().next_back().is_some_and(is_ident);
        let glued_after = code[at + pattern.len()..]
            .chars()
            .next()
            .is_some_and(is_ident);
        let glued = glued_before || (open_ended && glued_after);
        !glued
    })
}

fn violations(source: &str) -> Vec<String> {
    let code = code_only(source);
    FORBIDDEN
        .iter()
        .filter(|(pattern, _)| contains_word(&code, pattern))
        .map(|(pattern, why)| format!("`{pattern}`: {why}"))
        .collect()
}

#[test]
fn orchestrations_use_nothing_that_breaks_replay() {
    let files = rust_files(&orchestrations_dir());
    assert!(files.len() >= 4, "the orchestration sources were not found");
    let problems: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let source = fs::read_to_string(file).unwrap();
            violations(&source)
                .into_iter()
                .map(move |v| format!("{}: {v}", file.display()))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "non-deterministic code in orchestrations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_guard_catches_what_it_claims_to() {
    assert!(
        !violations("ctx.schedule_timer(d).await;")
            .iter()
            .any(|_| true)
    );
    assert_eq!(violations("tokio::time::sleep(d).await;").len(), 1);
    assert_eq!(violations("let t = std::time::Instant::now();").len(), 1);
    assert_eq!(violations("let n: u8 = rand::random();").len(), 1);
    assert_eq!(violations("let s = std::fs::read(p);").len(), 1);
    assert!(violations("// never tokio::time::sleep here").is_empty());
    assert!(violations("let s: InstanceState = x; let r = operand;").is_empty());
}

/// Every file listed in `SHIPPED` is a version that may be running somewhere: it is
/// frozen, byte for byte. Changing one means adding a version beside it (see the
/// versioning skill), never editing it: instances that started on it replay its code. A
/// file not listed yet is a version still being written, and free to change.
#[test]
fn shipped_orchestration_versions_are_never_edited() {
    let dir = orchestrations_dir();
    let manifest = fs::read_to_string(dir.join("SHIPPED")).expect("orchestrations/SHIPPED");
    let listed: Vec<(&str, &str)> = manifest
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once("  ").expect("lines are `<sha256>  <file>`"))
        .collect();
    assert!(listed.len() >= 4, "SHIPPED lists the shipped versions");
    let problems: Vec<String> = listed
        .iter()
        .filter_map(
            |(expected, file_name)| match fs::read(dir.join(file_name)) {
                Err(_) => Some(format!(
                    "{file_name} is listed in SHIPPED but gone: a shipped version stays"
                )),
                Ok(bytes) if format!("{:x}", Sha256::digest(&bytes)) != *expected => Some(format!(
                    "{file_name} changed after it shipped; add a new version beside it instead \
                 (.agents/skills/duroxide-orchestration-versioning/SKILL.md)"
                )),
                Ok(_) => None,
            },
        )
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
