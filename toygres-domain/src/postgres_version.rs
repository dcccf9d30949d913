//! The PostgreSQL major version a user asks for.
//!
//! Only the major version is chosen by the user: minor versions are whatever the platform's
//! binaries or image provide. Whether a version is *installed* is the platform's concern;
//! this type only rejects versions Toygres never supports.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// Oldest and newest major versions Toygres knows how to run.
pub const SUPPORTED: std::ops::RangeInclusive<u32> = 13..=18;

/// The default when a user does not ask for a version.
pub const DEFAULT: u32 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PostgresVersion(u32);

impl PostgresVersion {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let major: u32 = value.trim().parse().map_err(|_| {
            InvalidValue(format!(
                "invalid PostgreSQL version {value:?}: expected a major version such as \"{DEFAULT}\""
            ))
        })?;
        Self::new(major)
    }

    pub fn new(major: u32) -> Result<Self, InvalidValue> {
        if SUPPORTED.contains(&major) {
            Ok(Self(major))
        } else {
            Err(InvalidValue(format!(
                "unsupported PostgreSQL version {major}: supported versions are {} to {}",
                SUPPORTED.start(),
                SUPPORTED.end()
            )))
        }
    }

    pub fn major(self) -> u32 {
        self.0
    }
}

impl Default for PostgresVersion {
    fn default() -> Self {
        Self(DEFAULT)
    }
}

impl TryFrom<String> for PostgresVersion {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PostgresVersion> for String {
    fn from(version: PostgresVersion) -> Self {
        version.0.to_string()
    }
}

impl fmt::Display for PostgresVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_majors() {
        assert_eq!(PostgresVersion::parse("15").unwrap().major(), 15);
        assert_eq!(PostgresVersion::parse(" 17 ").unwrap().major(), 17);
    }

    #[test]
    fn rejects_unsupported_or_malformed() {
        for bad in ["9", "12", "99", "15.2", "", "latest", "-1"] {
            assert!(PostgresVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
