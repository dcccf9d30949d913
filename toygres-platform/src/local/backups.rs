//! Backups of local instances with pgBackRest.
//!
//! ```text
//! <root>/.backups/pgbackrest.conf        the settings every stanza shares (no secret; 0644)
//! <root>/.backups/pgbackrest-wal         the script archive_command and restore_command run
//! <root>/.backups/stanzas/<stanza>/repo/ a repository of its own for each stanza
//! <root>/.backups/stanzas/<stanza>/lock/ and its pgBackRest locks (and spool/)
//! <root>/.backups/repo/, lock/           the one shared repository of earlier versions
//! <root>/<name>/archive-to               the stanza the instance archives WAL to (absent: none)
//! ```
//!
//! Every local instance runs with `archive_mode = on` and an `archive_command` that
//! pushes WAL to its stanza once `archive-to` names one, and accepts it silently before:
//! an instance never backed up keeps no WAL around. The first backup writes `archive-to`,
//! creates the stanza and takes a full backup; from then on every WAL segment is archived
//! (at least every `archive_timeout`), so any moment since the first backup can be
//! restored. Stanzas belong to records, not names, and outlive their instances: deleting an
//! instance keeps its backups until they are deleted.
//!
//! A stanza belongs to the OS account of the instance it backs up (see `os_user`): its
//! directory is that account's (0700), every pgBackRest command on it runs as that
//! account, and no other instance's account can read it, so a tenant with superuser access
//! reaches its own backups only. A stanza in the shared repository of an earlier version
//! is used where it is, as the account that made it.
//!
//! pgBackRest reaches the server through the instance's Unix socket (a 0700 directory,
//! trust authentication for that socket only), so no password is ever handed to it. Every
//! backup carries the request's id as an annotation: a backup asked for twice (after a
//! crash) is found instead of taken again. A backup waits (a bounded while) for the
//! stanza's backup lock to be free before it starts: an earlier attempt's pgBackRest,
//! killed when its attempt was dropped, may take a moment to let go of it, and a retry
//! that started beside it would fail for good on the lock.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tokio::process::Command;

use super::cluster::{io_error, remove_dir_if_present, tail, write_file};
use super::os_user::RunAs;
use super::pgbackrest_processes;
use crate::{BackupSet, PlatformError, RestoreTarget};

const DIR: &str = ".backups";
const STANZAS: &str = "stanzas";
/// The annotation key that ties a backup to the request that asked for it.
const REQUEST_ANNOTATION: &str = "toygres-backup";
/// pgBackRest's own retention is not used: expiry is explicit, by count, per request.
const NO_RETENTION: &str = "--repo1-retention-full=9999999";
/// How long a backup waits for an earlier pgBackRest to let go of the stanza's lock.
const LOCK_WAIT: Duration = Duration::from_secs(60);
const LOCK_POLL: Duration = Duration::from_millis(200);

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
}

/// Where a stanza's repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// `stanzas/<stanza>/`: a repository and locks of its own.
    Own(PathBuf),
    /// The shared repository of an earlier version (the config file's defaults).
    Shared,
}

impl Repository {
    pub fn new(root: &Path) -> Self {
        Self {
            dir: root.join(DIR),
            binary: ["/usr/bin/pgbackrest", "/usr/local/bin/pgbackrest"]
                .into_iter()
                .map(PathBuf::from)
                .find(|path| path.is_file()),
        }
    }

    /// Whether pgBackRest is installed.
    pub fn available(&self) -> bool {
        self.binary.is_some()
    }

