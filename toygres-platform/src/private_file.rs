//! Files their writer alone reads (mode 0600 until someone gives them away), written whole
//! or not at all: a scratch file renamed over the old one, so a reader sees the old content
//! or the new, never half.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::PlatformError;

/// For files written again at every start (settings, rules): no wait for the disk.
pub(crate) fn write(path: &Path, content: &[u8]) -> Result<(), PlatformError> {
    write_through(path, content, false)
}

/// For what is made once and must survive a crash right after (keys, the CA): synced
/// before the rename.
pub fn write_durably(path: &Path, content: &[u8]) -> Result<(), PlatformError> {
    write_through(path, content, true)
}

fn write_through(path: &Path, content: &[u8], sync: bool) -> Result<(), PlatformError> {
    let scratch = path.with_extension("tmp");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&scratch)
        .and_then(|mut file| {
            file.write_all(content)?;
            if sync {
                file.sync_all()?;
            }
            Ok(())
        })
        .and_then(|()| std::fs::rename(&scratch, path));
    written.map_err(|e| PlatformError::Failed(format!("writing {}: {e}", path.display())))
}
