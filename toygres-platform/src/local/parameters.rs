//! The tenant's PostgreSQL parameters on a local instance.
//!
//! They live in the instance's file (`InstanceFile::settings`), so every server of the
//! instance gets them whenever its configuration is written: a standby cloned again, a
//! restart, a new version of Toygres. They are written into `toygres.conf` before the
//! control plane's own lines, which win.
//!
//! Applying them: write the file and every server's configuration, reload, then ask the
//! primary what its configuration files now say it cannot take without a restart
//! (`pg_file_settings`, read from the files at the moment of the query, so the answer does
//! not depend on when the reload reached the server) and what is pending a restart
//! (`pg_settings`). If anything is, the instance restarts (rolling, with standbys) under
//! the operation's token, so a repeated call restarts nothing twice. A server that does
//! not start with the new parameters gets its previous ones back and starts with them.

use sqlx::Row;

use super::LocalPlatform;
use super::instance_file::InstanceFile;
use super::layout::Layout;
use super::restart_marker::RestartMarker;
use super::{members, roles};
use crate::{AppliedSettings, LogCursor, LogStart, Platform, PlatformError, Whose};
use toygres_domain::InstanceName;
use toygres_domain::parameters::Settings;

/// What the configuration files hold that the running server did not take: a parameter
/// that waits for a restart (`postmaster` context), or one the server refused.
const NOT_TAKEN: &str = "SELECT f.name, f.error, s.context, f.sourcefile, f.sourceline
     FROM pg_file_settings f JOIN pg_settings s USING (name)
     WHERE f.error IS NOT NULL
     ORDER BY f.name";

/// Parameters already marked as waiting for a restart (a reset one among them).
const PENDING: &str = "SELECT name FROM pg_settings WHERE pending_restart ORDER BY name";

/// Of `names`, those that need a restart to change and are not at their default.
const RESTART_TO_RESET: &str = "SELECT name FROM pg_settings
     WHERE name = ANY($1) AND context = 'postmaster' AND source <> 'default'";

/// The parameters a hot standby needs at least the primary's value of.
const STANDBY_MINIMUMS: [&str; 5] = [
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
];

/// Of `$1`, those the configuration files (their last line for it, else the built-in
/// default) set below what the server runs with.
const LOWERED_STANDBY_MINIMUMS: &str = "SELECT s.name FROM pg_settings s
     LEFT JOIN LATERAL (
         SELECT f.setting FROM pg_file_settings f
         WHERE f.name = s.name ORDER BY f.seqno DESC LIMIT 1
     ) f ON true
     WHERE s.name = ANY($1) AND COALESCE(f.setting, s.boot_val)::bigint < s.setting::bigint";

/// How a connection turned away while a server starts or stops begins its `FATAL`.
const TURNED_AWAY: &str = "the database system is ";

/// What the restart marker says once the primary restarted first.
const PRIMARY_RESTARTED: &str = "/primary-restarted";

/// What the token of the restart that puts the previous parameters back ends with.
const PUT_BACK: &str = "/put-back";
/// The most of that reason an error carries.
const MAX_REASON_CHARS: usize = 300;

impl LocalPlatform {
    pub(super) async fn apply_parameters(
        &self,
        name: &InstanceName,
        whose: Whose,
        settings: &Settings,
        restart_token: &str,
    ) -> Result<AppliedSettings, PlatformError> {
        let layout = self.layout(name);
        let file = self.read_file_of(name, whose).await?;
        let previous = file.settings.clone();
        let reset: Vec<String> = file
            .settings
            .keys()
            .filter(|name| !settings.contains_key(*name))
            .map(ToString::to_string)
            .collect();
        let file = InstanceFile {
            settings: settings.clone(),
            ..file
        };
        file.write(&layout).await?;
        let cluster = self.cluster(&layout, &file)?;
        if cluster.running_pid().is_none() {
            return Err(PlatformError::Failed(format!(
                "the server of {name} is not running: its parameters are written and apply at its next start"
            )));
        }
        let file = self.configure(&cluster, &layout, file).await?;
        cluster.reload().await?;
        self.reload_standbys(&layout, &file).await?;
        let mut applied = self.not_taken(name, &reset).await?;
        if !applied.restarted_for.is_empty() {
            let logs_before = self.log_ends(name, &file).await;
            let restarted = match self.lowers_standby_minimums(name, &file).await? {
                true => self.restart_primary_first(name, whose, restart_token).await,
                false => self.restart(name, whose, restart_token).await,
            };
            if let Err(error) = restarted {
                let reason = self.why_not_started(name, &logs_before).await;
                let reason = reason.unwrap_or(error.to_string());
                return Err(self
                    .put_back(name, whose, previous, restart_token, &reason)
                    .await);
            }
        }
        applied.restarted_for.sort();
        applied.restarted_for.dedup();
        Ok(applied)
    }