    /// Ends every pgBackRest still restoring into `dir` (see `pgbackrest_processes`).
    pub async fn end_restores_into(&self, dir: &Path) -> Result<(), PlatformError> {
        match &self.binary {
            Some(binary) => pgbackrest_processes::end_restores_into(binary, dir).await,
            None => Ok(()),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.dir.join("pgbackrest.conf")
    }

    fn stanzas_dir(&self) -> PathBuf {
        self.dir.join(STANZAS)
    }

    fn place(&self, stanza: &str) -> Place {
        let own = self.stanzas_dir().join(stanza);
        let shared = self.dir.join("repo").join("backup").join(stanza);
        match !own.exists() && shared.exists() {
            true => Place::Shared,
            false => Place::Own(own),
        }
    }

    /// The uid that owns `stanza`, when it exists.
    pub fn owner_uid(&self, stanza: &str) -> Option<u32> {
        let path = match self.place(stanza) {
            Place::Own(dir) => dir,
            Place::Shared => self.dir.join("repo").join("backup").join(stanza),
        };
        std::fs::symlink_metadata(path).ok().map(|m| m.uid())
    }

    /// The uids that own a stanza (whose accounts must stay while it does).
    pub fn stanza_owners(&self) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir(self.stanzas_dir()) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.metadata().ok())
            .map(|metadata| metadata.uid())
            .collect()
    }

    /// The script `archive_command` and `restore_command` run (PostgreSQL cuts those
    /// commands at 1,023 bytes, so the long paths live in the script; pgBackRest wants
    /// its own name in `archive_command`, which the script's carries).
    fn wal_script(&self) -> PathBuf {
        self.dir.join("pgbackrest-wal")
    }

    /// The `archive_command` of the instance in `instance_dir`, for its server in
    /// `data_dir` (the primary archives; a standby starts to once promoted): pushes WAL to
    /// the stanza its `archive-to` names (in the stanza's own repository, or in the shared
    /// one where an earlier version made it), and accepts WAL silently while there is none.
    pub fn archive_command(&self, instance_dir: &Path, data_dir: &Path) -> String {
        format!(
            "\"{}\" push \"{}\" \"%p\" \"{}\"",
            self.wal_script().display(),
            instance_dir.display(),
            data_dir.display()
        )
    }

    /// The `restore_command` of a server recovering from `stanza` in `data_dir` (what
    /// pgBackRest would write, but for the directory the server runs in, not the one the
    /// restore wrote to).
    fn restore_command(&self, stanza: &str, data_dir: &Path) -> String {
        format!(
            "\"{}\" get {stanza} \"{}\" %f \"%p\"",
            self.wal_script().display(),
            data_dir.display()
        )
    }

    /// The script behind both commands: `push INSTANCE_DIR WAL_PATH [DATA_DIR]` (the data
    /// directory of the server that archives, one of the instance's members; servers
    /// configured before standbys give none, and are the instance's `data/`), `get STANZA
    /// DATA_DIR WAL_NAME WAL_PATH`. Run as the instance's account; it only reads what it
    /// is given.
    fn wal_script_text(&self) -> String {
        let binary = self.binary.clone().unwrap_or_else(|| "pgbackrest".into());
        format!(
            "#!/bin/sh\n\
             # Written by Toygres: archives and fetches WAL with pgBackRest, in the repository\n\
             # of the stanza (its own under stanzas/, or the shared one of earlier versions).\n\
             set -e\n\
             base='{base}'\n\
             stanza_dir() {{ if [ -d \"$base/stanzas/$1\" ]; then echo \"$base/stanzas/$1\"; else echo \"$base\"; fi; }}\n\
             case \"$1\" in\n\
             push)\n\
             \x20 [ -f \"$2/archive-to\" ] || exit 0\n\
             \x20 stanza=$(cat \"$2/archive-to\")\n\
             \x20 exec '{binary}' --config=\"$base/pgbackrest.conf\" --stanza=\"$stanza\" --repo1-path=\"$(stanza_dir \"$stanza\")/repo\" --lock-path=\"$(stanza_dir \"$stanza\")/lock\" --pg1-path=\"${{4:-$2/data}}\" archive-push \"$3\" ;;\n\
             get)\n\
             \x20 exec '{binary}' --config=\"$base/pgbackrest.conf\" --stanza=\"$2\" --repo1-path=\"$(stanza_dir \"$2\")/repo\" --lock-path=\"$(stanza_dir \"$2\")/lock\" --pg1-path=\"$3\" archive-get \"$4\" \"$5\" ;;\n\
             esac\n\
             exit 1\n",
            base = self.dir.display(),
            binary = binary.display(),
        )
    }

    /// Creates the backups directory and the shared settings (idempotent). As root, the
    /// directories are 0711: each stanza's account passes through to its own.
    pub async fn ensure(&self) -> Result<(), PlatformError> {
        for dir in [self.dir.clone(), self.stanzas_dir()] {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| io_error("creating", &dir, e))?;
            let mode = match nix::unistd::geteuid().is_root() {
                true => 0o711,
                false => 0o700,
            };
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                .map_err(|e| io_error("setting permissions on", &dir, e))?;
        }
        let config = format!(
            "# Written by Toygres.\n[global]\nrepo1-path={}\nlock-path={}\nlog-level-console=warn\nlog-level-stderr=error\nlog-level-file=off\nstart-fast=y\ncompress-type=lz4\n",
            self.dir.join("repo").display(),
            self.dir.join("lock").display(),
        );
        let script = self.wal_script_text();
        for (path, content, mode) in [
            (self.config_file(), config, 0o644),
            (self.wal_script(), script, 0o755),
        ] {
            if tokio::fs::read_to_string(&path).await.ok().as_deref() != Some(content.as_str()) {
                write_file(&path, content.as_bytes()).await?;
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| io_error("setting permissions on", &path, e))?;
        }
        Ok(())
    }

    /// Makes the directories of a new stanza, the account `owner`'s alone.
    pub async fn prepare_stanza(
        &self,
        stanza: &str,
        owner: Option<&RunAs>,
    ) -> Result<(), PlatformError> {
        let Place::Own(dir) = self.place(stanza) else {
            return Ok(());
        };
        for path in [
            dir.clone(),
            dir.join("repo"),
            dir.join("lock"),
            dir.join("spool"),
        ] {
            tokio::fs::create_dir_all(&path)
                .await
                .map_err(|e| io_error("creating", &path, e))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io_error("setting permissions on", &path, e))?;
            if let Some(owner) = owner {
                owner.give(&path)?;
            }
        }
        Ok(())
    }

    fn command(&self, stanza: &str, run_as: Option<&RunAs>) -> Result<Command, PlatformError> {
        let mut command = self.bare_command(stanza, run_as)?;
        if let Place::Own(dir) = self.place(stanza) {
            command.arg(format!("--repo1-path={}", dir.join("repo").display()));
        }
        Ok(command)
    }

    /// A command on `stanza` without its repository (`stop` and `start` take none).
    fn bare_command(&self, stanza: &str, run_as: Option<&RunAs>) -> Result<Command, PlatformError> {
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
        if let Place::Own(dir) = self.place(stanza) {
            command.arg(format!("--lock-path={}", dir.join("lock").display()));
        }
        if let Some(run_as) = run_as {
            run_as.apply(&mut command);
        }
        Ok(command)
    }

    fn target_args(command: &mut Command, target: &PgTarget) {
        command
            .arg(format!("--pg1-path={}", target.data_dir.display()))
            .arg(format!("--pg1-port={}", target.port))
            .arg(format!("--pg1-socket-path={}", target.socket_dir.display()))
            // pgBackRest runs as the instance's OS account, whose name is no role.
            .arg(format!("--pg1-user={}", crate::access::SUPERUSER));
    }

    /// Every backup of `stanza`, oldest first (none when the stanza does not exist).
    pub async fn info(
        &self,
        stanza: &str,
        owner: Option<&RunAs>,
    ) -> Result<Vec<BackupSet>, PlatformError> {
        if let Place::Own(dir) = self.place(stanza)
            && !dir.exists()
        {
            return Ok(Vec::new());
        }
        let mut command = self.command(stanza, owner)?;
        command.args(["--output=json", "info"]);
        let output = run(command, "pgbackrest info").await?;
        parse_info(&output)
    }

    /// Takes a full backup of `target` into `stanza` for request `request`, unless one
    /// for that request is there already.
    pub async fn backup(
        &self,
        stanza: &str,
        owner: Option<&RunAs>,
        target: &PgTarget,
        request: &str,
    ) -> Result<BackupSet, PlatformError> {
        if let Some(done) = self.find(stanza, owner, request).await? {
            return Ok(done);
        }
        self.prepare_stanza(stanza, owner).await?;
        // stanza-create takes the lock too.
        self.wait_for_backup_lock(stanza).await?;
        let mut create = self.command(stanza, owner)?;
        Self::target_args(&mut create, target);
        create.arg("stanza-create");
        run(create, "pgbackrest stanza-create").await?;
        let mut backup = self.command(stanza, owner)?;
        Self::target_args(&mut backup, target);
        backup
            .args(["--type=full", NO_RETENTION])
            .arg(format!("--annotation={REQUEST_ANNOTATION}={request}"))
            .arg("backup");
        run(backup, "pgbackrest backup").await?;
        self.find(stanza, owner, request).await?.ok_or_else(|| {
            PlatformError::Failed(format!(
                "pgbackrest finished, but no backup of {stanza} carries request {request}"
            ))
        })
    }

    /// Waits until no pgBackRest holds `stanza`'s backup lock, or fails after [`LOCK_WAIT`]
    /// (a backup that then starts could only fail on it).
    async fn wait_for_backup_lock(&self, stanza: &str) -> Result<(), PlatformError> {
        let Some(lock) = self.backup_lock(stanza) else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        while lock_held(&lock).map_err(|e| io_error("checking the lock", &lock, e))? {
            if tokio::time::Instant::now() >= deadline {
                return Err(PlatformError::Failed(format!(
                    "another pgBackRest backup of {stanza} still holds {} after {LOCK_WAIT:?}",
                    lock.display()
                )));
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
        Ok(())
    }

    /// Whether a pgBackRest backup (or stanza-create) of `stanza` runs now, whoever
    /// started it: one holds the stanza's backup lock, or such a process is alive (one
    /// still starting has not taken the lock yet).
    pub fn backup_in_progress(&self, stanza: &str) -> Result<bool, PlatformError> {
        if let Some(binary) = &self.binary
            && pgbackrest_processes::backing_up(binary, stanza)
        {
            return Ok(true);
        }
        let Some(lock) = self.backup_lock(stanza) else {
            return Ok(false);
        };
        lock_held(&lock).map_err(|e| io_error("checking the lock", &lock, e))
    }

    /// The backup lock of a stanza with a repository of its own.
    fn backup_lock(&self, stanza: &str) -> Option<PathBuf> {
        match self.place(stanza) {
            Place::Own(dir) => Some(dir.join("lock").join(format!("{stanza}-backup.lock"))),
            Place::Shared => None,
        }
    }

    async fn find(
        &self,
        stanza: &str,
        owner: Option<&RunAs>,
        request: &str,
    ) -> Result<Option<BackupSet>, PlatformError> {
        Ok(self
            .info(stanza, owner)
            .await?
            .into_iter()
            .find(|set| set.request.as_deref() == Some(request)))
    }

    /// Keeps the newest `keep` backups of `stanza` (and the WAL they need).
    pub async fn expire(
        &self,
        stanza: &str,
        owner: Option<&RunAs>,
        keep: u32,
    ) -> Result<(), PlatformError> {
        let mut command = self.command(stanza, owner)?;
        command
            .arg(format!("--repo1-retention-full={}", keep.max(1)))
            .arg("expire");
        run(command, "pgbackrest expire").await.map(|_| ())
    }

    /// Deletes `stanza` with all its backups and WAL (pgBackRest keeps the last full
    /// backup of a stanza otherwise), and its directory. `data_dir` is the instance's,
    /// running or not: the caller has stopped its archiving into the stanza first.
    pub async fn delete_stanza(
        &self,
        stanza: &str,
        owner: Option<&RunAs>,
        data_dir: &Path,
    ) -> Result<(), PlatformError> {
        let mut stop = self.bare_command(stanza, owner)?;
        stop.arg("stop");
        run(stop, "pgbackrest stop").await?;
        let mut delete = self.command(stanza, owner)?;
        delete
            .arg(format!("--pg1-path={}", data_dir.display()))
            .args(["--force", "stanza-delete"]);
        run(delete, "pgbackrest stanza-delete").await?;
        match self.place(stanza) {
            Place::Own(dir) => remove_dir_if_present(&dir).await,
            Place::Shared => {
                let mut start = self.bare_command(stanza, owner)?;
                start.arg("start");
                run(start, "pgbackrest start").await.map(|_| ())
            }
        }
    }

    /// Removes backup `label` of `stanza`; a backup already gone is success.
    pub async fn remove(
        &self,
        stanza: &str,
        owner: Option<&RunAs>,
        label: &str,
    ) -> Result<(), PlatformError> {
        if !self
            .info(stanza, owner)
            .await?
            .iter()
            .any(|set| set.label == label)
        {
            return Ok(());
        }
        let mut command = self.command(stanza, owner)?;
        command
            .arg(NO_RETENTION)
            .arg(format!("--set={label}"))
            .arg("expire");
        run(command, "pgbackrest expire --set").await.map(|_| ())
    }

    /// Restores `stanza` into `scratch` (which must not exist or be empty, and belong to
    /// `owner`), a directory the caller then renames to `data_dir`, where the server
    /// recovers: backup `set`, replayed as far as `target` says, then promoted.
    pub async fn restore(
        &self,
        stanza: &str,
        owner: Option<&RunAs>,
        scratch: &Path,
        data_dir: &Path,
        set: &str,
        target: RestoreTarget,
    ) -> Result<(), PlatformError> {
        let mut command = self.command(stanza, owner)?;
        if let Place::Own(dir) = self.place(stanza) {
            // A restore clears the stanza's spool of asynchronous archive-get (unused here),
            // which must be a directory the stanza's account may write.
            command.arg(format!("--spool-path={}", dir.join("spool").display()));
        }
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

/// Whether a process holds `lock` (pgBackRest takes its locks with `flock`). Taking it for
/// an instant to find out is harmless: a backup of this stanza is the caller, which checks
/// before it starts, and an expiry that meets it fails on the lock and is retried.
fn lock_held(lock: &Path) -> std::io::Result<bool> {
    let file = match std::fs::File::open(lock) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
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
