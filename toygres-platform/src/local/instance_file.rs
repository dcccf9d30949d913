//! `instance.json`: what the local platform fixes for the lifetime of an instance (its
//! port, PostgreSQL version, logins, OS account) and what it learns about its server.
//!
//! Written by the control plane only, into the instance's control-plane-owned directory
//! (see `layout`), through a scratch file and a rename. Fields added since the first
//! version are optional: an instance made before them reads back as what it is (see
//! [`InstanceFile::logins`] and [`InstanceFile::account`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cluster::{io_error, write_file};
use super::layout::Layout;
use super::os_user::{Identity, OsUsers};
use crate::PlatformError;
use crate::access::{self, Access};
use toygres_domain::Standbys;
use toygres_domain::parameters::Settings;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFile {
    /// The CMS record it was made for; absent for one made before the platform
    /// remembered it (any record's call may act on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Uuid>,
    pub port: u16,
    pub postgres_major: u32,
    /// Its owner, database and superuser access; absent for an instance made before
    /// owner roles, which logs in as the superuser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// The OS account its server runs as; absent for one made before each instance had
    /// its own (it runs as the shared account, see `os_user::SHARED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_user: Option<String>,
    /// The account a restored server recovers as (the backup's owner, who alone may read
    /// the backup's WAL) until the restore is finished; then `os_user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovering_as: Option<String>,
    /// Whether its server has been started with TLS and certificates (every start since
    /// Toygres gave instances certificates).
    #[serde(default)]
    pub tls: bool,
    /// The standbys it was asked for (none: not written).
    #[serde(default, skip_serializing_if = "Standbys::is_none")]
    pub standbys: Standbys,
    /// Its servers beyond the first (whose port is `port`), each recorded with its port
    /// before it is made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberFile>,
    /// The number of the member that is the primary (1 until a switchover or a failover
    /// moves it; 1 is not written).
    #[serde(default = "first_member", skip_serializing_if = "is_first_member")]
    pub primary: u8,
    /// The tenant's PostgreSQL parameters, written into every server's configuration.
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
}

fn first_member() -> u8 {
    1
}

fn is_first_member(number: &u8) -> bool {
    *number == 1
}

/// A server of the instance beyond the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberFile {
    /// 2, 3, …: its name is `<instance>-<number>`, its directory `members/<number>`.
    pub number: u8,
    pub port: u16,
}

/// Who logs in to an instance, as the platform runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logins {
    pub owner: String,
    pub database: String,
    pub superuser_access: bool,
}

impl InstanceFile {
    /// The logins of the instance: its access, or, for an instance made before owner roles,
    /// the superuser in `postgres` (with superuser access: that is what its tenant has).
    pub fn logins(&self) -> Logins {
        match &self.access {
            Some(access) => Logins {
                owner: access.owner.to_string(),
                database: access.database.to_string(),
                superuser_access: access.superuser_access,
            },
            None => Logins {
                owner: access::SUPERUSER.into(),
                database: access::MAINTENANCE_DATABASE.into(),
                superuser_access: true,
            },
        }
    }

    /// The port of its `number`-th server (the first's when there is no such member).
    pub fn port_of(&self, number: u8) -> u16 {
        self.members
            .iter()
            .find(|member| member.number == number)
            .map_or(self.port, |member| member.port)
    }

    /// The primary's port.
    pub fn primary_port(&self) -> u16 {
        self.port_of(self.primary)
    }

    /// Every member's number, the first one first.
    pub fn member_numbers(&self) -> Vec<u8> {
        std::iter::once(first_member())
            .chain(self.members.iter().map(|member| member.number))
            .collect()
    }

    /// The account the server runs as now.
    pub fn account(&self, users: &OsUsers) -> Identity {
        match self.recovering_as.as_ref().or(self.os_user.as_ref()) {
            Some(name) => Identity::Account(name.clone()),
            None => users.legacy(),
        }
    }

    /// The account the instance runs as once any restore is finished.
    pub fn own_account(&self, users: &OsUsers) -> Identity {
        match &self.os_user {
            Some(name) => Identity::Account(name.clone()),
            None => users.legacy(),
        }
    }

    pub async fn read(layout: &Layout, name: &str) -> Result<Self, PlatformError> {
        let path = layout.instance_file();
        match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PlatformError::Failed(format!("{} is corrupt: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(PlatformError::NotFound(name.to_string()))
            }
            Err(e) => Err(io_error("reading", &path, e)),
        }
    }

    pub async fn write(&self, layout: &Layout) -> Result<(), PlatformError> {
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| PlatformError::Failed(e.to_string()))?;
        write_file(&layout.instance_file(), &json).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_from_before_owner_roles_reads_as_a_superuser_login() {
        let old: InstanceFile =
            serde_json::from_str(r#"{"port": 20001, "postgres_major": 15}"#).unwrap();
        assert_eq!(
            old.logins(),
            Logins {
                owner: "postgres".into(),
                database: "postgres".into(),
                superuser_access: true
            }
        );
        assert!(!old.tls);
        assert_eq!(old.record, None, "anyone's");
        assert!(
            old.members.is_empty() && old.standbys.is_none(),
            "one server"
        );
        let new = InstanceFile {
            record: Some(Uuid::new_v4()),
            access: Some(Access::default()),
            os_user: Some("toygres-0123456789ab".into()),
            tls: true,
            standbys: Standbys::new(1, true).unwrap(),
            members: vec![MemberFile {
                number: 2,
                port: 20002,
            }],
            primary: 2,
            ..old
        };
        assert_eq!(new.logins().owner, "app");
        let json = serde_json::to_string(&new).unwrap();
        assert_eq!(serde_json::from_str::<InstanceFile>(&json).unwrap(), new);
    }
}
