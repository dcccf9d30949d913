//! How full the file system under an instance is (`statvfs`), for the health probe's
//! "disk nearly full" guardrail: a local server stops taking writes, and may stop for
//! good, when its WAL cannot be written.

use std::path::Path;

use super::cluster::io_error;
use crate::{DiskUsage, PlatformError};

/// The usage of the file system holding `dir`; `None` when `dir` is gone.
pub(super) async fn usage(dir: &Path) -> Result<Option<DiskUsage>, PlatformError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || match nix::sys::statvfs::statvfs(&dir) {
        Ok(stats) => {
            let block = stats.fragment_size();
            Ok(Some(DiskUsage {
                total_bytes: stats.blocks() * block,
                available_bytes: stats.blocks_available() * block,
            }))
        }
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(io_error("measuring the file system of", &dir, e.into())),
    })
    .await
    .map_err(|e| PlatformError::Failed(format!("measuring a file system: {e}")))?
}
