//! An instance's restart marker (`restarted-by` in its directory): the token of the last
//! restart done, or of the step a restart in progress had reached. A restart repeated
//! after a crash reads it first and does only what is left, so no server restarts twice
//! for one operation.

use std::path::PathBuf;

use super::cluster;
use super::layout::Layout;
use crate::PlatformError;

pub(super) struct RestartMarker {
    path: PathBuf,
    /// What it records (empty before any restart).
    pub recorded: String,
}

impl RestartMarker {
    pub async fn read(layout: &Layout) -> Self {
        let path = layout.restarted_by();
        let recorded = tokio::fs::read_to_string(&path).await.unwrap_or_default();
        Self { path, recorded }
    }

    /// Whether it records `mark`.
    pub fn records(&self, mark: &str) -> bool {
        self.recorded == mark
    }

    pub async fn record(&self, mark: &str) -> Result<(), PlatformError> {
        cluster::write_file(&self.path, mark.as_bytes()).await
    }
}
