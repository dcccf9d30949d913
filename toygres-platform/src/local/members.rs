//! An instance's standbys on the local platform.
//!
//! A standby is another PostgreSQL server of the same instance: it runs as the instance's
//! OS account, lives under `members/<n>/` of the instance's directory (see `layout`) and
//! listens on a port of its own. It is cloned from the primary with `pg_basebackup` over
//! the primary's private socket, through a physical replication slot of its own
//! (`toygres_member_<n>`), so the primary keeps every segment the standby has not received
//! even while the standby is down; then it streams over that socket. Replication is
//! admitted on the private socket only (see [`crate::access::hba_rules`]): no tenant can
//! replicate over TCP.
//!
//! With synchronous standbys the primary's commits wait for any one of them
//! (`synchronous_standby_names = 'ANY 1 (…)'`). That setting is written only once every
//! standby exists, so the primary's own first writes (its logins, made before the clones
//! they then reach by streaming) never wait for a standby that is not there yet.

use std::time::Duration;

use sqlx::Row;

use super::cluster::{PgCluster, StopMode, Upstream};
use super::instance_file::{InstanceFile, MemberFile};
use super::layout::Layout;
use super::logins;
use super::provision::{FIRST_MEMBER, quoted};
use super::{HOST, LocalPlatform};
use crate::access;
use crate::{Member, MemberRole, MemberState, PlatformError};
use toygres_domain::InstanceName;

/// How long reading one member's state may take before it counts as unreachable.
const MEMBER_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The replication slot (and `application_name`) of member `number`.
fn slot_of(number: u8) -> String {
    format!("toygres_member_{number}")
}

/// A server of an instance: its number and where it runs.
pub(super) struct Server {
    pub number: u8,
    pub port: u16,
    pub paths: Layout,
    pub cluster: PgCluster,
}

impl LocalPlatform {
    /// Makes and starts the standbys `file` asks for (each member's port recorded before
    /// it is made), then, when they are synchronous, makes the primary's commits wait for
    /// one. Repeatable: a member already made follows the primary (see `roles`).
    pub(super) async fn ensure_standbys(
        &self,
        layout: &Layout,
        file: InstanceFile,
    ) -> Result<InstanceFile, PlatformError> {
        if file.standbys.is_none() {
            return Ok(file);
        }
        let file = self.record_members(layout, file).await?;
        for server in self.standby_servers(layout, &file)? {
            self.ensure_standby(layout, &file, server).await?;
        }
        if file.standbys.synchronous() {
            let primary = self.cluster(layout, &file)?;
            self.configure_member(&primary, layout, file.primary, &file)
                .await?;
            if primary.running_pid().is_some() {
                primary.reload().await?;
            }
        }
        Ok(file)
    }

    /// Gives every standby asked for a member number and a port, written down one by one
    /// (so two never get the same port).
    async fn record_members(
        &self,
        layout: &Layout,
        mut file: InstanceFile,
    ) -> Result<InstanceFile, PlatformError> {
        let wanted = usize::from(file.standbys.count());
        if file.members.len() >= wanted {
            return Ok(file);
        }
        let _allocating = self.port_allocation.lock().await;
        while file.members.len() < wanted {
            let number = FIRST_MEMBER + 1 + file.members.len() as u8;
            file.members.push(MemberFile {
                number,
                port: self.free_port()?,
            });
            file.write(layout).await?;
        }
        Ok(file)
    }

    async fn ensure_standby(
        &self,
        layout: &Layout,
        file: &InstanceFile,
        server: Server,
    ) -> Result<(), PlatformError> {
        if !server.cluster.is_initialised() {
            server.paths.secure(self.shared_dir_mode())?;
            let upstream = self.upstream_for(layout, file, server.number).await?;
            server.cluster.clone_from(&upstream).await?;
        }
        // A former primary a failover left behind is rewound before it starts, never
        // started as it is (it would take writes beside the primary).
        self.rejoin(layout, file, server).await
    }

