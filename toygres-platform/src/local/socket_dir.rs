//! Where an instance's private Unix socket lives.
//!
//! pgBackRest and the platform's own maintenance connect over a Unix socket in a directory
//! only the server's OS user (and root) may enter, where PostgreSQL trusts local
//! connections. A socket's path must fit in `sun_path` (107 bytes on Linux), so the socket
//! sits in the instance's own directory when that path is short enough, and otherwise in a
//! directory under `/tmp` named by a hash of the instance's directory: the same instance
//! directory always gives the same place, across restarts and server upgrades.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::cluster::io_error;
use super::os_user::RunAs;
use super::secret_file;
use crate::PlatformError;

/// The longest Unix socket path Linux accepts (`sun_path` less its terminating NUL).
const MAX_SOCKET_PATH: usize = 107;
/// The socket file PostgreSQL creates in the directory, with the longest port.
const SOCKET_FILE: &str = "/.s.PGSQL.65535";
/// Where the socket goes when the instance's directory is too deep.
const SHORT_BASE: &str = "/tmp";

/// The socket directory of the instance whose directory is `instance_dir`.
pub fn for_instance(instance_dir: &Path) -> PathBuf {
    let inside = instance_dir.join("run");
    if inside.as_os_str().len() + SOCKET_FILE.len() <= MAX_SOCKET_PATH {
        return inside;
    }
    let digest = Sha256::digest(instance_dir.as_os_str().as_encoded_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Path::new(SHORT_BASE).join(format!("toygres-{short}"))
}

/// Creates the socket directory (private to the server's user) when it is missing, as it
/// is after a reboot empties `/tmp`.
pub async fn ensure(instance_dir: &Path, run_as: Option<&RunAs>) -> Result<PathBuf, PlatformError> {
    let dir = for_instance(instance_dir);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| io_error("creating", &dir, e))?;
    secret_file::set_private(&dir)?;
    if let Some(run_as) = run_as {
        run_as.give(&dir)?;
    }
    Ok(dir)
}

/// Removes the socket directory when it lives outside the instance's directory.
pub async fn remove(instance_dir: &Path) -> Result<(), PlatformError> {
    let dir = for_instance(instance_dir);
    if dir.starts_with(instance_dir) {
        return Ok(());
    }
    super::cluster::remove_dir_if_present(&dir).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_instance_directory_keeps_its_socket_inside() {
        let dir = Path::new("/var/lib/toygres/instances/shop");
        assert_eq!(for_instance(dir), dir.join("run"));
    }

    #[test]
    fn a_deep_instance_directory_gets_a_short_stable_socket_directory() {
        let deep = PathBuf::from(format!("/srv/{}/instances/shop", "x".repeat(100)));
        let chosen = for_instance(&deep);
        assert!(chosen.starts_with(SHORT_BASE), "{}", chosen.display());
        assert!(chosen.as_os_str().len() + SOCKET_FILE.len() <= MAX_SOCKET_PATH);
        assert_eq!(
            chosen,
            for_instance(&deep),
            "the same directory, the same socket"
        );
        let other = PathBuf::from(format!("/srv/{}/instances/shoe", "x".repeat(100)));
        assert_ne!(chosen, for_instance(&other));
    }
}
