//! The test harness: real PostgreSQL, real processes, nothing mocked.
//!
//! - [`database::TestDatabase`]: a fresh database per test, on `TOYGRES_TEST_DATABASE_URL`
//!   when it is set, else on a throwaway cluster this process starts from the system's
//!   PostgreSQL binaries (as the `postgres` user when the tests run as root).
//! - [`control_plane::TestControlPlane`]: the CMS, the local platform and a duroxide
//!   runtime on duroxide-pg, which a test can crash and start again.
//! - [`kubernetes::TestCluster`]: the Kubernetes-style test API server (`KUBECONFIG`), a
//!   namespace per test, and a fake kubelet that runs a real PostgreSQL for a pod.
//! - [`server::TestServer`]: the real `toygres-server` binary as a child process, and the
//!   real `toygres-cli` binary to drive it.
//! - [`browser::Browser`]: headless Chromium through WebDriver, for the web console.
//! - [`legacy`]: an instance as the release before owner roles and TLS left it.
//!
//! Everything a test process creates lives under one scratch directory; a watchdog removes
//! it, and stops every PostgreSQL server under it, when the process exits, even after a
//! panic or a `kill -9`.

pub mod bench;
pub mod browser;
pub mod control_plane;
pub mod database;
pub mod eventually;
pub mod fake_platform;
pub mod kubelet_log;
pub mod kubernetes;
pub mod legacy;
pub mod password_server;
pub mod private_cluster;
pub mod processes;
pub mod prometheus;
pub mod psql;
pub mod recorded;
pub mod scratch;
pub mod server;
pub mod small_disk;

pub use control_plane::TestControlPlane;
pub use database::TestDatabase;
pub use eventually::eventually;

use std::io::Write;

/// Installs a test-friendly tracing subscriber once (before any duroxide runtime starts,
/// which would otherwise install its own). `RUST_LOG` overrides the default filter.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,toygres_orchestrations=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A test that cannot run here (an outside dependency is missing, or it needs root) says
/// so and returns; in CI (`CI=true`) everything it needs is part of the contract, so it
/// fails instead.
///
/// The `SKIPPED` line goes to the process's stderr itself: libtest captures what
/// `eprintln!` prints and shows it only for a failing test, so a skip printed that way
/// would pass as `ok` unseen.
pub fn skip_or_fail_in_ci(reason: &str) {
    assert!(!in_ci(), "CI must run this test, but {reason}");
    // A closed stderr loses the line, not the skip.
    let _ = std::io::stderr().write_all(skipped_line(reason).as_bytes());
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true")
}

/// `SKIPPED <test>: <reason>`, the test named by its thread (libtest names each test's
/// thread after it; `main` is not a test).
fn skipped_line(reason: &str) -> String {
    match std::thread::current().name() {
        Some(test) if test != "main" => format!("SKIPPED {test}: {reason}\n"),
        _ => format!("SKIPPED: {reason}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::skipped_line;

    #[test]
    fn a_skip_names_the_test_it_skips() {
        assert_eq!(
            skipped_line("no tool"),
            "SKIPPED tests::a_skip_names_the_test_it_skips: no tool\n"
        );
    }
}
