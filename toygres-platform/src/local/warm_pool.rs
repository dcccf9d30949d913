//! The warm pool: data directories initialised ahead of time, so a create skips `initdb`
//! (85% of the time a new PostgreSQL server takes) and most of what follows it.
//!
//! ```text
//! <root>/.warm-pool/<major>/<id>.making/   being made; discarded if found later
//! <root>/.warm-pool/<major>/<id>/          ready (the control plane's, 0711):
//!   data/                                  initdb done, the default owner and database
//!                                          made; its own OS account's (0700)
//!   password, owner-password, monitor-password   its logins' passwords (0600)
//!   server-certificate.json                its certificate's record (the certificate is
//!                                          in data/: it names 127.0.0.1, as every local
//!                                          instance's does)
//!   account                                the OS account it belongs to (empty: ours)
//!   ready                                  written last: the entry is whole
//! ```
//!
//! An entry becomes ready by one rename, so a crash while making it leaves only a
//! `.making` directory, which the next fill removes (with its account): a half-made entry
//! is never handed out, and neither is one of an earlier version (no `ready`). A deploy
//! claims an entry by renaming it into the instance's directory (atomic, so two deploys
//! never get the same one) and takes everything in it: data, passwords, certificate and
//! account, made for one instance and never seen by anyone, so the instance's own. Each
//! entry has an account of its own, named after the entry's id (making and naming an
//! account on the create's path would cost it more than a tenth of its time). Instance
//! names cannot start with a dot, so `.warm-pool` never collides with one.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::cluster::{io_error, remove_dir_if_present, write_file};
use crate::PlatformError;

const DIR: &str = ".warm-pool";
const MAKING: &str = "making";
/// Names the entry's OS account.
pub const ACCOUNT: &str = "account";
/// Written last into a whole entry.
const READY: &str = "ready";

pub struct WarmPool {
    dir: PathBuf,
    /// Whether other accounts (the entries') must pass through the pool's directories.
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

    fn entries(&self, major: u32) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.major_dir(major)) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect()
    }

    /// Ready entries for `major`, oldest name first.
    pub fn ready(&self, major: u32) -> Vec<PathBuf> {
        let mut ready: Vec<PathBuf> = self
            .entries(major)
            .into_iter()
            .filter(|path| path.extension().is_none() && path.join(READY).is_file())
            .collect();
        ready.sort();
        ready
    }

    /// Removes entries a crash left half-made, and whole entries of an earlier version;
    /// returns the accounts they named, for the caller to remove.
    pub async fn discard_unusable(&self, major: u32) -> Result<Vec<String>, PlatformError> {
        let unusable: Vec<PathBuf> = self
            .entries(major)
            .into_iter()
            .filter(|path| {
                path.extension().is_some_and(|ext| ext == MAKING) || !path.join(READY).is_file()
            })
            .collect();
        let mut accounts = Vec::new();
        for path in &unusable {
            accounts.extend(account_of(path));
            remove_dir_if_present(path).await?;
        }
        Ok(accounts)
    }

    /// Makes one ready entry: `prepare(entry_dir, id)` fills it (the data, the passwords,
    /// the certificate, the account's name).
    pub async fn make_one<Prepared>(
        &self,
        major: u32,
        prepare: impl FnOnce(PathBuf, Uuid) -> Prepared,
    ) -> Result<(), PlatformError>
    where
        Prepared: Future<Output = Result<(), PlatformError>>,
    {
        let major_dir = self.major_dir(major);
        self.ensure_traversable(&major_dir).await?;
        let id = Uuid::new_v4();
        let making = major_dir.join(format!("{}.{MAKING}", id.simple()));
        tokio::fs::create_dir_all(&making)
            .await
            .map_err(|e| io_error("creating", &making, e))?;
        self.set_mode(&making)?;
        prepare(making.clone(), id).await?;
        write_file(&making.join(READY), b"").await?;
        let ready = major_dir.join(id.simple().to_string());
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

    /// The entries' accounts must be able to reach their data directories inside.
    async fn ensure_traversable(&self, dir: &Path) -> Result<(), PlatformError> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_error("creating", dir, e))?;
        for path in [&self.dir, dir] {
            self.set_mode(path)?;
        }
        Ok(())
    }

    fn set_mode(&self, dir: &Path) -> Result<(), PlatformError> {
        let mode = if self.shared { 0o711 } else { 0o700 };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_error("setting permissions on", dir, e))
    }
}

/// The account an entry (or a claimed one) names; `None` when it names none (ours) or
/// has no such file.
pub fn account_of(entry: &Path) -> Option<String> {
    let name = std::fs::read_to_string(entry.join(ACCOUNT)).ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}
