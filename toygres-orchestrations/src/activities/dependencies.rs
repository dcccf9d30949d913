//! What activities need, passed in explicitly.
//!
//! The registry captures one `Arc<Dependencies>` in every activity closure; no activity
//! reads a global or the environment, so tests and several servers can run side by side.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use super::instance_names::InstanceNames;
use super::measures::Measures;
use crate::platform::Platform;

pub struct Dependencies {
    /// The CMS database.
    pub cms: PgPool,
    /// The CMS database for fenced platform calls, which hold a connection for the call's
    /// length (see `cms::fence`): apart from `cms`, so slow calls never starve the rest.
    pub fences: PgPool,
    /// Where instances run.
    pub platform: Arc<dyn Platform>,
    /// How long one connection test or health probe may take.
    pub probe_timeout: Duration,
    /// Where activities record what they measure.
    pub measures: Measures,
    /// Names for log fields, when an input has only an id.
    pub(crate) names: InstanceNames,
}

impl Dependencies {
    pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Fenced calls share `cms` (tests; see [`with_fence_pool`](Self::with_fence_pool)).
    pub fn new(cms: PgPool, platform: Arc<dyn Platform>, measures: Measures) -> Arc<Self> {
        Self::with_probe_timeout(cms, platform, measures, Self::DEFAULT_PROBE_TIMEOUT)
    }

    /// As [`new`](Self::new), with probes bounded by `probe_timeout` (tests shorten it).
    pub fn with_probe_timeout(
        cms: PgPool,
        platform: Arc<dyn Platform>,
        measures: Measures,
        probe_timeout: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            fences: cms.clone(),
            cms,
            platform,
            probe_timeout,
            measures,
            names: InstanceNames::default(),
        })
    }

    /// As [`new`](Self::new), with fenced platform calls on a pool of their own.
    pub fn with_fence_pool(
        cms: PgPool,
        fences: PgPool,
        platform: Arc<dyn Platform>,
        measures: Measures,
    ) -> Arc<Self> {
        Arc::new(Self {
            cms,
            fences,
            platform,
            probe_timeout: Self::DEFAULT_PROBE_TIMEOUT,
            measures,
            names: InstanceNames::default(),
        })
    }
}
