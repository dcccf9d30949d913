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
            let log_before = self
                .read_server_log(name, LogStart::Tail { lines: 1 })
                .await;
            if let Err(error) = self.restart(name, whose, restart_token).await {
                let reason = match log_before {
                    Ok(before) => self.why_not_started(name, before.next).await,
                    Err(_) => None,
                };
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

    /// What the server that did not start said last (its `FATAL` line), in the primary's
    /// log after `from`: the postmaster's last words end the log, and of the lines after
    /// `from` only its own count, not a client's refused connection.
    async fn why_not_started(&self, name: &InstanceName, from: LogCursor) -> Option<String> {
        let read = self
            .read_server_log(name, LogStart::After(from))
            .await
            .ok()?;
        let lines: Vec<&str> = read.text.lines().collect();
        let postmaster = logged_by(lines.last()?)?;
        let line = lines
            .iter()
            .rev()
            .find(|line| logged_by(line) == Some(postmaster) && line.contains(" FATAL: "))?;
        let said = line.split_once(" FATAL: ").map_or(*line, |(_, said)| said);
        Some(said.trim().chars().take(MAX_REASON_CHARS).collect())
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
}