    /// The server did not come back with the new parameters: the ones it had go back
    /// (into the file, and so into every server's configuration) and it starts again with
    /// them, under a token of its own. A value the server cannot start with (huge pages it
    /// does not have, more shared memory than the host) costs a restart, not the
    /// instance. The answer is `Unsupported`: asking again would fail again.
    async fn put_back(
        &self,
        name: &InstanceName,
        whose: Whose,
        previous: Settings,
        restart_token: &str,
        reason: &str,
    ) -> PlatformError {
        tracing::warn!(instance = %name, %reason, "the server did not start with the new parameters; putting the previous ones back");
        let restored = async {
            let file = self.read_file_of(name, whose).await?;
            let file = InstanceFile {
                settings: previous,
                ..file
            };
            file.write(&self.layout(name)).await?;
            self.restart(name, whose, &format!("{restart_token}{PUT_BACK}"))
                .await
        };
        match restored.await {
            Ok(()) => PlatformError::Unsupported(format!(
                "the server of {name} did not start with these parameters ({reason}); it \
                 runs again with the ones it had"
            )),
            Err(again) => PlatformError::Failed(format!(
                "the server of {name} did not start with these parameters ({reason}), nor \
                 again with the ones it had: {again}"
            )),
        }
    }

    /// Where each member's log ends now, to read what a restart writes there.
    async fn log_ends(&self, name: &InstanceName, file: &InstanceFile) -> Vec<LogCursor> {
        let mut ends = Vec::new();
        for member in file.member_numbers() {
            let end = self.read_member_log(name, member, LogStart::Tail { lines: 1 });
            if let Ok(end) = end.await {
                ends.push(end.next);
            }
        }
        ends
    }

    /// What a server that did not start said last (its `FATAL` line), in the members'
    /// logs after `ends`.
    async fn why_not_started(&self, name: &InstanceName, ends: &[LogCursor]) -> Option<String> {
        for end in ends {
            let read = self
                .read_member_log(name, end.member, LogStart::After(*end))
                .await;
            if let Some(said) = read.ok().and_then(|read| postmasters_fatal(&read.text)) {
                return Some(said);
            }
        }
        None
    }

    /// Whether the files now lower a parameter a standby must have at least the
    /// primary's value of (PostgreSQL's hot standby refuses to start otherwise): then the
    /// primary restarts first, and a standby never runs below it.
    async fn lowers_standby_minimums(
        &self,
        name: &InstanceName,
        file: &InstanceFile,
    ) -> Result<bool, PlatformError> {
        if file.members.is_empty() {
            return Ok(false);
        }
        let mut connection = self.connect_socket(name).await?;
        let lowered: Vec<String> = sqlx::query_scalar(LOWERED_STANDBY_MINIMUMS)
            .bind(STANDBY_MINIMUMS)
            .fetch_all(&mut connection)
            .await
            .map_err(|e| PlatformError::Failed(format!("reading the parameters of {name}: {e}")))?;
        if !lowered.is_empty() {
            tracing::info!(instance = %name, lowered = %lowered.join(", "), "parameters a standby needs are lowered: the primary restarts first");
        }
        Ok(!lowered.is_empty())
    }

    /// A restart for lowered standby minimums: the primary restarts where it is first (a
    /// short outage: no standby may take over with the higher values), then the standbys.
    /// A repeated call after the primary's restart restarts only the standbys.
    async fn restart_primary_first(
        &self,
        name: &InstanceName,
        whose: Whose,
        token: &str,
    ) -> Result<(), PlatformError> {
        let layout = self.layout(name);
        let marker = RestartMarker::read(&layout).await;
        if marker.records(token) {
            return Ok(());
        }
        let primary_done = format!("{token}{PRIMARY_RESTARTED}");
        let mut file = self.read_file_of(name, whose).await?;
        if !marker.records(&primary_done) {
            file = self.restart_primary_in_place(&layout, file).await?;
            marker.record(&primary_done).await?;
        }
        self.standbys_replay_primary(name, &layout, &file).await?;
        self.restart_standbys(&layout, &file).await?;
        marker.record(token).await
    }

    /// Waits until every running standby has replayed what the primary wrote so far: the
    /// values it restarted with among it, which a standby checks its own against when it
    /// starts.
    async fn standbys_replay_primary(
        &self,
        name: &InstanceName,
        layout: &Layout,
        file: &InstanceFile,
    ) -> Result<(), PlatformError> {
        let failed = |e: sqlx::Error| {
            PlatformError::Failed(format!("reading where the WAL of {name} ends: {e}"))
        };
        let mut primary = self.connect_socket(name).await?;
        let flushed: String =
            sqlx::query_scalar("SELECT pg_catalog.pg_current_wal_flush_lsn()::text")
                .fetch_one(&mut primary)
                .await
                .map_err(failed)?;
        let flushed = members::parse_lsn(&flushed).ok_or_else(|| {
            PlatformError::Failed(format!(
                "the primary of {name} said its WAL ends at {flushed}"
            ))
        })?;
        for server in self.standby_servers(layout, file)? {
            if server.cluster.running_pid().is_some() {
                let socket = server.paths.socket_dir(&self.socket_base);
                roles::wait_for_replay(&socket, server.port, flushed.saturating_sub(1)).await?;
            }
        }
        Ok(())
    }

