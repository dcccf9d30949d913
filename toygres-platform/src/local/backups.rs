//! Backups of local instances with pgBackRest.
//!
//! ```text
//! <root>/.backups/pgbackrest.conf   the repository's settings
//! <root>/.backups/repo/             the repository: one stanza per instance record
//! <root>/.backups/lock/
//! <root>/<name>/archive-to          the stanza the instance archives WAL to (absent: none)
//! ```
//!
//! Every local instance runs with `archive_mode = on` and an `archive_command` that
//! pushes WAL to its stanza once `archive-to` names one, and accepts it silently before:
//! an instance never backed up keeps no WAL around. The first backup writes `archive-to`,
//! creates the stanza and takes a full backup; from then on every WAL segment is archived
//! (at least every `archive_timeout`), so any moment since the first backup can be
//! restored. Stanzas belong to records, not names, and outlive their instances: deleting an
//! instance keeps its backups until they expire or are deleted.
//!
//! pgBackRest reaches the server through the instance's Unix socket (a 0700 directory in
//! the instance's directory, trust authentication for that socket only), so no password
//! is ever handed to it. Every backup carries the request's id as an annotation: a backup
//! asked for twice (after a crash) is found instead of taken again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokio::process::Command;

use super::cluster::{io_error, tail, write_file};
use super::os_user::RunAs;
use crate::{BackupSet, PlatformError, RestoreTarget};

const DIR: &str = ".backups";
/// The annotation key that ties a backup to the request that asked for it.
const REQUEST_ANNOTATION: &str = "toygres-backup";
/// pgBackRest's own retention is not used: expiry is explicit, by count, per request.
const NO_RETENTION: &str = "--repo1-retention-full=9999999";

/// What pgBackRest needs of a running instance.
#[derive(Debug, Clone)]
pub struct PgTarget {
    pub data_dir: PathBuf,
    pub port: u16,
    pub socket_dir: PathBuf,
}

pub struct Repository {
    dir: PathBuf,
    binary: Option<PathBuf>,
    run_as: Option<RunAs>,
}

impl Repository {
    pub fn new(root: &Path, run_as: Option<RunAs>) -> Self {
        Self {
            dir: root.join(DIR),
            binary: ["/usr/bin/pgbackrest", "/usr/local/bin/pgbackrest"]
                .into_iter()
                .map(PathBuf::from)
                .find(|path| path.is_file()),
            run_as,
        }
    }

    /// Whether pgBackRest is installed.
    pub fn available(&self) -> bool {
        self.binary.is_some()
    }

    pub fn config_file(&self) -> PathBuf {
        self.dir.join("pgbackrest.conf")
    }

    /// The `archive_command` of an instance whose `archive-to` file is `marker`: pushes WAL
    /// to the stanza the marker names, and accepts WAL silently while there is none.
    pub fn archive_command(&self, marker: &Path, data_dir: &Path) -> String {
        let binary = self.binary.clone().unwrap_or_else(|| "pgbackrest".into());
        format!(
            "test ! -f \"{marker}\" || \"{binary}\" --config=\"{config}\" --stanza=\"$(cat \"{marker}\")\" --pg1-path=\"{data}\" archive-push \"%p\"",
            marker = marker.display(),
            binary = binary.display(),
            config = self.config_file().display(),
            data = data_dir.display(),
        )
    }

    /// The `restore_command` of a server recovering from `stanza` in `data_dir` (what
    /// pgBackRest would write, but for the directory the server runs in, not the one the
    /// restore wrote to).
    fn restore_command(&self, stanza: &str, data_dir: &Path) -> String {
        let binary = self.binary.clone().unwrap_or_else(|| "pgbackrest".into());
        format!(
            "\"{binary}\" --config=\"{config}\" --stanza={stanza} --pg1-path=\"{data}\" archive-get %f \"%p\"",
            binary = binary.display(),
            config = self.config_file().display(),
            data = data_dir.display(),
        )
    }

