//! Who logs in to an instance, and as what: least privilege by default.
//!
//! Every instance has three logins, each with a password of its own that the platform
//! keeps:
//!
//! - the **owner** (default `app`), what the tenant gets: owns the application database
//!   (default `app`), may create databases, schemas, tables and trusted extensions, and is
//!   not a superuser. It holds none of the roles that reach the server's files or programs
//!   (`pg_read_server_files`, `pg_write_server_files`, `pg_execute_server_program`). On
//!   PostgreSQL 16 and later it may also create roles (`CREATEROLE` there only manages the
//!   roles it made); on 15 and earlier `CREATEROLE` could grant itself those three roles,
//!   so the owner does not get it.
//! - the **monitor** (`toygres_monitor`): `pg_monitor` only, for the control plane's
//!   health probes; never handed out.
//! - the **superuser** (`postgres`): the control plane's own (over the instance's private
//!   socket), and the tenant's only when the instance has superuser access, which the
//!   authentication rules refuse over TCP otherwise.
//!
//! The SQL here is run as the superuser (over the private socket locally, by the image's
//! init script on Kubernetes). Passwords travel as SCRAM verifiers, never as plaintext,
//! so no statement a server might log holds one. Every statement may run again.

use serde::{Deserialize, Serialize};

use crate::scram;
use toygres_domain::{DatabaseName, RoleName};

/// The superuser every cluster has.
pub const SUPERUSER: &str = "postgres";
/// The control plane's probe login.
pub const MONITOR: &str = "toygres_monitor";
/// The database every cluster has; the monitor's and the superuser's.
pub const MAINTENANCE_DATABASE: &str = "postgres";
/// What `pg_monitor` reads and no more.
const MONITOR_GRANT: &str = "pg_monitor";
/// The roles that reach the server's files and programs: a tenant holds none of them.
pub const SERVER_ACCESS_ROLES: &[&str] = &[
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
];
/// The first major version whose `CREATEROLE` cannot grant itself other roles.
const SAFE_CREATEROLE_MAJOR: u32 = 16;

/// What a user asked for about logins, fixed at create (superuser access can change).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Access {
    #[serde(default)]
    pub owner: RoleName,
    #[serde(default)]
    pub database: DatabaseName,
    /// Whether the tenant may log in as the superuser too.
    #[serde(default)]
    pub superuser_access: bool,
}

impl Access {
    /// The default owner and database, no superuser access.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The default owner and database (whatever the superuser access).
    pub fn has_default_names(&self) -> bool {
        let defaults = Self::default();
        self.owner == defaults.owner && self.database == defaults.database
    }
}

/// Which of an instance's logins to hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// The application's: what a user connects with.
    Owner,
    /// The control plane's health probes.
    Monitor,
    /// The superuser: only for an instance with superuser access.
    Superuser,
}

/// The passwords of an instance's logins, as verifiers.
pub struct Verifiers {
    pub superuser: String,
    pub owner: String,
    pub monitor: String,
}

impl Verifiers {
    pub fn of(superuser: &str, owner: &str, monitor: &str) -> Self {
        Self {
            superuser: scram::verifier(superuser),
            owner: scram::verifier(owner),
            monitor: scram::verifier(monitor),
        }
    }
}

/// Quotes an identifier (the names are validated plain identifiers; quoting is belt and
/// braces).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Creates the owner and monitor roles when missing and sets every login's attributes and
/// password, in one transaction-safe script (no `CREATE DATABASE`: see
/// [`create_database_sql`]).
pub fn roles_sql(access: &Access, verifiers: &Verifiers, major: u32) -> String {
    let owner = ident(access.owner.as_str());
    let createrole = match major >= SAFE_CREATEROLE_MAJOR {
        true => "CREATEROLE",
        false => "NOCREATEROLE",
    };
    let ensure = |role: &str| {
        format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN \
             CREATE ROLE {}; END IF; END $$;\n",
            literal(role),
            ident(role)
        )
    };
    let mut sql = String::new();
    sql.push_str(&ensure(access.owner.as_str()));
    sql.push_str(&ensure(MONITOR));
    sql.push_str(&format!(
        "ALTER ROLE {SUPERUSER} WITH PASSWORD {};\n",
        literal(&verifiers.superuser)
    ));
    sql.push_str(&format!(
        "ALTER ROLE {owner} WITH LOGIN NOSUPERUSER CREATEDB {createrole} NOREPLICATION \
         NOBYPASSRLS PASSWORD {};\n",
        literal(&verifiers.owner)
    ));
    sql.push_str(&format!(
        "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
         NOBYPASSRLS PASSWORD {};\n",
        ident(MONITOR),
        literal(&verifiers.monitor)
    ));
    sql.push_str(&format!("GRANT {MONITOR_GRANT} TO {};\n", ident(MONITOR)));
    sql
}

