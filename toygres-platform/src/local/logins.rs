//! A local instance's logins: their passwords (files only the control plane reads), and
//! the roles made over the instance's private socket (see [`crate::access`]).
//!
//! The control plane's own connection is the superuser's over the private Unix socket,
//! where the instance's authentication rules trust it: no password is needed for it, and
//! the socket's directory admits only the instance's account and root.

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};

use super::cluster::io_error;
use super::layout::Layout;
use super::secret_file;
use crate::PlatformError;
use crate::access::{self, Access, Verifiers};

/// The three passwords of an instance.
pub struct Passwords {
    pub superuser: String,
    pub owner: String,
    pub monitor: String,
}

impl Passwords {
    pub fn verifiers(&self) -> Verifiers {
        Verifiers::of(&self.superuser, &self.owner, &self.monitor)
    }

    /// [`Self::verifiers`], computed off the runtime's threads (three PBKDF2 derivations):
    /// started early, it is ready by the time the server is.
    pub fn verifiers_in_background(&self) -> tokio::task::JoinHandle<Verifiers> {
        let (superuser, owner, monitor) = (
            self.superuser.clone(),
            self.owner.clone(),
            self.monitor.clone(),
        );
        tokio::task::spawn_blocking(move || Verifiers::of(&superuser, &owner, &monitor))
    }

    /// Creates the password files that are missing (0600, the control plane's); a later
    /// deploy keeps them.
    pub fn ensure_files(layout: &Layout) -> Result<(), PlatformError> {
        for path in [
            layout.superuser_password(),
            layout.owner_password(),
            layout.monitor_password(),
        ] {
            if !path.is_file() {
                secret_file::write_new(&path, None)?;
            }
        }
        Ok(())
    }

    pub async fn read(layout: &Layout) -> Result<Self, PlatformError> {
        Ok(Self {
            superuser: read_secret(&layout.superuser_password()).await?,
            owner: read_secret(&layout.owner_password()).await?,
            monitor: read_secret(&layout.monitor_password()).await?,
        })
    }
}

pub async fn read_secret(path: &Path) -> Result<String, PlatformError> {
    secret_file::read(path)
        .await
        .map_err(|e| io_error("reading", path, e))
}

/// The superuser's connection over the private socket in `socket_dir`; statements are not
/// logged.
pub async fn connect_socket(socket_dir: &Path, port: u16) -> Result<PgConnection, PlatformError> {
    let options = PgConnectOptions::new()
        .socket(socket_dir)
        .port(port)
        .username(access::SUPERUSER)
        .database(access::MAINTENANCE_DATABASE)
        .application_name("toygres")
        .log_statements(log::LevelFilter::Off)
        .log_slow_statements(log::LevelFilter::Off, Duration::MAX);
    PgConnection::connect_with(&options)
        .await
        .map_err(|e| PlatformError::Failed(format!("connecting to {}: {e}", socket_dir.display())))
}

/// Where the logins' roles and database come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A fresh `initdb`, or an instance that has them already.
    Created,
    /// A warm-pool directory, made with the default owner and database
    /// ([`premake`]): renamed when the instance wants other names.
    Premade,
}

/// Makes the instance's logins what `access` and `passwords` say: the owner and monitor
/// roles, the application database, every password. Repeatable.
pub async fn provision(
    connection: &mut PgConnection,
    access: &Access,
    verifiers: &Verifiers,
    major: u32,
    start: Start,
) -> Result<(), PlatformError> {
    let defaults = Access::default();
    if start == Start::Premade
        && access.owner != defaults.owner
        && role_exists(connection, defaults.owner.as_str()).await?
        && !role_exists(connection, access.owner.as_str()).await?
    {
        execute(
            connection,
            &format!(
                "ALTER ROLE \"{}\" RENAME TO \"{}\"",
                defaults.owner, access.owner
            ),
        )
        .await?;
    }
    execute(connection, &access::roles_sql(access, verifiers, major)).await?;
    if exists(connection, &access::database_exists_sql(access)).await? {
        return Ok(());
    }
    let premade = Access {
        database: defaults.database.clone(),
        ..access.clone()
    };
    if start == Start::Premade && exists(connection, &access::database_exists_sql(&premade)).await?
    {
        execute(
            connection,
            &format!(
                "ALTER DATABASE \"{}\" RENAME TO \"{}\"",
                defaults.database, access.database
            ),
        )
        .await?;
        return execute(
            connection,
            &format!(
                "ALTER DATABASE \"{}\" OWNER TO \"{}\"",
                access.database, access.owner
            ),
        )
        .await;
    }
    execute(connection, &access::create_database_sql(access)).await
}

/// Takes superuser access away (see [`access::revoke_superuser_sql`]) and ends the
/// superuser sessions that came over TCP; the caller then restarts the server.
pub async fn revoke_superuser(
    connection: &mut PgConnection,
    verifiers: &Verifiers,
    major: u32,
) -> Result<(), PlatformError> {
    execute(connection, &access::revoke_superuser_sql(verifiers, major)).await?;
    execute(connection, access::RESET_SYSTEM_SETTINGS).await?;
    execute(
        connection,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE client_addr IS NOT NULL AND pid <> pg_backend_pid() \
         AND usesysid IN (SELECT oid FROM pg_roles WHERE rolsuper)",
    )
    .await
}

async fn execute(connection: &mut PgConnection, sql: &str) -> Result<(), PlatformError> {
    connection
        .execute(sqlx::raw_sql(sql))
        .await
        .map(|_| ())
        .map_err(|e| PlatformError::Failed(format!("setting up the instance's logins: {e}")))
}

async fn exists(connection: &mut PgConnection, sql: &str) -> Result<bool, PlatformError> {
    sqlx::query_scalar::<_, i32>(sql)
        .fetch_optional(connection)
        .await
        .map(|row| row.is_some())
        .map_err(|e| PlatformError::Failed(format!("reading the instance's logins: {e}")))
}

async fn role_exists(connection: &mut PgConnection, role: &str) -> Result<bool, PlatformError> {
    sqlx::query_scalar::<_, i32>("SELECT 1 FROM pg_roles WHERE rolname = $1")
        .bind(role)
        .fetch_optional(connection)
        .await
        .map(|row| row.is_some())
        .map_err(|e| PlatformError::Failed(format!("reading the instance's roles: {e}")))
}
