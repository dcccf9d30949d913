//! Where everything of one local instance lives, and who owns it.
//!
//! ```text
//! <root>/                         the platform's; 0711 as root (instances' accounts pass through)
//! <root>/<name>                   a link to the directory of the record that holds the name
//! <root>/.records/<record id>/    the control plane's (root 0711): nothing in it is the tenant's to change
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
//!   members/<n>/                  its n-th server (n = 2, 3, …; root 0711): postgres.log,
//!                                 data/ and run/ as above, server-certificate.json
//! ```
//!
//! An instance's directory belongs to its CMS record, not its name: names are reused once an
//! instance is deleted, and a record's directory is never another record's. The name's
//! link is how calls that have only the name find it; a deploy makes it, a delete removes
//! it with the directory. An instance made before records had directories of their own
//! keeps its directory under its name (`<root>/<name>/`, the same inside).
//!
//! Everything the platform reads back (what port, which account, which stanza) is in files
//! the instance's account cannot write, so a tenant with superuser access, which runs as
//! that account, cannot steer the control plane. Instances made before this layout had
//! their directory owned by the account that runs PostgreSQL; [`Layout::secure`] takes it
//! back at their next start.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::cluster::io_error;
use super::socket_dir;
use crate::PlatformError;

/// Where records' directories are, under the root (a name never starts with a dot).
pub const RECORDS: &str = ".records";

/// The paths of one instance.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The instance named `name`: the directory of the record its name links to, or, for
    /// an instance made before records had their own, the directory of that name.
    pub fn of_name(root: &Path, name: &str) -> Self {
        let named = root.join(name);
        match linked_record(&named) {
            Some(record) => Self::new(record_dir(root, record)),
            None => Self::new(named),
        }
    }

    /// Where a deploy for `record` puts instance `name`: the directory of an instance of
    /// the name made before records had their own (left where it is), else the record's
    /// own, which the name is made to link to (replacing a link whose directory is gone).
    /// Another record's directory is refused.
    pub fn place(root: &Path, name: &str, record: Uuid, mode: u32) -> Result<Self, PlatformError> {
        let named = root.join(name);
        match std::fs::symlink_metadata(&named) {
            Ok(metadata) if metadata.is_dir() => return Ok(Self::new(named)),
            Ok(_) => match linked_record(&named) {
                Some(linked) if linked == record => return Ok(Self::new(record_dir(root, record))),
                Some(linked) if record_dir(root, linked).exists() => {
                    return Err(PlatformError::Failed(format!(
                        "{} holds an instance of another record; it is not taken over",
                        named.display()
                    )));
                }
                _ => {}
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("reading", &named, e)),
        }
        let records = root.join(RECORDS);
        std::fs::create_dir_all(&records).map_err(|e| io_error("creating", &records, e))?;
        std::fs::set_permissions(&records, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_error("setting permissions on", &records, e))?;
        let layout = Self::new(record_dir(root, record));
        layout.secure(mode)?;
        let scratch = root.join(format!("{RECORDS}/{record}.link"));
        let _ = std::fs::remove_file(&scratch);
        std::os::unix::fs::symlink(Path::new(RECORDS).join(record.to_string()), &scratch)
            .map_err(|e| io_error("linking", &scratch, e))?;
        std::fs::rename(&scratch, &named).map_err(|e| io_error("linking", &named, e))?;
        Ok(layout)
    }

    /// After the directory is removed: the name's link, if it leads to this directory or to
    /// none (another record's link is left alone).
    pub fn unlink_name(&self, root: &Path, name: &str) -> Result<(), PlatformError> {
        let named = root.join(name);
        let ours = match linked_record(&named) {
            Some(record) => {
                let dir = record_dir(root, record);
                dir == self.dir || !dir.exists()
            }
            None => std::fs::symlink_metadata(&named).is_ok_and(|m| m.file_type().is_symlink()),
        };
        match ours {
            true => std::fs::remove_file(&named).map_err(|e| io_error("removing", &named, e)),
            false => Ok(()),
        }
    }

    /// The paths of the instance's `number`-th server: the first is the instance's own
    /// (`data/`, `postgres.log`, `run/`), the others are under `members/`.
    pub fn member(&self, number: u8) -> Self {
        match number {
            0 | 1 => self.clone(),
            n => Self::new(self.dir.join("members").join(n.to_string())),
        }
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

fn record_dir(root: &Path, record: Uuid) -> PathBuf {
    root.join(RECORDS).join(record.to_string())
}

/// The record a name's link leads to: only a link the platform makes (`.records/<id>`) is
/// followed.
fn linked_record(named: &Path) -> Option<Uuid> {
    let target = std::fs::read_link(named).ok()?;
    let record = target.strip_prefix(RECORDS).ok()?.to_str()?;
    Uuid::try_parse(record)
        .ok()
        .filter(|id| id.to_string() == record)
}
