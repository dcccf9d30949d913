//! Moving the primary role between an instance's servers on the local platform: the steps
//! a switchover (and a failover) is made of, each repeatable after a crash at any point.
//!
//! 1. [`LocalPlatform::stop_primary_cleanly`]: a checkpoint, then a fast stop, which
//!    hands every byte of WAL (the shutdown checkpoint last) to the standbys that stream;
//!    it answers where that WAL ends.
//! 2. [`LocalPlatform::promote_member`]: once the chosen standby has replayed that far,
//!    it is promoted (a new timeline) and recorded in `instance.json` as the primary, with
//!    the other members' replication slots made on it (slots are not replicated).
//!
//! A failover replaces the first step by [`LocalPlatform::fence`]: the failed primary's
//! postmaster and every process it started are killed (a hung one too: `SIGKILL` reaches
//! a stopped process), so no client connected to it can commit again; it is started next
//! only by the rejoin, as a standby, once rewound. [`LocalPlatform::primary_health`] is
//! what failure detection asks: whether the postmaster process is there at all (proven
//! by `/proc`, not by a timeout), and whether it answers.
//!
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
use crate::{PlatformError, PrimaryHealth, Whose};
use toygres_domain::InstanceName;

/// How long a standby may take to replay what the former primary wrote.
const CATCH_UP: Duration = Duration::from_secs(60);
/// How long the primary may take to answer failure detection's query.
const ANSWER_WITHIN: Duration = Duration::from_millis(1000);

impl LocalPlatform {
    /// Whether the primary's postmaster runs, and answers within [`ANSWER_WITHIN`].
    pub(super) async fn primary_health(
        &self,
        name: &InstanceName,
    ) -> Result<PrimaryHealth, PlatformError> {
        let file = self.read_file(name).await?;
        let layout = self.layout(name);
        if self.cluster(&layout, &file)?.running_pid().is_none() {
            return Ok(PrimaryHealth::Gone);
        }
        let socket = layout.member(file.primary).socket_dir(&self.socket_base);
        let answered = tokio::time::timeout(ANSWER_WITHIN, async {
            let mut connection = logins::connect_socket(&socket, file.primary_port()).await?;
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL
                        ELSE pg_catalog.pg_current_wal_lsn()::text END",
            )
            .fetch_one(&mut connection)
            .await
            .map_err(|e| PlatformError::Failed(e.to_string()))
        })
        .await;
        Ok(match answered {
            Ok(Ok(position)) => PrimaryHealth::Answers {
                wal_position: position.as_deref().and_then(super::members::parse_lsn),
            },
            _ => PrimaryHealth::Silent,
        })
    }

    /// Kills the primary's server and every process of it (see the module's docs).
    pub(super) async fn fence(
        &self,
        name: &InstanceName,
        whose: Whose,
    ) -> Result<(), PlatformError> {
        let file = self.read_file_of(name, whose).await?;
        let layout = self.layout(name);
        self.cluster(&layout, &file)?.kill().await
    }

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
        // The new timeline reaches the control file only with a checkpoint, which a
        // promotion merely requests; pg_rewind reads the timeline there, and would find
        // nothing to rewind before it.
        let mut connection = logins::connect_socket(&socket, server.port).await?;
        sqlx::query("CHECKPOINT")
            .execute(&mut connection)
            .await
            .map_err(|e| PlatformError::Failed(format!("checkpoint after promotion: {e}")))?;
        drop(connection);
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

    /// Makes `server` a standby of the primary, running (see the module's docs).
    pub(super) async fn rejoin(
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
                Ok(false) => {
                    tracing::warn!(
                        member = server.number,
                        "a member that is not the primary takes writes: killing it"
                    );
                    server.cluster.kill().await?;
                }
                Err(error) => {
                    // Left as it is (hung, or still recovering): the next rejoin or start
                    // of the instance repoints it.
                    tracing::warn!(member = server.number, %error, "a standby does not answer: not repointed");
                    return Ok(());
                }
            }
        }
        if !server.cluster.is_marked_standby() {
            // Backends a dead postmaster left behind would keep it from starting.
            server.cluster.kill().await?;
            let upstream = self.upstream_for(layout, file, server.number).await?;
            if let Err(error) = server.cluster.rewind_from(&upstream).await {
                tracing::warn!(member = server.number, %error, "rewind failed: cloning the member again");
                remove_dir_if_present(&server.paths.data()).await?;
                server.cluster.clone_from(&upstream).await?;
            }
        }
        self.configure_member(&server.cluster, layout, server.number, file)
            .await?;
        let log = server.paths.log();
        match server
            .cluster
            .start(&log, Some(self.config.startup_timeout))
            .await
        {
            Ok(()) => Ok(()),
            Err(error) => Err(PlatformError::Failed(format!(
                "{error}; last log lines: {}",
                super::log_tail(&log).await
            ))),
        }
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
pub(super) async fn wait_for_replay(
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
