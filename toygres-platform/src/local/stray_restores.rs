//! pgBackRest processes still restoring into an instance's directory when it is deleted:
//! a restore's copy the delete won over (its process killed, perhaps not gone yet), or one
//! orphaned by a server killed with -9 (`kill_on_drop` never ran). A delete removes the
//! directory only once none is left, so nothing writes into a directory being removed,
//! or into a newer instance's.
//!
//! A process is taken for such a restore only when proven: its program is this machine's
//! pgBackRest (`/proc/<pid>/exe`) and its `--pg1-path` lies inside the directory. That is
//! checked again just before each signal.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::PlatformError;

/// How long the processes may take to go after SIGKILL.
const GONE_WITHIN: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// Kills every pgBackRest (`binary`) working in `dir` and waits until none is left.
pub async fn end(binary: &Path, dir: &Path) -> Result<(), PlatformError> {
    // What /proc/<pid>/exe names: the program with its links resolved.
    let binary = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf());
    let binary = binary.as_path();
    let deadline = tokio::time::Instant::now() + GONE_WITHIN;
    loop {
        let pids = working_in(binary, dir);
        if pids.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(PlatformError::Failed(format!(
                "pgBackRest processes {pids:?} still work in {} after SIGKILL",
                dir.display()
            )));
        }
        for pid in pids {
            if is_restoring_into(pid, binary, dir) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Live pgBackRest processes whose `--pg1-path` is inside `dir`.
fn working_in(binary: &Path, dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| is_restoring_into(*pid, binary, dir))
        .collect()
}

fn is_restoring_into(pid: i32, binary: &Path, dir: &Path) -> bool {
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
        return false;
    };
    let Ok(command_line) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    exe == binary
        && command_line
            .split(|byte| *byte == 0)
            .filter_map(|arg| std::str::from_utf8(arg).ok())
            .filter_map(|arg| arg.strip_prefix("--pg1-path="))
            .any(|path| Path::new(path).starts_with(dir))
}