    /// The primary as member `number` streams from it, with the member's slot made.
    pub(super) async fn upstream_for(
        &self,
        layout: &Layout,
        file: &InstanceFile,
        number: u8,
    ) -> Result<Upstream, PlatformError> {
        let upstream = self.upstream(layout, file, number);
        let mut connection = logins::connect_socket(&upstream.socket_dir, upstream.port).await?;
        sqlx::query(
            "SELECT pg_catalog.pg_create_physical_replication_slot($1, true)
             WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)",
        )
        .bind(&upstream.slot)
        .execute(&mut connection)
        .await
        .map_err(|e| PlatformError::Failed(format!("making replication slot: {e}")))?;
        Ok(upstream)
    }

    pub(super) fn upstream(&self, layout: &Layout, file: &InstanceFile, number: u8) -> Upstream {
        let primary = layout.member(file.primary);
        Upstream {
            socket_dir: primary.socket_dir(&self.socket_base),
            port: file.primary_port(),
            user: access::SUPERUSER.into(),
            slot: slot_of(number),
        }
    }

    /// The settings that make member `number` what it is: the primary waits for a
    /// synchronous standby once they all exist; a standby streams from the primary.
    pub(super) fn role_settings(
        &self,
        layout: &Layout,
        number: u8,
        file: &InstanceFile,
    ) -> Vec<(String, String)> {
        if number != file.primary {
            let upstream = self.upstream(layout, file, number);
            let conninfo = format!(
                "host='{}' port={} user={} application_name={}",
                upstream
                    .socket_dir
                    .display()
                    .to_string()
                    .replace('\'', "\\'"),
                upstream.port,
                upstream.user,
                upstream.slot
            );
            return vec![
                ("primary_conninfo".into(), quoted(conninfo)),
                ("primary_slot_name".into(), quoted(upstream.slot)),
            ];
        }
        let standbys: Vec<u8> = file
            .member_numbers()
            .into_iter()
            .filter(|number| *number != file.primary)
            .collect();
        let all_made = standbys
            .iter()
            .all(|number| layout.member(*number).data().join("PG_VERSION").is_file());
        if !file.standbys.synchronous() || standbys.is_empty() || !all_made {
            return Vec::new();
        }
        let names: Vec<String> = standbys.into_iter().map(slot_of).collect();
        vec![(
            "synchronous_standby_names".into(),
            quoted(format!("ANY 1 ({})", names.join(", "))),
        )]
    }

    /// Member `number` of the instance in `layout`, run as the instance's account.
    pub(super) fn server(
        &self,
        layout: &Layout,
        file: &InstanceFile,
        number: u8,
    ) -> Result<Server, PlatformError> {
        let paths = layout.member(number);
        let run_as = self.users.resolve(&file.account(&self.users))?;
        let install = self.binaries.for_major(file.postgres_major)?.clone();
        Ok(Server {
            number,
            port: file.port_of(number),
            cluster: PgCluster::new(paths.data(), install, run_as),
            paths,
        })
    }

    /// The instance's servers but its primary (none for an instance without standbys).
    pub(super) fn standby_servers(
        &self,
        layout: &Layout,
        file: &InstanceFile,
    ) -> Result<Vec<Server>, PlatformError> {
        if file.members.is_empty() {
            return Ok(Vec::new());
        }
        file.member_numbers()
            .into_iter()
            .filter(|number| *number != file.primary)
            .map(|number| self.server(layout, file, number))
            .collect()
    }

    /// Stops every standby (`mode`); a stopped one is success.
    pub(super) async fn stop_standbys(
        &self,
        layout: &Layout,
        file: &InstanceFile,
        mode: StopMode,
    ) -> Result<(), PlatformError> {
        for server in self.standby_servers(layout, file)? {
            server.cluster.stop(mode).await?;
        }
        Ok(())
    }

    /// Replaces each standby's server process, one after the other, on this version's
    /// settings (a stopped one is started).
    pub(super) async fn restart_standbys(
        &self,
        layout: &Layout,
        file: &InstanceFile,
    ) -> Result<(), PlatformError> {
        for server in self.standby_servers(layout, file)? {
            if server.cluster.running_pid().is_none() || !server.cluster.is_marked_standby() {
                // Stopped, or a former primary: started only as a standby, rewound.
                self.rejoin(layout, file, server).await?;
                continue;
            }
            self.configure_member(&server.cluster, layout, server.number, file)
                .await?;
            server
                .cluster
                .restart(&server.paths.log(), self.config.startup_timeout)
                .await?;
        }
        Ok(())
    }

    /// The standby a rolling restart hands the primary role to: the streaming one with the
    /// least lag (none when no standby streams).
    pub(super) async fn successor(&self, name: &InstanceName) -> Result<Option<u8>, PlatformError> {
        let members = self.read_members(name).await?;
        Ok(members
            .iter()
            .filter(|m| m.role == MemberRole::Standby && m.state == MemberState::Streaming)
            .min_by_key(|m| (m.lag_bytes.unwrap_or(u64::MAX), m.number))
            .map(|m| m.number))
    }

    /// Makes every running standby read its settings again, rewritten for this version
    /// (its authentication rules follow the instance's superuser access).
    pub(super) async fn reload_standbys(
        &self,
        layout: &Layout,
        file: &InstanceFile,
    ) -> Result<(), PlatformError> {
        for server in self.standby_servers(layout, file)? {
            self.configure_member(&server.cluster, layout, server.number, file)
                .await?;
            if server.cluster.running_pid().is_some() {
                server.cluster.reload().await?;
            }
        }
        Ok(())
    }

    /// Every server of `name` as it answers now, the first one first; none for an instance
    /// without standbys.
    pub(super) async fn read_members(
        &self,
        name: &InstanceName,
    ) -> Result<Vec<Member>, PlatformError> {
        let file = self.read_file(name).await?;
        if file.members.is_empty() {
            return Ok(Vec::new());
        }
        let layout = self.layout(name);
        let mut seen = Vec::new();
        for number in file.member_numbers() {
            let server = self.server(&layout, &file, number)?;
            let socket = server.paths.socket_dir(&self.socket_base);
            let answer = match server.cluster.running_pid() {
                None => None,
                Some(_) => {
                    tokio::time::timeout(MEMBER_READ_TIMEOUT, read_server(&socket, server.port))
                        .await
                        .ok()
                        .and_then(Result::ok)
                }
            };
            seen.push((server, answer));
        }
        let primary_lsn = seen
            .iter()
            .filter_map(|(_, answer)| answer.as_ref())
            .find(|answer| !answer.recovering)
            .map(|answer| answer.lsn);
        Ok(seen
            .into_iter()
            .map(|(server, answer)| {
                let recorded = match server.number == file.primary {
                    true => MemberRole::Primary,
                    false => MemberRole::Standby,
                };
                member_of(name, &server, recorded, answer.as_ref(), primary_lsn)
            })
            .collect())
    }
}

