//! The user-chosen name of a database instance.
//!
//! Names become directory names on the local platform and object names on Kubernetes, so
//! they follow DNS-1123 label rules, shortened to 40 characters to leave room for suffixes
//! such as `-credentials` or `-0`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// Longest name accepted.
pub const MAX_LEN: usize = 40;

/// A DNS-1123 label of 1 to 40 characters that starts with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstanceName(String);

impl InstanceName {
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidValue> {
        let value = value.into();
        let problem = if value.is_empty() {
            Some("must not be empty".to_string())
        } else if value.len() > MAX_LEN {
            Some(format!("must be at most {MAX_LEN} characters"))
        } else if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            Some("must start with a lowercase letter".to_string())
        } else if value.ends_with('-') {
            Some("must not end with '-'".to_string())
        } else if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            Some("may contain only lowercase letters, digits and '-'".to_string())
        } else {
            None
        };
        match problem {
            Some(problem) => Err(InvalidValue(format!(
                "invalid instance name {value:?}: {problem}"
            ))),
            None => Ok(Self(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InstanceName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<InstanceName> for String {
    fn from(name: InstanceName) -> Self {
        name.0
    }
}

impl fmt::Display for InstanceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        for ok in ["a", "shop", "shop-1", "a1b2", &"a".repeat(MAX_LEN)] {
            assert!(InstanceName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        let too_long = "a".repeat(MAX_LEN + 1);
        for bad in [
            "", "Shop", "1shop", "-shop", "shop-", "sh_op", "sh.op", "shop ", "ü", &too_long,
        ] {
            let err = InstanceName::parse(bad).unwrap_err();
            assert!(err.0.contains("invalid instance name"), "{bad}: {err}");
        }
    }

    #[test]
    fn deserialising_checks_the_name() {
        assert!(serde_json::from_str::<InstanceName>("\"Bad\"").is_err());
        let name: InstanceName = serde_json::from_str("\"shop\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"shop\"");
    }
}
