//! How many standbys an instance keeps beside its primary, and whether commits wait for
//! one of them.
//!
//! Standbys stream the primary's WAL and are what a failover or a switchover promotes.
//! Four is the most an instance may ask for (five members): more copies cost a whole
//! server each and add nothing a user of one instance needs. Synchronous commit needs a
//! standby to wait for, so `synchronous` without standbys is refused rather than ignored.

use serde::{Deserialize, Serialize};

use super::InvalidValue;

pub const MAX_STANDBYS: u8 = 4;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "StandbysFields", into = "StandbysFields")]
pub struct Standbys {
    count: u8,
    synchronous: bool,
}

impl Standbys {
    /// One primary and nothing else.
    pub const NONE: Standbys = Standbys {
        count: 0,
        synchronous: false,
    };

    pub fn new(count: u32, synchronous: bool) -> Result<Self, InvalidValue> {
        let count = u8::try_from(count)
            .ok()
            .filter(|count| *count <= MAX_STANDBYS)
            .ok_or_else(|| {
                InvalidValue(format!(
                    "invalid number of standbys {count}: must be between 0 and {MAX_STANDBYS}"
                ))
            })?;
        if synchronous && count == 0 {
            return Err(InvalidValue(
                "synchronous commit needs at least one standby to wait for (add --standbys N)"
                    .into(),
            ));
        }
        Ok(Self { count, synchronous })
    }

    pub fn count(self) -> u8 {
        self.count
    }

    /// Whether a commit waits until one standby has it.
    pub fn synchronous(self) -> bool {
        self.synchronous
    }

    pub fn is_none(&self) -> bool {
        self.count == 0
    }
}

/// The wire shape, checked on the way in.
#[derive(Serialize, Deserialize)]
struct StandbysFields {
    count: u32,
    #[serde(default)]
    synchronous: bool,
}

impl TryFrom<StandbysFields> for Standbys {
    type Error = InvalidValue;
    fn try_from(fields: StandbysFields) -> Result<Self, Self::Error> {
        Self::new(fields.count, fields.synchronous)
    }
}

impl From<Standbys> for StandbysFields {
    fn from(standbys: Standbys) -> Self {
        Self {
            count: standbys.count.into(),
            synchronous: standbys.synchronous,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_zero_to_four_and_sync_without_standbys_are_refused() {
        assert_eq!(Standbys::new(0, false).unwrap(), Standbys::NONE);
        assert_eq!(Standbys::new(4, true).unwrap().count(), 4);
        let five = Standbys::new(5, false).unwrap_err().0;
        assert!(five.contains("between 0 and 4"), "{five}");
        assert!(Standbys::new(300, false).is_err());
        let lonely = Standbys::new(0, true).unwrap_err().0;
        assert!(lonely.contains("at least one standby"), "{lonely}");
    }

    #[test]
    fn the_wire_shape_is_checked_too() {
        let two: Standbys = serde_json::from_str(r#"{"count": 2, "synchronous": true}"#).unwrap();
        assert_eq!((two.count(), two.synchronous()), (2, true));
        assert_eq!(
            serde_json::to_string(&two).unwrap(),
            r#"{"count":2,"synchronous":true}"#
        );
        assert!(serde_json::from_str::<Standbys>(r#"{"count": 9}"#).is_err());
        assert!(serde_json::from_str::<Standbys>(r#"{"count": 0, "synchronous": true}"#).is_err());
    }
}
