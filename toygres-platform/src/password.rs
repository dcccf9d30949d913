//! Instance passwords: generated where the instance lives, never passed around.

use rand::distr::{Alphanumeric, SampleString};

const LENGTH: usize = 32;

/// 32 random alphanumerics (about 190 bits), safe in URLs and shells without quoting.
pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), LENGTH)
}
