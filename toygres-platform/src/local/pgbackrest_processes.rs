//! The pgBackRest processes running on this machine, found by what they are, not by what
//! a lock or a pid file says: a process counts only when its program is this machine's
//! pgBackRest (`/proc/<pid>/exe`), and what it works on is read from its arguments.
//!
//! - A backup is over only once no pgBackRest `backup` (or `stanza-create`) of its stanza
//!   runs: one whose attempt was abandoned may still be starting (before it takes the
//!   stanza's lock) or finishing a set.
//! - A delete removes an instance's directory only once no pgBackRest works in it (its
//!   `--pg1-path` inside): a restore's copy the delete won over (killed, perhaps not gone
//!   yet), or one orphaned by a server killed with -9 (`kill_on_drop` never ran). Those
//!   are killed, proven again just before each signal, and waited for.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::PlatformError;

/// How long the processes may take to go after SIGKILL.
const GONE_WITHIN: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// Whether a pgBackRest `backup` or `stanza-create` of `stanza` runs.
pub fn backing_up(binary: &Path, stanza: &str) -> bool {
    let stanza_arg = format!("--stanza={stanza}");
    let binary = resolved(binary);
    live_pids().into_iter().any(|pid| {
        arguments_if_pgbackrest(pid, &binary).is_some_and(|args| {
            args.contains(&stanza_arg)
                && args
                    .last()
                    .is_some_and(|command| command == "backup" || command == "stanza-create")
        })
    })
}

/// Kills every pgBackRest working in `dir` and waits until none is left.
pub async fn end_restores_into(binary: &Path, dir: &Path) -> Result<(), PlatformError> {
    let binary = resolved(binary);
    let deadline = tokio::time::Instant::now() + GONE_WITHIN;
    loop {
        let pids = working_in(&binary, dir);
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
            if works_in(pid, &binary, dir) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What /proc/<pid>/exe names: the program with its links resolved.
fn resolved(binary: &Path) -> PathBuf {
    std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf())
}

fn working_in(binary: &Path, dir: &Path) -> Vec<i32> {
    live_pids()
        .into_iter()
        .filter(|pid| works_in(*pid, binary, dir))
        .collect()
}

fn works_in(pid: i32, binary: &Path, dir: &Path) -> bool {
    arguments_if_pgbackrest(pid, binary).is_some_and(|args| {
        args.iter()
            .filter_map(|arg| arg.strip_prefix("--pg1-path="))
            .any(|path| Path::new(path).starts_with(dir))
    })
}

fn live_pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// The arguments of `pid` when its program is `binary` (none for a zombie or a stranger).
fn arguments_if_pgbackrest(pid: i32, binary: &Path) -> Option<Vec<String>> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    if exe != binary {
        return None;
    }
    let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        command_line
            .split(|byte| *byte == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect(),
    )
}
