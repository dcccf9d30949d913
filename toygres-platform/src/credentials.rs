//! Login credentials of an instance: one of its logins ([`crate::Login`]), with the
//! database it is for and how to tell the server is the right one.
//!
//! The password is deliberately neither `Serialize` nor printable through `Debug`, so it
//! cannot slip into an activity result, a log line or an error message by accident.

use std::fmt;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgSslMode};

use super::{Endpoint, Tls};
use crate::certificates::TrustedCa;

/// How long a client waits for one member before trying the next.
const MEMBER_CONNECT_TIMEOUT_SECS: u32 = 2;

/// Which member of an instance with standbys a connection string reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Route {
    /// The primary, wherever it is.
    #[default]
    ReadWrite,
    /// A standby when one answers, else the primary.
    ReadOnly,
}

impl Route {
    fn session_attrs(self) -> &'static str {
        match self {
            Self::ReadWrite => "read-write",
            Self::ReadOnly => "prefer-standby",
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    password: String,
    /// The database this login connects to.
    pub database: String,
    /// The CA that signed the server's certificate, when the server speaks TLS.
    pub root_certificate: Option<TrustedCa>,
}

impl Credentials {
    pub fn new(
        user: impl Into<String>,
        password: impl Into<String>,
        database: impl Into<String>,
    ) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
            database: database.into(),
            root_certificate: None,
        }
    }

    /// The same login, verifying the server against `ca`.
    pub fn verified_by(mut self, ca: &TrustedCa) -> Self {
        self.root_certificate = Some(ca.clone());
        self
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// A libpq URI for `endpoint`, password included: hand it only to the instance's
    /// owner. With TLS it asks for `sslmode=verify-full` (or `verify-ca` where the platform
    /// cannot name the address in the certificate); the client adds `sslrootcert=` with
    /// the CA certificate it was given. An instance with standbys is named by every
    /// member's address, and the client connects to the one that takes writes
    /// (`target_session_attrs=read-write`), so after a failover the same string reaches
    /// the new primary.
    pub fn connection_string(&self, endpoint: &Endpoint) -> String {
        self.connection_string_to(endpoint, Route::ReadWrite)
    }

    /// [`Self::connection_string`] for `route`.
    pub fn connection_string_to(&self, endpoint: &Endpoint, route: Route) -> String {
        let hosts: Vec<String> = std::iter::once((&endpoint.host, endpoint.port))
            .chain(endpoint.standbys.iter().map(|a| (&a.host, a.port)))
            .map(|(host, port)| format!("{host}:{port}"))
            .collect();
        let base = format!(
            "postgresql://{}:{}@{}/{}",
            percent_encode(&self.user),
            percent_encode(&self.password),
            hosts.join(","),
            percent_encode(&self.database)
        );
        let mut parameters = Vec::new();
        if let Some(mode) = endpoint.tls.sslmode() {
            parameters.push(format!("sslmode={mode}"));
        }
        if !endpoint.standbys.is_empty() {
            parameters.push(format!("target_session_attrs={}", route.session_attrs()));
            // A member that hangs is given up on and the next one tried.
            parameters.push(format!("connect_timeout={MEMBER_CONNECT_TIMEOUT_SECS}"));
        }
        match parameters.is_empty() {
            true => base,
            false => format!("{base}?{}", parameters.join("&")),
        }
    }

    /// sqlx options for this login at `endpoint`, verifying the server as the endpoint
    /// says; statements are not logged.
    pub fn connect_options(&self, endpoint: &Endpoint) -> PgConnectOptions {
        let options = PgConnectOptions::new()
            .host(&endpoint.host)
            .port(endpoint.port)
            .username(&self.user)
            .password(&self.password)
            .database(&self.database)
            .log_statements(log::LevelFilter::Off)
            .log_slow_statements(log::LevelFilter::Off, std::time::Duration::MAX);
        let mode = match endpoint.tls {
            Tls::Off => return options.ssl_mode(PgSslMode::Prefer),
            Tls::VerifyFull => PgSslMode::VerifyFull,
            Tls::VerifyCa => PgSslMode::VerifyCa,
        };
        let options = options.ssl_mode(mode);
        match &self.root_certificate {
            Some(ca) => options.ssl_root_cert_from_pem(ca.pem().as_bytes().to_vec()),
            None => options,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(tls: Tls) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port: 5433,
            user: "app".into(),
            database: "app".into(),
            tls,
            standbys: Vec::new(),
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let creds = Credentials::new("postgres", "s3cret-value", "postgres");
        assert!(!format!("{creds:?}").contains("s3cret-value"));
    }

    #[test]
    fn connection_string_escapes_reserved_characters() {
        let url = Credentials::new("postgres", "a@b:c/d", "postgres")
            .connection_string(&endpoint(Tls::Off));
        assert_eq!(
            url,
            "postgresql://postgres:a%40b%3Ac%2Fd@127.0.0.1:5433/postgres"
        );
    }

    #[test]
    fn a_tls_endpoint_asks_for_verification() {
        let creds = Credentials::new("app", "pw", "app");
        assert_eq!(
            creds.connection_string(&endpoint(Tls::VerifyFull)),
            "postgresql://app:pw@127.0.0.1:5433/app?sslmode=verify-full"
        );
        assert!(
            creds
                .connection_string(&endpoint(Tls::VerifyCa))
                .ends_with("?sslmode=verify-ca")
        );
    }

    #[test]
    fn an_instance_with_standbys_is_reached_through_every_member() {
        let creds = Credentials::new("app", "pw", "app");
        let endpoint = Endpoint {
            standbys: vec![
                crate::Address {
                    host: "127.0.0.1".into(),
                    port: 5434,
                },
                crate::Address {
                    host: "127.0.0.1".into(),
                    port: 5435,
                },
            ],
            ..endpoint(Tls::VerifyFull)
        };
        assert_eq!(
            creds.connection_string(&endpoint),
            "postgresql://app:pw@127.0.0.1:5433,127.0.0.1:5434,127.0.0.1:5435/app\
             ?sslmode=verify-full&target_session_attrs=read-write&connect_timeout=2"
        );
        assert!(
            creds
                .connection_string_to(&endpoint, Route::ReadOnly)
                .contains("target_session_attrs=prefer-standby")
        );
    }
}