/// `CREATE DATABASE` cannot run inside a transaction or a `DO` block: the caller checks
/// [`database_exists_sql`] first.
pub fn create_database_sql(access: &Access) -> String {
    format!(
        "CREATE DATABASE {} OWNER {}",
        ident(access.database.as_str()),
        ident(access.owner.as_str())
    )
}

/// One row when the application database exists.
pub fn database_exists_sql(access: &Access) -> String {
    format!(
        "SELECT 1 FROM pg_database WHERE datname = {}",
        literal(access.database.as_str())
    )
}

/// Forgets every setting made with `ALTER SYSTEM` (only a superuser can make one). A
/// statement of its own: it cannot run in a transaction.
pub const RESET_SYSTEM_SETTINGS: &str = "ALTER SYSTEM RESET ALL";

/// Takes back what a tenant with superuser access may have handed out, so that turning it
/// off leaves no other way in: no role but the superuser keeps `SUPERUSER` (nor, before
/// PostgreSQL 16, `CREATEROLE`), no role keeps the server-access roles, and the superuser
/// gets a new password. With [`RESET_SYSTEM_SETTINGS`].
pub fn revoke_superuser_sql(verifiers: &Verifiers, major: u32) -> String {
    let server_roles = SERVER_ACCESS_ROLES
        .iter()
        .map(|role| literal(role))
        .collect::<Vec<_>>()
        .join(", ");
    let createrole = match major >= SAFE_CREATEROLE_MAJOR {
        true => "",
        false => " OR rolcreaterole",
    };
    format!(
        "DO $$ DECLARE r record; BEGIN\n\
         FOR r IN SELECT rolname FROM pg_roles WHERE (rolsuper{createrole}) AND rolname <> {super_} LOOP\n\
           EXECUTE format('ALTER ROLE %I NOSUPERUSER NOCREATEROLE', r.rolname);\n\
         END LOOP;\n\
         FOR r IN SELECT g.rolname AS granted, m.rolname AS member FROM pg_auth_members a\n\
           JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member\n\
           WHERE g.rolname IN ({server_roles}) LOOP\n\
           EXECUTE format('REVOKE %I FROM %I CASCADE', r.granted, r.member);\n\
         END LOOP;\n\
         END $$;\n\
         ALTER ROLE {SUPERUSER} WITH PASSWORD {password};\n",
        super_ = literal(SUPERUSER),
        password = literal(&verifiers.superuser),
    )
}

/// The authentication rules (`pg_hba.conf`) of an instance: trust on its private Unix
/// socket (only the server's OS user and root can reach it), for replication too (its
/// standbys run as that user and stream over it; no rule admits replication over TCP),
/// passwords over TLS from `clients`, nothing without TLS, and no superuser over TCP
/// unless it has superuser access.
pub fn hba_rules(clients: &[&str], superuser_access: bool) -> String {
    let mut rules = String::from(
        "# Written by Toygres; rewritten at every start.\n\
         local all all trust\n\
         local replication all trust\n",
    );
    for network in clients {
        rules.push_str(&format!("hostnossl all all {network} reject\n"));
    }
    if !superuser_access {
        for network in clients {
            rules.push_str(&format!("hostssl all {SUPERUSER} {network} reject\n"));
        }
    }
    for network in clients {
        rules.push_str(&format!("hostssl all all {network} scram-sha-256\n"));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> Access {
        Access {
            owner: RoleName::parse("shop").unwrap(),
            database: DatabaseName::parse("orders").unwrap(),
            superuser_access: false,
        }
    }

    #[test]
    fn the_owner_gets_createrole_only_where_it_is_safe() {
        let verifiers = Verifiers::of("s", "o", "m");
        let old = roles_sql(&access(), &verifiers, 15);
        assert!(old.contains("ALTER ROLE \"shop\" WITH LOGIN NOSUPERUSER CREATEDB NOCREATEROLE"));
        let new = roles_sql(&access(), &verifiers, 16);
        assert!(new.contains("CREATEDB CREATEROLE"));
        for sql in [old, new] {
            assert!(sql.contains("GRANT pg_monitor TO \"toygres_monitor\""));
            assert!(!sql.contains("'o'") && !sql.contains("'s'"), "{sql}");
            assert!(sql.contains("SCRAM-SHA-256$"));
        }
    }

    #[test]
    fn the_database_belongs_to_the_owner() {
        assert_eq!(
            create_database_sql(&access()),
            "CREATE DATABASE \"orders\" OWNER \"shop\""
        );
    }

    #[test]
    fn tcp_without_tls_and_the_superuser_are_refused_unless_asked_for() {
        let locked = hba_rules(&["127.0.0.1/32"], false);
        let lines: Vec<&str> = locked.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "local all all trust",
                "local replication all trust",
                "hostnossl all all 127.0.0.1/32 reject",
                "hostssl all postgres 127.0.0.1/32 reject",
                "hostssl all all 127.0.0.1/32 scram-sha-256",
            ]
        );
        let open = hba_rules(&["127.0.0.1/32"], true);
        assert!(!open.contains("postgres"), "{open}");
    }
}