    /// Asks the primary which parameters wait for a restart and which it refused.
    async fn not_taken(
        &self,
        name: &InstanceName,
        reset: &[String],
    ) -> Result<AppliedSettings, PlatformError> {
        let failed = |e: sqlx::Error| {
            PlatformError::Failed(format!("reading the parameters of {name}: {e}"))
        };
        let mut connection = self.connect_socket(name).await?;
        let mut applied = AppliedSettings::default();
        for row in sqlx::query(NOT_TAKEN)
            .fetch_all(&mut connection)
            .await
            .map_err(failed)?
        {
            let parameter: String = row.get("name");
            let context: String = row.get("context");
            if context == "postmaster" {
                applied.restarted_for.push(parameter);
            } else {
                let error: String = row.get("error");
                let line: Option<i32> = row.get("sourceline");
                applied.not_applied.push(format!(
                    "{parameter}: {error} (line {})",
                    line.unwrap_or_default()
                ));
            }
        }
        let pending: Vec<String> = sqlx::query_scalar(PENDING)
            .fetch_all(&mut connection)
            .await
            .map_err(failed)?;
        let reset: Vec<String> = sqlx::query_scalar(RESTART_TO_RESET)
            .bind(reset)
            .fetch_all(&mut connection)
            .await
            .map_err(failed)?;
        applied.restarted_for.extend(pending);
        applied.restarted_for.extend(reset);
        Ok(applied)
    }
}

/// The `FATAL` line of the postmaster whose last words end `text` (of the lines there,
/// only its own count, not a client's refused connection).
fn postmasters_fatal(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let postmaster = logged_by(lines.last()?)?;
    let fatals: Vec<(&str, &str)> = lines
        .iter()
        .filter_map(|line| {
            let (_, said) = line.split_once(" FATAL: ")?;
            Some((logged_by(line)?, said.trim()))
        })
        .collect();
    // The postmaster's own; else its startup process's (a failed recovery), which is not
    // a connection turned away while the server starts or stops.
    let said = fatals
        .iter()
        .rev()
        .find(|(pid, _)| *pid == postmaster)
        .or_else(|| {
            fatals
                .iter()
                .find(|(_, said)| !said.starts_with(TURNED_AWAY))
        })?
        .1;
    Some(said.chars().take(MAX_REASON_CHARS).collect())
}

/// The process id of a line of the server's log (`%m [%p] `, PostgreSQL's default prefix).
fn logged_by(line: &str) -> Option<&str> {
    let mut words = line.splitn(5, ' ');
    let date = words.next()?;
    let (_time, _zone) = (words.next()?, words.next()?);
    let pid = words.next()?.strip_prefix('[')?.strip_suffix(']')?;
    let numeric = |word: &str| !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
    (date.starts_with(|c: char| c.is_ascii_digit()) && numeric(pid)).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_which_process_logged_it() {
        let line =
            "2026-12-08 01:00:00.000 UTC [4242] FATAL:  could not map anonymous shared memory";
        assert_eq!(logged_by(line), Some("4242"));
        assert_eq!(logged_by("\tcontinued [1] line"), None);
        assert_eq!(logged_by("2026-12-08 01:00:00.000 UTC [x] LOG:  y"), None);
    }

    #[test]
    fn the_reason_is_the_postmasters_not_a_clients() {
        let log = "2026-12-08 01:00:00.000 UTC [100] LOG:  database system is shut down
2026-12-08 01:00:00.100 UTC [200] LOG:  starting PostgreSQL 15.14
2026-12-08 01:00:00.200 UTC [201] FATAL:  the database system is starting up
2026-12-08 01:00:00.300 UTC [200] FATAL:  could not map anonymous shared memory: Cannot allocate memory
2026-12-08 01:00:00.300 UTC [200] HINT:  This error usually means that ...
2026-12-08 01:00:00.301 UTC [202] FATAL:  the database system is shut down
2026-12-08 01:00:00.400 UTC [200] LOG:  database system is shut down
";
        assert_eq!(
            postmasters_fatal(log).as_deref(),
            Some("could not map anonymous shared memory: Cannot allocate memory")
        );
        let recovery = "2026-12-08 01:00:00.100 UTC [300] LOG:  starting PostgreSQL 15.14
2026-12-08 01:00:00.200 UTC [301] FATAL:  the database system is starting up
2026-12-08 01:00:00.300 UTC [302] FATAL:  recovery aborted because of insufficient parameter settings
2026-12-08 01:00:00.400 UTC [300] LOG:  startup process (PID 302) exited with exit code 1
2026-12-08 01:00:00.500 UTC [300] LOG:  database system is shut down
";
        assert_eq!(
            postmasters_fatal(recovery).as_deref(),
            Some("recovery aborted because of insufficient parameter settings")
        );
        assert_eq!(
            postmasters_fatal("2026-12-08 01:00:00.000 UTC [1] LOG:  fine\n"),
            None
        );
    }
}