    /// Creates the repository and its settings (idempotent).
    pub async fn ensure(&self) -> Result<(), PlatformError> {
        for dir in [
            self.dir.clone(),
            self.dir.join("repo"),
            self.dir.join("lock"),
        ] {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| io_error("creating", &dir, e))?;
            if let Some(run_as) = &self.run_as {
                run_as.give(&dir)?;
            }
        }
        let config = format!(
            "# Written by Toygres.\n[global]\nrepo1-path={}\nlock-path={}\nlog-level-console=warn\nlog-level-stderr=error\nlog-level-file=off\nstart-fast=y\ncompress-type=lz4\n",
            self.dir.join("repo").display(),
            self.dir.join("lock").display(),
        );
        let path = self.config_file();
        if tokio::fs::read_to_string(&path).await.ok().as_deref() != Some(config.as_str()) {
            write_file(&path, config.as_bytes()).await?;
            if let Some(run_as) = &self.run_as {
                run_as.give(&path)?;
            }
        }
        Ok(())
    }

    fn command(&self, stanza: &str) -> Result<Command, PlatformError> {
        let binary = self.binary.as_ref().ok_or_else(|| {
            PlatformError::Unsupported(
                "backups need pgBackRest, which is not installed here (apt-get install pgbackrest)"
                    .into(),
            )
        })?;
        let mut command = Command::new(binary);
        command
            .arg(format!("--config={}", self.config_file().display()))
            .arg(format!("--stanza={stanza}"))
            .stdin(std::process::Stdio::null())
            .current_dir(&self.dir)
            .kill_on_drop(true);
        if let Some(run_as) = &self.run_as {
            run_as.apply(&mut command);
        }
        Ok(command)
    }

    fn target_args(command: &mut Command, target: &PgTarget) {
        command
            .arg(format!("--pg1-path={}", target.data_dir.display()))
            .arg(format!("--pg1-port={}", target.port))
            .arg(format!("--pg1-socket-path={}", target.socket_dir.display()));
    }

    /// Every backup of `stanza`, oldest first (none when the stanza does not exist).
    pub async fn info(&self, stanza: &str) -> Result<Vec<BackupSet>, PlatformError> {
        let mut command = self.command(stanza)?;
        command.args(["--output=json", "info"]);
        let output = run(command, "pgbackrest info").await?;
        parse_info(&output)
    }

    /// Takes a full backup of `target` into `stanza` for request `request`, unless one
    /// for that request is there already.
    pub async fn backup(
        &self,
        stanza: &str,
        target: &PgTarget,
        request: &str,
    ) -> Result<BackupSet, PlatformError> {
        if let Some(done) = self.find(stanza, request).await? {
            return Ok(done);
        }
        let mut create = self.command(stanza)?;
        Self::target_args(&mut create, target);
        create.arg("stanza-create");
        run(create, "pgbackrest stanza-create").await?;
        let mut backup = self.command(stanza)?;
        Self::target_args(&mut backup, target);
        backup
            .args(["--type=full", NO_RETENTION])
            .arg(format!("--annotation={REQUEST_ANNOTATION}={request}"))
            .arg("backup");
        run(backup, "pgbackrest backup").await?;
        self.find(stanza, request).await?.ok_or_else(|| {
            PlatformError::Failed(format!(
                "pgbackrest finished, but no backup of {stanza} carries request {request}"
            ))
        })
    }

    async fn find(&self, stanza: &str, request: &str) -> Result<Option<BackupSet>, PlatformError> {
        Ok(self
            .info(stanza)
            .await?
            .into_iter()
            .find(|set| set.request.as_deref() == Some(request)))
    }

    /// Keeps the newest `keep` backups of `stanza` (and the WAL they need).
    pub async fn expire(&self, stanza: &str, keep: u32) -> Result<(), PlatformError> {
        let mut command = self.command(stanza)?;
        command
            .arg(format!("--repo1-retention-full={}", keep.max(1)))
            .arg("expire");
        run(command, "pgbackrest expire").await.map(|_| ())
    }

    /// Deletes `stanza` with all its backups and WAL (pgBackRest keeps the last full
    /// backup of a stanza otherwise). `data_dir` is the instance's, running or not: the
    /// caller has stopped its archiving into the stanza first.
    pub async fn delete_stanza(&self, stanza: &str, data_dir: &Path) -> Result<(), PlatformError> {
        let mut stop = self.command(stanza)?;
        stop.arg("stop");
        run(stop, "pgbackrest stop").await?;
        let mut delete = self.command(stanza)?;
        delete
            .arg(format!("--pg1-path={}", data_dir.display()))
            .args(["--force", "stanza-delete"]);
        run(delete, "pgbackrest stanza-delete").await?;
        let mut start = self.command(stanza)?;
        start.arg("start");
        run(start, "pgbackrest start").await.map(|_| ())
    }

    /// Removes backup `label` of `stanza`; a backup already gone is success.
    pub async fn remove(&self, stanza: &str, label: &str) -> Result<(), PlatformError> {
        if !self
            .info(stanza)
            .await?
            .iter()
            .any(|set| set.label == label)
        {
            return Ok(());
        }
        let mut command = self.command(stanza)?;
        command
            .arg(NO_RETENTION)
            .arg(format!("--set={label}"))
            .arg("expire");
        run(command, "pgbackrest expire --set").await.map(|_| ())
    }

    /// Restores `stanza` into `scratch` (which must not exist or be empty), a directory the
    /// caller then renames to `data_dir`, where the server recovers: backup `set`, replayed
    /// as far as `target` says, then promoted.
    pub async fn restore(
        &self,
        stanza: &str,
        scratch: &Path,
        data_dir: &Path,
        set: &str,
        target: RestoreTarget,
    ) -> Result<(), PlatformError> {
        let mut command = self.command(stanza)?;
        command
            .arg(format!("--pg1-path={}", scratch.display()))
            .arg(format!(
                "--recovery-option=restore_command={}",
                self.restore_command(stanza, data_dir)
            ));
        command.arg(format!("--set={set}"));
        match target {
            RestoreTarget::EndOfBackup => {
                command.args(["--type=immediate", "--target-action=promote"]);
            }
            RestoreTarget::Time { at } => {
                command
                    .args(["--type=time", "--target-action=promote"])
                    .arg(format!(
                        "--target={}",
                        at.format("%Y-%m-%d %H:%M:%S%.6f+00")
                    ));
            }
            // pgBackRest's default: replay to the end of the archive, then promote.
            RestoreTarget::Latest => {}
        }
        command.arg("restore");
        run(command, "pgbackrest restore").await.map(|_| ())
    }
}

