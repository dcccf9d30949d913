//! Restoring a backup into a new local instance, in three repeatable steps: copy the
//! backup into place ([`LocalPlatform::stage`]), start the server on it
//! ([`LocalPlatform::start_restored`]: it replays WAL), and once it is open give it the new
//! instance's logins and account ([`LocalPlatform::finish_restored`]).
//!
//! The backup belongs to its stanza's OS account, and so does the WAL the server replays
//! (its `restore_command` reads the stanza). So the copy is made, and the server
//! recovers, as that account (`recovering_as` in `instance.json`); nobody logs in to it
//! meanwhile but the control plane. Once it is open, the server is stopped, its data given
//! to the new instance's own account, and started again as that account: the new instance
//! never keeps a way into the source's backups.

use std::time::Duration;

use uuid::Uuid;

use super::cluster::{StopMode, io_error, remove_dir_if_present};
use super::instance_file::InstanceFile;
use super::layout::Layout;
use super::logins::{self, Start};
use super::os_user::{Identity, RunAs};
use super::provision::give_tree;
use super::{LocalPlatform, passwords, secret_file};
use crate::{Deployed, InstanceSpec, PlatformError, RestoreFrom};
use toygres_domain::InstanceName;

/// How long a restored server may take to replay its WAL and open.
const RESTORE_STARTUP: Duration = Duration::from_secs(3600);

impl LocalPlatform {
    /// Copies `from` for the new instance, through a scratch directory renamed when
    /// complete: a crash in the middle never leaves a half-restored copy.
    pub(super) async fn stage(
        &self,
        spec: &InstanceSpec,
        record: Uuid,
        from: &RestoreFrom,
    ) -> Result<(), PlatformError> {
        self.binaries.for_major(spec.postgres_version.major())?;
        let layout = self.place(&spec.name, record)?;
        self.backups.ensure().await?;
        let owner = self.stanza_owner(&from.stanza)?;
        let file = self
            .ensure_restored_instance(spec, record, &layout, &from.stanza)
            .await?;
        passwords(&layout).await?;
        let cluster = self.cluster(&layout, &file)?;
        if cluster.is_initialised() || layout.staged().exists() {
            return Ok(());
        }
        let scratch = layout.restore_scratch();
        remove_dir_if_present(&scratch).await?;
        tokio::fs::create_dir_all(&scratch)
            .await
            .map_err(|e| io_error("creating", &scratch, e))?;
        secret_file::set_private(&scratch)?;
        if let Some(owner) = &owner {
            owner.give(&scratch)?;
        }
        self.backups
            .restore(
                &from.stanza,
                owner.as_ref(),
                &scratch,
                &layout.data(),
                &from.label,
                from.target,
            )
            .await?;
        let staged = layout.staged();
        tokio::fs::rename(&scratch, &staged)
            .await
            .map_err(|e| io_error("moving the restored data to", &staged, e))
    }

    /// The new instance's `instance.json`, recovering as the stanza's account.
    async fn ensure_restored_instance(
        &self,
        spec: &InstanceSpec,
        record: Uuid,
        layout: &Layout,
        stanza: &str,
    ) -> Result<InstanceFile, PlatformError> {
        let file = self.ensure_instance(spec, record, layout).await?;
        self.users.ensure(&file.own_account(&self.users)).await?;
        let begun = file.recovering_as.is_some()
            || layout.staged().exists()
            || self.cluster(layout, &file)?.is_initialised();
        if begun {
            return Ok(file);
        }
        let recovering_as = match self.stanza_identity(stanza)? {
            Identity::Account(name) if Some(&name) != file.os_user.as_ref() => Some(name),
            _ => return Ok(file),
        };
        let file = InstanceFile {
            recovering_as,
            ..file
        };
        file.write(layout).await?;
        Ok(file)
    }

    /// Starts the server on what [`Self::stage`] copied: returns once it is consistent and
    /// takes read-only connections; it goes on replaying up to its target.
    pub(super) async fn start_restored(
        &self,
        spec: &InstanceSpec,
    ) -> Result<Deployed, PlatformError> {
        let layout = self.layout(&spec.name);
        let file = self.read_file(&spec.name).await?;
        let cluster = self.cluster(&layout, &file)?;
        if !cluster.is_initialised() {
            let data = layout.data();
            tokio::fs::rename(layout.staged(), &data)
                .await
                .map_err(|e| io_error("moving the restored data to", &data, e))?;
        }
        self.start_on_own_port(&cluster, &layout, file, RESTORE_STARTUP)
            .await?;
        Ok(Deployed::default())
    }

    /// Waits until the restored server is open for writes, gives it the new instance's
    /// logins, then moves it to the instance's own account.
    pub(super) async fn finish_restored(&self, name: &InstanceName) -> Result<(), PlatformError> {
        let layout = self.layout(name);
        let file = self.read_file(name).await?;
        let cluster = self.cluster(&layout, &file)?;
        if cluster.running_pid().is_none() {
            // A crash stopped it, maybe half-way through the move below.
            self.give_data_to(&layout, self.users.resolve(&file.account(&self.users))?)
                .await?;
            self.start_on_own_port(&cluster, &layout, file.clone(), RESTORE_STARTUP)
                .await?;
        }
        let target = self.pg_target(name).await?;
        wait_until_open(
            &target.socket_dir,
            target.port,
            tokio::time::Instant::now() + RESTORE_STARTUP,
        )
        .await?;
        if let Some(access) = &file.access {
            let passwords = passwords(&layout).await?;
            let mut connection = self.connect_socket(name).await?;
            logins::provision(
                &mut connection,
                access,
                &passwords.verifiers(),
                file.postgres_major,
                Start::Created,
            )
            .await?;
        }
        if file.recovering_as.is_none() {
            return self.ensure_standbys(&layout, file).await.map(|_| ());
        }
        cluster.stop(StopMode::Fast).await?;
        let file = InstanceFile {
            recovering_as: None,
            ..file
        };
        file.write(&layout).await?;
        let own = self.users.ensure(&file.own_account(&self.users)).await?;
        self.give_data_to(&layout, own).await?;
        let cluster = self.cluster(&layout, &file)?;
        let file = self
            .start_on_own_port(&cluster, &layout, file, self.config.startup_timeout)
            .await?;
        self.ensure_standbys(&layout, file).await.map(|_| ())
    }

    async fn give_data_to(
        &self,
        layout: &Layout,
        run_as: Option<RunAs>,
    ) -> Result<(), PlatformError> {
        match run_as {
            Some(run_as) => give_tree(run_as, &layout.data()).await,
            None => Ok(()),
        }
    }
}

/// Waits until a server that replays WAL has finished and opened for writing.
async fn wait_until_open(
    socket_dir: &std::path::Path,
    port: u16,
    deadline: tokio::time::Instant,
) -> Result<(), PlatformError> {
    loop {
        if let Ok(mut connection) = logins::connect_socket(socket_dir, port).await {
            let recovering: Result<bool, _> = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                .fetch_one(&mut connection)
                .await;
            if recovering.is_ok_and(|recovering| !recovering) {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(PlatformError::Failed(format!(
                "the restored server at {} did not open in time",
                socket_dir.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
