//! The warm pool: data directories initialised ahead of time, so a create skips `initdb`
//! (85% of the time a new PostgreSQL server takes).
//!
//! ```text
//! <root>/.warm-pool/<major>/<id>.making/   being made; discarded if found later
//! <root>/.warm-pool/<major>/<id>/data/     ready: initdb done, the default owner and
//!                                          database made, passwords nobody knows
//! ```
//!
//! An entry becomes ready by one rename, so a crash while making it leaves only a
//! `.making` directory, which the next fill removes: a half-made directory is never
//! handed out. A deploy claims an entry by renaming it into the instance's directory
//! (atomic, so two deploys never get the same one), gives it to the instance's OS account
//! and then sets the instance's own logins over its private socket. Entries are made by
//! the pool's own account (see `os_user`). Instance names cannot start with a dot, so
//! `.warm-pool` never collides with one.

use std::future::Future;
use std::path::{Path, PathBuf};

use super::cluster::{io_error, remove_dir_if_present};
use super::os_user::RunAs;
use super::secret_file;
use crate::PlatformError;

const DIR: &str = ".warm-pool";
const MAKING: &str = "making";

pub struct WarmPool {
    dir: PathBuf,
    /// Whether other accounts (the pool's) must pass through the pool's directories.
    shared: bool,
}

impl WarmPool {
    pub fn new(root: &Path, shared: bool) -> Self {
        Self {
            dir: root.join(DIR),
            shared,
        }
    }

    pub fn major_dir(&self, major: u32) -> PathBuf {
        self.dir.join(major.to_string())
    }

    /// Ready entries for `major`, oldest name first.
    pub fn ready(&self, major: u32) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.major_dir(major)) else {
            return Vec::new();
        };
        let mut ready: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_none() && path.join("data").is_dir())
            .collect();
        ready.sort();
        ready
    }

    /// Removes entries a crash left half-made.
    pub async fn discard_half_made(&self, major: u32) -> Result<usize, PlatformError> {
        let Ok(entries) = std::fs::read_dir(self.major_dir(major)) else {
            return Ok(0);
        };
        let half_made: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == MAKING))
            .collect();
        for path in &half_made {
            remove_dir_if_present(path).await?;
        }
        Ok(half_made.len())
    }

    /// Makes one ready entry: `prepare(entry_dir)` initialises `entry_dir/data` (as the
    /// pool's account, which owns the entry).
    pub async fn make_one<Prepared>(
        &self,
        major: u32,
        run_as: Option<RunAs>,
        prepare: impl FnOnce(PathBuf) -> Prepared,
    ) -> Result<(), PlatformError>
    where
        Prepared: Future<Output = Result<(), PlatformError>>,
    {
        let major_dir = self.major_dir(major);
        self.ensure_traversable(&major_dir).await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let making = major_dir.join(format!("{id}.{MAKING}"));
        tokio::fs::create_dir_all(&making)
            .await
            .map_err(|e| io_error("creating", &making, e))?;
        secret_file::set_private(&making)?;
        if let Some(run_as) = &run_as {
            run_as.give(&making)?;
        }
        prepare(making.clone()).await?;
        let ready = major_dir.join(&id);
        tokio::fs::rename(&making, &ready)
            .await
            .map_err(|e| io_error("renaming into", &ready, e))
    }

    /// Moves a ready entry for `major` to `to`; false when the pool is empty.
    pub async fn claim(&self, major: u32, to: &Path) -> Result<bool, PlatformError> {
        for entry in self.ready(major) {
            match tokio::fs::rename(&entry, to).await {
                Ok(()) => return Ok(true),
                // Another deploy took this one first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("claiming", &entry, e)),
            }
        }
        Ok(false)
    }

    /// The pool's account must be able to reach the data directories inside.
    async fn ensure_traversable(&self, dir: &Path) -> Result<(), PlatformError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_error("creating", dir, e))?;
        if self.shared {
            use std::os::unix::fs::PermissionsExt;
            for path in [&self.dir, dir] {
                tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(0o711))
                    .await
                    .map_err(|e| io_error("setting permissions on", path, e))?;
            }
        }
        Ok(())
    }
}
