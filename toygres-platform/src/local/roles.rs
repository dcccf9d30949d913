//! Moving the primary role between an instance's servers on the local platform: the steps
//! a switchover (and a failover) is made of, each repeatable after a crash at any point.
//!
//! 1. [`LocalPlatform::stop_primary_cleanly`]: a checkpoint, then a fast stop, which
//!    hands every byte of WAL (the shutdown checkpoint last) to the standbys that stream;
//!    it answers where that WAL ends.
//! 2. [`LocalPlatform::promote_member`]: once the chosen standby has replayed that far,
//!    it is promoted (a new timeline) and recorded in `instance.json` as the primary, with
//!    the other members' replication slots made on it (slots are not replicated).
//! 3. [`LocalPlatform::rejoin_members`]: every other member follows the new primary. A
//!    running standby is repointed (its settings rewritten and reloaded); a stopped
//!    former primary is rewound with `pg_rewind`, or cloned again when that fails, and
//!    started as a standby. A member that takes writes but is not the recorded primary is
//!    stopped at once: two writable members are never left running.

use std::time::Duration;

use super::cluster::StopMode;
use super::instance_file::InstanceFile;
use super::layout::Layout;
use super::logins;
use super::members::Server;
use super::{LocalPlatform, cluster::remove_dir_if_present};
use crate::{PlatformError, Whose};
use toygres_domain::InstanceName;

/// How long a standby may take to replay what the former primary wrote.
const CATCH_UP: Duration = Duration::from_secs(60);

impl LocalPlatform {
    /// Checkpoints and cleanly stops the primary; answers where its WAL ends (its shutdown
    /// checkpoint), which a standby must have replayed before it is promoted.
    pub(super) async fn stop_primary_cleanly(
        &self,
        name: &InstanceName,
        whose: Whose,
    ) -> Result<u64, PlatformError> {
        let file = self.read_file_of(name, whose).await?;
        let layout = self.layout(name);
        let primary = self.cluster(&layout, &file)?;
        if primary.running_pid().is_some() {
            let mut connection = self.connect_socket(name).await?;
            sqlx::query("CHECKPOINT")
                .execute(&mut connection)
                .await
                .map_err(|e| PlatformError::Failed(format!("checkpoint: {e}")))?;
            drop(connection);
            primary.stop(StopMode::Fast).await?;
        }
        let checkpoint = primary.clean_shutdown_checkpoint().await?.ok_or_else(|| {
            PlatformError::Failed(format!(
                "the primary of {name} did not shut down cleanly; a switchover needs a clean stop"
            ))
        })?;
        super::members::parse_lsn(&checkpoint).ok_or_else(|| {
            PlatformError::Failed(format!("pg_controldata gave no position: {checkpoint}"))
        })
    }

    /// Promotes member `number` once it has replayed past `caught_up_to` (when given) and
    /// records it as the primary. A member that already takes writes is only recorded.
    pub(super) async fn promote_member(
        &self,
        name: &InstanceName,
        whose: Whose,
        number: u8,
        caught_up_to: Option<u64>,
    ) -> Result<(), PlatformError> {
        let file = self.read_file_of(name, whose).await?;
        if !file.member_numbers().contains(&number) {
            return Err(PlatformError::Unsupported(format!(
                "{name} has no member {name}-{number}"
            )));
        }
        let layout = self.layout(name);
        let server = self.server(&layout, &file, number)?;
        let socket = server.paths.socket_dir(&self.socket_base);
        if recovering(&socket, server.port).await? {
            if let Some(lsn) = caught_up_to {
                wait_for_replay(&socket, server.port, lsn).await?;
            }
            server.cluster.promote(self.config.startup_timeout).await?;
        }
        let file = InstanceFile {
            primary: number,
            ..file
        };
        file.write(&layout).await?;
        self.configure_member(&server.cluster, &layout, number, &file)
            .await?;
        server.cluster.reload().await?;
        for other in self.standby_servers(&layout, &file)? {
            self.upstream_for(&layout, &file, other.number).await?;
        }
        Ok(())
    }

    /// Makes every member but the primary a standby of it (see the module's docs).
    pub(super) async fn rejoin_members(
        &self,
        name: &InstanceName,
        whose: Whose,
    ) -> Result<(), PlatformError> {
        let file = self.read_file_of(name, whose).await?;
        let layout = self.layout(name);
        for server in self.standby_servers(&layout, &file)? {
            self.rejoin(&layout, &file, server).await?;
        }
        Ok(())
    }

    async fn rejoin(
        &self,
        layout: &Layout,
        file: &InstanceFile,
        server: Server,
    ) -> Result<(), PlatformError> {
        let socket = server.paths.socket_dir(&self.socket_base);
        if server.cluster.running_pid().is_some() {
            match recovering(&socket, server.port).await {
                Ok(true) => {
                    self.configure_member(&server.cluster, layout, server.number, file)
                        .await?;
                    return server.cluster.reload().await;
                }
                _ => {
                    tracing::warn!(
                        member = server.number,
                        "a member that is not the primary takes writes (or does not answer): stopping it"
                    );
                    server.cluster.stop(StopMode::Immediate).await?;
                }
            }
        }
        if !server.cluster.is_marked_standby() {
            let upstream = self.upstream_for(layout, file, server.number).await?;
            if let Err(error) = server.cluster.rewind_from(&upstream).await {
                tracing::warn!(member = server.number, %error, "rewind failed: cloning the member again");
                remove_dir_if_present(&server.paths.data()).await?;
                server.cluster.clone_from(&upstream).await?;
            }
        }
        self.configure_member(&server.cluster, layout, server.number, file)
            .await?;
        server
            .cluster
            .start(&server.paths.log(), Some(self.config.startup_timeout))
            .await
    }
}

/// Whether the server on `socket` replays WAL (a standby).
async fn recovering(socket: &std::path::Path, port: u16) -> Result<bool, PlatformError> {
    let mut connection = logins::connect_socket(socket, port).await?;
    sqlx::query_scalar("SELECT pg_catalog.pg_is_in_recovery()")
        .fetch_one(&mut connection)
        .await
        .map_err(|e| PlatformError::Failed(format!("asking a member its role: {e}")))
}

/// Waits until the standby on `socket` has replayed past `lsn`.
async fn wait_for_replay(
    socket: &std::path::Path,
    port: u16,
    lsn: u64,
) -> Result<(), PlatformError> {
    let deadline = tokio::time::Instant::now() + CATCH_UP;
    let mut connection = logins::connect_socket(socket, port).await?;
    loop {
        let replayed: Option<String> =
            sqlx::query_scalar("SELECT pg_catalog.pg_last_wal_replay_lsn()::text")
                .fetch_one(&mut connection)
                .await
                .map_err(|e| PlatformError::Failed(format!("reading a standby's replay: {e}")))?;
        if replayed
            .as_deref()
            .and_then(super::members::parse_lsn)
            .is_some_and(|replayed| replayed > lsn)
        {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(PlatformError::Failed(format!(
                "the standby did not replay the former primary's last WAL within {}s",
                CATCH_UP.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