#[derive(Deserialize)]
struct StanzaInfo {
    #[serde(default)]
    backup: Vec<RawBackup>,
}

#[derive(Deserialize)]
struct RawBackup {
    label: String,
    #[serde(default)]
    annotation: Option<std::collections::BTreeMap<String, String>>,
    info: RawSizes,
    timestamp: RawTimes,
    #[serde(default)]
    error: Option<bool>,
}

#[derive(Deserialize)]
struct RawSizes {
    size: u64,
    repository: RawRepository,
}

#[derive(Deserialize)]
struct RawRepository {
    size: u64,
}

#[derive(Deserialize)]
struct RawTimes {
    start: i64,
    stop: i64,
}

fn parse_info(json: &str) -> Result<Vec<BackupSet>, PlatformError> {
    let stanzas: Vec<StanzaInfo> = serde_json::from_str(json)
        .map_err(|e| PlatformError::Failed(format!("reading pgbackrest info: {e}")))?;
    Ok(stanzas
        .into_iter()
        .flat_map(|stanza| stanza.backup)
        .filter(|raw| raw.error != Some(true))
        .map(|raw| BackupSet {
            request: raw
                .annotation
                .and_then(|mut annotations| annotations.remove(REQUEST_ANNOTATION)),
            label: raw.label,
            size_bytes: raw.info.size,
            repository_bytes: raw.info.repository.size,
            started_at: raw.timestamp.start,
            finished_at: raw.timestamp.stop,
        })
        .collect())
}

/// Runs a pgBackRest command; its error output becomes the error. The command is
/// bounded: a backup of a large instance takes long, but never forever.
async fn run(mut command: Command, what: &str) -> Result<String, PlatformError> {
    const LIMIT: Duration = Duration::from_secs(6 * 3600);
    let output = tokio::time::timeout(LIMIT, command.output())
        .await
        .map_err(|_| PlatformError::Failed(format!("{what} did not finish within {LIMIT:?}")))?
        .map_err(|e| PlatformError::Failed(format!("{what}: could not run: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let detail = if stderr.trim().is_empty() {
        &stdout
    } else {
        &*stderr
    };
    Err(PlatformError::Failed(format!(
        "{what} failed ({}): {}",
        output.status,
        tail(detail.trim(), 600)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_pgbackrest_info_prints() {
        let json = r#"[{"archive":[],"backup":[{"annotation":{"toygres-backup":"b-1"},
            "info":{"delta":23213730,"repository":{"delta":3062550,"size":3062550},"size":23213730},
            "label":"20261125-225058F","timestamp":{"start":1795647058,"stop":1795647061},
            "error":false,"type":"full"},
            {"info":{"repository":{"size":10},"size":20},"label":"20261125-225107F",
            "timestamp":{"start":5,"stop":6},"type":"full"}],"name":"s1"}]"#;
        let sets = parse_info(json).unwrap();
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0].request.as_deref(), Some("b-1"));
        assert_eq!(sets[0].size_bytes, 23213730);
        assert_eq!(sets[0].finished_at, 1795647061);
        assert_eq!(sets[1].request, None);
        assert!(parse_info("[]").unwrap().is_empty());
    }
}
