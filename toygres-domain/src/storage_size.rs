//! The storage a user asks for, in whole GiB.
//!
//! The local platform does not enforce it (a data directory grows as it likes); Kubernetes
//! turns it into the size of the volume claim. Bounds keep typos such as `10000` from
//! reaching a cluster.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

pub const MIN_GIB: u32 = 1;
pub const MAX_GIB: u32 = 1024;
pub const DEFAULT_GIB: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct StorageSize(u32);

impl StorageSize {
    pub fn from_gib(gib: u32) -> Result<Self, InvalidValue> {
        if (MIN_GIB..=MAX_GIB).contains(&gib) {
            Ok(Self(gib))
        } else {
            Err(InvalidValue(format!(
                "invalid storage size {gib} GiB: must be between {MIN_GIB} and {MAX_GIB} GiB"
            )))
        }
    }

    pub fn gib(self) -> u32 {
        self.0
    }
}

impl Default for StorageSize {
    fn default() -> Self {
        Self(DEFAULT_GIB)
    }
}

impl TryFrom<u32> for StorageSize {
    type Error = InvalidValue;
    fn try_from(gib: u32) -> Result<Self, Self::Error> {
        Self::from_gib(gib)
    }
}

impl From<StorageSize> for u32 {
    fn from(size: StorageSize) -> Self {
        size.0
    }
}

impl fmt::Display for StorageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Gi", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        assert!(StorageSize::from_gib(1).is_ok());
        assert!(StorageSize::from_gib(1024).is_ok());
        assert!(StorageSize::from_gib(0).is_err());
        assert!(StorageSize::from_gib(1025).is_err());
        assert!(serde_json::from_str::<StorageSize>("0").is_err());
    }
}
