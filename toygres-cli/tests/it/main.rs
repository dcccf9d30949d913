//! The CLI's integration tests, one binary: what needs no server (exit codes, usage
//! errors) and what checks the repository's documents against the tree.

mod completion;
mod docs_paths;
mod exit_codes;
