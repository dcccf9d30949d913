//! Which operating-system user runs PostgreSQL.
//!
//! `initdb` and `postgres` refuse to run as root. When the control plane itself runs as root
//! (containers, CI), PostgreSQL processes run as the unprivileged `postgres` user and the
//! directories they use are handed to it; otherwise they run as the current user.

use std::path::Path;

use nix::unistd::{Gid, Uid, User};

use crate::PlatformError;

/// The account PostgreSQL processes are started as, when it differs from ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    uid: u32,
    gid: u32,
}

/// `None` when we are not root: processes inherit our identity.
pub fn detect() -> Result<Option<RunAs>, PlatformError> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let user = User::from_name("postgres")
        .map_err(|e| PlatformError::Failed(format!("looking up the 'postgres' user: {e}")))?
        .ok_or_else(|| {
            PlatformError::Unsupported(
                "running as root, but there is no 'postgres' user to run PostgreSQL as; create one or run as an unprivileged user"
                    .into(),
            )
        })?;
    Ok(Some(RunAs {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
    }))
}

impl RunAs {
    pub fn apply(&self, command: &mut tokio::process::Command) {
        command.uid(self.uid).gid(self.gid);
    }

    /// Gives `path` to this user (not recursive: used on directories and files we create).
    pub fn give(&self, path: &Path) -> Result<(), PlatformError> {
        nix::unistd::chown(
            path,
            Some(Uid::from_raw(self.uid)),
            Some(Gid::from_raw(self.gid)),
        )
        .map_err(|e| PlatformError::Failed(format!("chown {}: {e}", path.display())))
    }
}