/// What one server says about itself.
struct ServerAnswer {
    recovering: bool,
    /// Where its WAL ends: written (a primary) or replayed (a standby).
    lsn: u64,
    /// What a standby has received (0: nothing by streaming).
    received: u64,
    timeline: u32,
    receiving: bool,
}

async fn read_server(socket: &std::path::Path, port: u16) -> Result<ServerAnswer, PlatformError> {
    let mut connection = logins::connect_socket(socket, port).await?;
    let row = sqlx::query(
        "SELECT pg_catalog.pg_is_in_recovery() AS recovering,
                (CASE WHEN pg_catalog.pg_is_in_recovery()
                      THEN pg_catalog.pg_last_wal_replay_lsn()
                      ELSE pg_catalog.pg_current_wal_lsn() END)::text AS lsn,
                pg_catalog.pg_last_wal_receive_lsn()::text AS received,
                CASE WHEN pg_catalog.pg_is_in_recovery()
                     THEN COALESCE((SELECT received_tli FROM pg_catalog.pg_stat_wal_receiver),
                                   (SELECT timeline_id FROM pg_catalog.pg_control_checkpoint()))
                     ELSE ('x' || substr(pg_catalog.pg_walfile_name(
                                 pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int
                END AS timeline,
                EXISTS (SELECT FROM pg_catalog.pg_stat_wal_receiver
                        WHERE status = 'streaming') AS receiving",
    )
    .fetch_one(&mut connection)
    .await
    .map_err(|e| PlatformError::Failed(format!("reading a member's state: {e}")))?;
    let lsn: Option<String> = row.try_get("lsn").unwrap_or(None);
    let received: Option<String> = row.try_get("received").unwrap_or(None);
    let timeline: Option<i32> = row.try_get("timeline").unwrap_or(None);
    Ok(ServerAnswer {
        recovering: row.try_get("recovering").unwrap_or(true),
        lsn: lsn.as_deref().and_then(parse_lsn).unwrap_or(0),
        received: received.as_deref().and_then(parse_lsn).unwrap_or(0),
        timeline: timeline.and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
        receiving: row.try_get("receiving").unwrap_or(false),
    })
}

/// A member as it answered (`recorded`: its role as the platform last set it, for one
/// that does not answer).
fn member_of(
    name: &InstanceName,
    server: &Server,
    recorded: MemberRole,
    answer: Option<&ServerAnswer>,
    primary_lsn: Option<u64>,
) -> Member {
    let role = match answer {
        Some(answer) if answer.recovering => MemberRole::Standby,
        Some(_) => MemberRole::Primary,
        None => recorded,
    };
    let state = match answer {
        None if server.cluster.running_pid().is_none() => MemberState::Stopped,
        None => MemberState::Unreachable,
        Some(answer) if !answer.recovering => MemberState::Running,
        Some(answer) if answer.receiving => MemberState::Streaming,
        Some(_) => MemberState::Disconnected,
    };
    let lag_bytes = match (answer, primary_lsn) {
        (Some(answer), Some(primary)) if answer.recovering => {
            Some(primary.saturating_sub(answer.lsn))
        }
        (Some(_), Some(_)) => Some(0),
        _ => None,
    };
    Member {
        name: format!("{name}-{}", server.number),
        number: server.number,
        role,
        host: HOST.into(),
        port: server.port,
        state,
        lag_bytes,
        wal_position: answer.map(|answer| answer.lsn.max(answer.received)),
        timeline: answer.map(|answer| answer.timeline).filter(|t| *t > 0),
    }
}

/// A WAL position written `X/Y` (hexadecimal halves).
pub(super) fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    let high = u64::from_str_radix(high, 16).ok()?;
    let low = u64::from_str_radix(low, 16).ok()?;
    Some(high << 32 | low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_positions_read_as_bytes() {
        assert_eq!(parse_lsn("0/3000148"), Some(0x300_0148));
        assert_eq!(parse_lsn("1/0"), Some(1 << 32));
        assert_eq!(parse_lsn("nonsense"), None);
    }
}
