//! Login credentials of an instance.
//!
//! The password is deliberately neither `Serialize` nor printable through `Debug`, so it
//! cannot slip into an activity result, a log line or an error message by accident.

use std::fmt;

use super::Endpoint;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    password: String,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// A libpq URI for `endpoint`, password included: hand it only to the instance's owner.
    pub fn connection_string(&self, endpoint: &Endpoint) -> String {
        format!(
            "postgresql://{}:{}@{}:{}/{}",
            percent_encode(&self.user),
            percent_encode(&self.password),
            endpoint.host,
            endpoint.port,
            percent_encode(&endpoint.database)
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
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

    #[test]
    fn debug_hides_the_password() {
        let creds = Credentials::new("postgres", "s3cret-value");
        assert!(!format!("{creds:?}").contains("s3cret-value"));
    }

    #[test]
    fn connection_string_escapes_reserved_characters() {
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port: 5433,
            user: "postgres".into(),
            database: "postgres".into(),
        };
        let url = Credentials::new("postgres", "a@b:c/d").connection_string(&endpoint);
        assert_eq!(
            url,
            "postgresql://postgres:a%40b%3Ac%2Fd@127.0.0.1:5433/postgres"
        );
    }
}
