//! Password files: readable by their owner only, written whole or not at all.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::cluster::io_error;
use super::os_user::RunAs;
use crate::{PlatformError, password};

/// Writes a fresh random password to `path` (mode 0600, owned by `run_as` when given),
/// through a scratch file and a rename so a reader never sees half of it.
pub fn write_new(path: &Path, run_as: Option<&RunAs>) -> Result<(), PlatformError> {
    let scratch = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&scratch)
        .map_err(|e| io_error("creating", &scratch, e))?;
    file.write_all(password::generate().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("writing", &scratch, e))?;
    if let Some(run_as) = run_as {
        run_as.give(&scratch)?;
    }
    std::fs::rename(&scratch, path).map_err(|e| io_error("renaming into", path, e))
}

/// Reads a password file written by [`write_new`].
pub async fn read(path: &Path) -> std::io::Result<String> {
    Ok(tokio::fs::read_to_string(path).await?.trim().to_string())
}

/// Makes a directory reachable by its owner only.
pub fn set_private(dir: &Path) -> Result<(), PlatformError> {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| io_error("setting permissions on", dir, e))
}
