//! A local instance's backups and WAL, as the platform sees them: which stanza it archives
//! to, which OS account a stanza belongs to (every pgBackRest command on it runs as that
//! account, see `backups`), taking and removing backups, and making sure what was written
//! is archived.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use nix::unistd::{Uid, User};

use super::LocalPlatform;
use super::cluster;
use super::cluster::io_error;
use super::layout::Layout;
use super::os_user::{Identity, RunAs};
use crate::{BackupSet, PlatformError};
use toygres_domain::InstanceName;

/// How long a delete waits for the instance's last WAL to be archived.
const FINAL_ARCHIVE_WAIT: Duration = Duration::from_secs(15);
/// How long `archive_now` waits for the archiver.
const ARCHIVE_WAIT: Duration = Duration::from_secs(60);

impl LocalPlatform {
    /// The account of the OS user that owns `stanza` (`Inherited` when we are not root, or
    /// for a stanza not made yet).
    pub(super) fn stanza_identity(&self, stanza: &str) -> Result<Identity, PlatformError> {
        let Some(uid) = self.backups.owner_uid(stanza) else {
            return Ok(Identity::Inherited);
        };
        if !self.users.is_root() {
            return Ok(Identity::Inherited);
        }
        if uid == 0 {
            // pgBackRest never runs as root here; only a stranger made this.
            return Err(PlatformError::Failed(format!(
                "the backups of {stanza} belong to root: refusing to run pgBackRest on them"
            )));
        }
        let user = User::from_uid(Uid::from_raw(uid))
            .map_err(|e| PlatformError::Failed(format!("looking up uid {uid}: {e}")))?
            .ok_or_else(|| {
                PlatformError::Failed(format!(
                    "the backups of {stanza} belong to uid {uid}, which has no account"
                ))
            })?;
        Ok(Identity::Account(user.name))
    }

    /// The account pgBackRest runs as for `stanza` (checked to be one of ours).
    pub(super) fn stanza_owner(&self, stanza: &str) -> Result<Option<RunAs>, PlatformError> {
        self.users.resolve(&self.stanza_identity(stanza)?)
    }

    pub(super) async fn take_backup(
        &self,
        name: &InstanceName,
        stanza: &str,
        request: &str,
    ) -> Result<BackupSet, PlatformError> {
        let target = self.pg_target(name).await?;
        let file = self.read_file(name).await?;
        let socket = target.socket_dir.join(format!(".s.PGSQL.{}", target.port));
        if !file.tls || !socket.exists() {
            // Its server was started by an earlier version of Toygres: another way of
            // archiving WAL (or none), no certificate. A restart rewrites its settings.
            return Err(PlatformError::Unsupported(format!(
                "instance {name} was started by an earlier version of Toygres: restart it \
                 once (toygres-cli restart {name}) to enable WAL archiving, then back it up"
            )));
        }
        self.backups.ensure().await?;
        let owner = self.users.resolve(&file.own_account(&self.users))?;
        let marker = self.layout(name).archive_to();
        if tokio::fs::read_to_string(&marker).await.ok().as_deref() != Some(stanza) {
            self.backups.prepare_stanza(stanza, owner.as_ref()).await?;
            cluster::write_file(&marker, stanza.as_bytes()).await?;
            // Read by the archive command, as the instance's account.
            std::fs::set_permissions(&marker, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| io_error("setting permissions on", &marker, e))?;
        }
        self.backups
            .backup(stanza, owner.as_ref(), &target, request)
            .await
    }

    pub(super) async fn remove_one_backup(
        &self,
        stanza: &str,
        label: &str,
    ) -> Result<(), PlatformError> {
        self.backups.ensure().await?;
        let identity = self.stanza_identity(stanza)?;
        let owner = self.users.resolve(&identity)?;
        let sets = self.backups.info(stanza, owner.as_ref()).await?;
        match sets.iter().any(|set| set.label == label) {
            false => Ok(()),
            // The last backup: its stanza and WAL go with it, and the instance (when it
            // still runs) stops archiving until its next backup starts a new series.
            true if sets.len() == 1 => {
                let dir = self.stanza_instance_dir(stanza);
                self.stop_archiving(&dir, stanza).await?;
                self.backups
                    .delete_stanza(stanza, owner.as_ref(), &dir.join("data"))
                    .await?;
                // A deleted instance's account stayed for its backups; it may go now.
                if !dir.exists() {
                    self.release_account(&identity).await?;
                }
                Ok(())
            }
            true => self.backups.remove(stanza, owner.as_ref(), label).await,
        }
    }

    /// The directory of the instance a stanza (`<name>-<record id>`) belongs to.
    fn stanza_instance_dir(&self, stanza: &str) -> std::path::PathBuf {
        let name = stanza.rsplit_once('-').map_or(stanza, |(name, _)| name);
        Layout::of_name(&self.root, name).dir
    }

    /// Stops the instance in `dir` archiving WAL into `stanza` (a no-op when it archives
    /// elsewhere, to a later record's stanza of the same name, or nowhere).
    async fn stop_archiving(&self, dir: &Path, stanza: &str) -> Result<(), PlatformError> {
        let marker = Layout::new(dir.to_path_buf()).archive_to();
        if tokio::fs::read_to_string(&marker).await.ok().as_deref() == Some(stanza) {
            tokio::fs::remove_file(&marker)
                .await
                .map_err(|e| io_error("removing", &marker, e))?;
        }
        Ok(())
    }

    /// Switches to a new WAL segment and waits until the archiver has pushed it.
    pub(super) async fn switch_and_archive(
        &self,
        name: &InstanceName,
    ) -> Result<(), PlatformError> {
        let mut connection = self.connect_socket(name).await?;
        // A commit stamped now: recovery to a moment stops at the first commit after it,
        // and an idle instance may have written none since the moment asked for.
        sqlx::query("SELECT txid_current()")
            .execute(&mut connection)
            .await
            .map_err(|e| PlatformError::Failed(format!("marking the WAL of {name}: {e}")))?;
        let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
            .fetch_one(&mut connection)
            .await
            .map_err(|e| PlatformError::Failed(format!("switching the WAL of {name}: {e}")))?;
        let deadline = tokio::time::Instant::now() + ARCHIVE_WAIT;
        loop {
            let archived: String =
                sqlx::query_scalar("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
                    .fetch_one(&mut connection)
                    .await
                    .map_err(|e| {
                        PlatformError::Failed(format!("reading the archiver of {name}: {e}"))
                    })?;
            // WAL file names of one timeline sort in the order they were written.
            if archived.get(8..) >= segment.get(8..) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PlatformError::Failed(format!(
                    "WAL segment {segment} of {name} was not archived within {}s",
                    ARCHIVE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Before a delete: its WAL up to now goes to the archive, so a point-in-time restore
    /// can reach any moment until the delete. Bounded; a failure is only logged.
    pub(super) async fn archive_last_wal(&self, name: &InstanceName) {
        match tokio::time::timeout(FINAL_ARCHIVE_WAIT, self.switch_and_archive(name)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(instance = %name, %error, "last WAL not archived"),
            Err(_) => tracing::warn!(instance = %name, "last WAL not archived in time"),
        }
    }
}
