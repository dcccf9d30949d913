//! Every repository path the documents name exists: a file that moved takes its mentions
//! with it. Checked: backticked paths in README.md, docs/, the skills and the tools'
//! READMEs (from the repository's root, from the document's folder, or inside one of the
//! crates for `src/...`/`tests/...`; a bare `name.rs` anywhere in the tree), and relative
//! Markdown links.

use std::path::{Path, PathBuf};

/// Names the skills use as examples of files one would add; they do not exist by design.
const EXAMPLES: &[&str] = &[
    "stop_instance_v1_1_0.rs",
    "src/orchestrations/create_instance_v1_3_0.rs",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn documents(root: &Path) -> Vec<PathBuf> {
    let mut documents = vec![root.join("README.md")];
    for folder in ["docs", ".agents/skills", "tools"] {
        documents.extend(markdown_under(&root.join(folder)));
    }
    documents
}

fn markdown_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut found = vec![];
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(markdown_under(&path));
        } else if path.extension().is_some_and(|ext| ext == "md") {
            found.push(path);
        }
    }
    found
}

/// Every file under `dir` but build output and git's, for bare file names.
fn all_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" || name == ".toygres" {
            continue;
        }
        if path.is_dir() {
            all_files(&path, into);
        } else {
            into.push(path);
        }
    }
}

/// The text between single backticks, code blocks left out.
fn backticked(text: &str) -> Vec<String> {
    let mut spans = vec![];
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            spans.push(inside.to_string());
        }
    }
    spans
}

/// The targets of relative Markdown links (`](path#anchor)`).
fn linked(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or_default().to_string())
        .filter(|target| {
            !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:")
        })
        .collect()
}

/// The path a backticked span names in this repository, if it names one: `None` for
/// commands, placeholders, URLs' paths, other machines' paths and Rust paths.
fn repository_path(span: &str, top_level: &[String]) -> Option<String> {
    if span.contains(char::is_whitespace)
        || span.contains(['<', '>', '*', '{', '$', '=', '"', '\''])
        || span.starts_with(['/', '~', '-'])
    {
        return None;
    }
    let path = span.split("::").next()?.trim_end_matches('/');
    let first = path.split('/').next()?;
    let is_top_level = top_level.iter().any(|entry| entry == first) && first != "target";
    let is_crate_relative = matches!(first, "src" | "tests" | "benches") && path.contains('/');
    // Bare names of other kinds are files elsewhere (`init.sql` in a Secret, ...).
    let is_file_name = !path.contains('/')
        && path
            .strip_suffix(".rs")
            .is_some_and(|stem| !stem.is_empty());
    (is_top_level || is_crate_relative || is_file_name).then(|| path.to_string())
}

fn exists(path: &str, document: &Path, root: &Path, crates: &[PathBuf], files: &[PathBuf]) -> bool {
    let folder = document.parent().expect("a document's folder");
    if root.join(path).exists() || folder.join(path).exists() {
        return true;
    }
    if !path.contains('/') {
        return files
            .iter()
            .any(|file| file.file_name().is_some_and(|name| name == path));
    }
    crates.iter().any(|krate| krate.join(path).exists())
}

#[test]
fn every_repository_path_the_documents_name_exists() {
    let root = root();
    let top_level: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let crates: Vec<PathBuf> = top_level
        .iter()
        .map(|entry| root.join(entry))
        .filter(|dir| dir.join("Cargo.toml").exists())
        .collect();
    let mut files = vec![];
    all_files(&root, &mut files);

    let mut missing = vec![];
    let documents = documents(&root);
    assert!(
        documents.len() > 5,
        "the documents were found: {documents:?}"
    );
    for document in &documents {
        let text = std::fs::read_to_string(document).unwrap();
        let spans = backticked(&text);
        let named = spans
            .iter()
            .filter_map(|span| repository_path(span, &top_level))
            .chain(linked(&text));
        for path in named {
            if !EXAMPLES.contains(&path.as_str())
                && !exists(&path, document, &root, &crates, &files)
            {
                let document = document.strip_prefix(&root).unwrap();
                missing.push(format!("{}: `{path}`", document.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but missing:\n{}",
        missing.join("\n")
    );
}

#[test]
fn what_counts_as_a_repository_path() {
    let top_level = [
        "docs".to_string(),
        "toygres-cli".to_string(),
        "target".into(),
    ];
    let path = |span| repository_path(span, &top_level);
    assert_eq!(path("docs/api.md"), Some("docs/api.md".into()));
    assert_eq!(
        path("tests/it/upgrade.rs::shipped"),
        Some("tests/it/upgrade.rs".into())
    );
    assert_eq!(path("registry.rs"), Some("registry.rs".into()));
    assert_eq!(path("init.sql"), None, "a key of a Secret, not a file here");
    for not_a_path in [
        "/api/v1/instances",
        "<data-dir>/instances",
        "toygres-cli create shop",
        "target/release/toygres-server",
        "toygres-orchestrations::tag::platform",
        "application/json",
        "~/.toygres",
        "1.2.0",
    ] {
        assert_eq!(path(not_a_path), None, "{not_a_path}");
    }
}
