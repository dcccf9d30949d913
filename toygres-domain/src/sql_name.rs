//! Names a user chooses inside PostgreSQL: the role that owns an instance's application
//! database, and that database.
//!
//! They are written into SQL (always quoted) and into connection strings, so they are
//! kept to plain lowercase identifiers that need no quoting anywhere: a letter or `_`,
//! then letters, digits and `_`, at most 63 bytes (PostgreSQL's `NAMEDATALEN - 1`).
//! Names PostgreSQL or the control plane own are refused: the `pg_` prefix (reserved for
//! PostgreSQL's own roles), the `toygres` prefix (the control plane's logins), and the
//! names every cluster has (`postgres`, `public`, `template0`, `template1`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// PostgreSQL truncates longer identifiers.
pub const MAX_LEN: usize = 63;

const RESERVED: &[&str] = &[
    "postgres",
    "public",
    "template0",
    "template1",
    "none",
    "current_user",
    "current_role",
    "session_user",
    "all",
];
const RESERVED_PREFIXES: &[&str] = &["pg_", "toygres"];

fn check(what: &str, value: &str) -> Result<(), InvalidValue> {
    let problem = if value.is_empty() {
        Some("must not be empty".to_string())
    } else if value.len() > MAX_LEN {
        Some(format!("must be at most {MAX_LEN} characters"))
    } else if !value.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        Some("must start with a lowercase letter or '_'".to_string())
    } else if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Some("may contain only lowercase letters, digits and '_'".to_string())
    } else if RESERVED.contains(&value) {
        Some("is a name every PostgreSQL cluster already uses".to_string())
    } else {
        RESERVED_PREFIXES
            .iter()
            .find(|prefix| value.starts_with(**prefix))
            .map(|prefix| {
                format!(
                    "must not start with {prefix:?} (reserved for PostgreSQL and the control plane)"
                )
            })
    };
    match problem {
        Some(problem) => Err(InvalidValue(format!("invalid {what} {value:?}: {problem}"))),
        None => Ok(()),
    }
}

macro_rules! sql_name {
    ($(#[$meta:meta])* $name:ident, $what:literal, $default:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidValue> {
                let value = value.into();
                check($what, &value)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self($default.to_string())
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> Self {
                name.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

sql_name! {
    /// The role an instance's application logs in as: it owns the application database
    /// and is not a superuser. Default `app`.
    RoleName, "owner role", "app"
}

sql_name! {
    /// The application database of an instance, owned by its [`RoleName`]. Default `app`.
    DatabaseName, "database name", "app"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_identifiers() {
        for ok in ["app", "shop_owner", "_x", "a1", &"a".repeat(MAX_LEN)] {
            assert!(RoleName::parse(ok).is_ok(), "{ok}");
            assert!(DatabaseName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_needs_quoting_or_belongs_to_someone_else() {
        let too_long = "a".repeat(MAX_LEN + 1);
        for bad in [
            "",
            "App",
            "1app",
            "my-app",
            "a b",
            "a\"b",
            "é",
            &too_long,
            "postgres",
            "template1",
            "public",
            "pg_monitor",
            "toygres_monitor",
            "toygres",
        ] {
            let err = RoleName::parse(bad).unwrap_err();
            assert!(err.0.contains("invalid owner role"), "{bad}: {err}");
        }
    }

    #[test]
    fn defaults_are_app_and_decoding_checks() {
        assert_eq!(RoleName::default().as_str(), "app");
        assert_eq!(DatabaseName::default().as_str(), "app");
        assert!(serde_json::from_str::<DatabaseName>("\"pg_x\"").is_err());
    }
}
