//! Where everything of one local instance lives, and who owns it.
//!
//! ```text
//! <root>/                         the platform's; 0711 as root (instances' accounts pass through)
//! <root>/<name>/                  the control plane's (root 0711): nothing in it is the tenant's to change
//!   instance.json                 port, version, logins, account, TLS (see `instance_file`)
//!   password                      the superuser's password, 0600
//!   owner-password, monitor-password
//!   server-certificate.json       what the server certificate was issued for
//!   archive-to                    the stanza it archives WAL to (absent: none), 0644
//!   restarted-by                  the token of the last restart
//!   claimed/                      while a warm-pool directory is being adopted
//!   postgres.log                  server log, the instance's account's
//!   data/                         PGDATA, the instance's account's, 0700
//!   run/                          its private Unix socket, the instance's account's, 0700
//! ```
//!
//! Everything the platform reads back (what port, which account, which stanza) is in files
//! the instance's account cannot write, so a tenant with superuser access, which runs as
//! that account, cannot steer the control plane. Instances made before this layout had
//! their directory owned by the account that runs PostgreSQL; [`Layout::secure`] takes it
//! back at their next start.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::cluster::io_error;
use super::socket_dir;
use crate::PlatformError;

/// The paths of one instance.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    pub fn instance_file(&self) -> PathBuf {
        self.dir.join("instance.json")
    }

    pub fn superuser_password(&self) -> PathBuf {
        self.dir.join("password")
    }

    pub fn owner_password(&self) -> PathBuf {
        self.dir.join("owner-password")
    }

    pub fn monitor_password(&self) -> PathBuf {
        self.dir.join("monitor-password")
    }

    pub fn certificate_record(&self) -> PathBuf {
        self.dir.join("server-certificate.json")
    }

    pub fn archive_to(&self) -> PathBuf {
        self.dir.join("archive-to")
    }

    pub fn restarted_by(&self) -> PathBuf {
        self.dir.join("restarted-by")
    }

    pub fn claimed(&self) -> PathBuf {
        self.dir.join("claimed")
    }

    /// Where a restore's copy waits, complete, for the server to start on it.
    pub fn staged(&self) -> PathBuf {
        self.dir.join("data.staged")
    }

    /// Where a restore copies the backup to; renamed to [`Self::staged`] when complete.
    pub fn restore_scratch(&self) -> PathBuf {
        self.dir.join("data.restore")
    }

    pub fn socket_dir(&self, base: &Path) -> PathBuf {
        socket_dir::for_instance(&self.dir, base)
    }

    /// Makes the instance's directory the control plane's: created when missing, owned by
    /// us, `mode` (0711 as root, so the instance's account reaches its own `data/` and
    /// socket; 0700 otherwise). Also takes back a directory an earlier layout gave to the
    /// account PostgreSQL runs as, and the files in it the platform reads back.
    pub fn secure(&self, mode: u32) -> Result<(), PlatformError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_error("creating", &self.dir, e))?;
        let me = nix::unistd::geteuid();
        for path in [
            self.dir.clone(),
            self.instance_file(),
            self.superuser_password(),
            self.archive_to(),
            self.restarted_by(),
        ] {
            let Ok(metadata) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if metadata.file_type().is_symlink() {
                // Only a tenant of an earlier layout could have put it there.
                std::fs::remove_file(&path).map_err(|e| io_error("removing", &path, e))?;
                continue;
            }
            if std::os::unix::fs::MetadataExt::uid(&metadata) != me.as_raw() {
                nix::unistd::chown(&path, Some(me), Some(nix::unistd::getegid()))
                    .map_err(|e| PlatformError::Failed(format!("chown {}: {e}", path.display())))?;
            }
        }
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_error("setting permissions on", &self.dir, e))
    }
}
