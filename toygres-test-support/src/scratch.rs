//! One scratch directory per test process, cleaned up by a watchdog after the process exits.
//!
//! Test binaries never run destructors for statics, and a failing test may leave instance
//! servers running. The watchdog is a detached shell that waits for this process to end,
//! sends SIGQUIT (immediate shutdown) to every postmaster whose pid file lies under the
//! directory, removes it, and removes the OS accounts a root-run local platform made for
//! instances under it.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// The process's scratch directory (created, traversable by the `postgres` user).
pub fn root() -> &'static Path {
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "toygres-test-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711))
            .expect("chmod the scratch directory");
        spawn_watchdog(&dir);
        dir
    })
}

/// A fresh subdirectory of [`root`].
pub fn subdir(prefix: &str) -> PathBuf {
    let dir = root().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create a scratch subdirectory");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711))
        .expect("chmod a scratch subdirectory");
    dir
}

fn spawn_watchdog(dir: &Path) {
    // The outer shell exits at once; the backgrounded subshell is the watchdog.
    let script = r#"(
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        find "$2" -name postmaster.pid 2>/dev/null | while read -r f; do
            kill -QUIT "$(head -n 1 "$f")" 2>/dev/null
        done
        sleep 2
        # The short socket directories platforms under it made in /tmp.
        find "$2" -name .socket-base 2>/dev/null | while read -r f; do
            case "$(cat "$f")" in /tmp/toygres-*) rm -rf "$(cat "$f")" ;; esac
        done
        rm -rf "$2"
        # The OS accounts the local platform made under it (their comment names the
        # platform's directory), with whatever still runs as them.
        awk -F: -v mark="toygres $2" 'index($5, mark) == 1 { print $1 }' /etc/passwd 2>/dev/null |
        while read -r account; do
            pkill -KILL -u "$account" 2>/dev/null
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                pgrep -u "$account" >/dev/null || break
                sleep 0.2
            done
            userdel "$account" 2>/dev/null
        done
    ) &"#;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("toygres-test-watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .status()
        .expect("start the scratch watchdog");
}
