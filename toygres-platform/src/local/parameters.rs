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
//! the operation's token, so a repeated call restarts nothing twice.

use sqlx::Row;

use super::LocalPlatform;
use super::instance_file::InstanceFile;
use crate::{AppliedSettings, Platform, PlatformError, Whose};
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
            self.restart(name, whose, restart_token).await?;
        }
        applied.restarted_for.sort();
        applied.restarted_for.dedup();
        Ok(applied)
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
