//! Which operating-system user runs an instance's PostgreSQL.
//!
//! `initdb`, `postgres` and pgBackRest refuse to run as root (or must not). When the
//! control plane is not root, every PostgreSQL process runs as the control plane's own
//! user: instances share one account, so one whose tenant is a superuser could read its
//! neighbours' files, and superuser access is refused ([`OsUsers::isolates`]).
//!
//! When the control plane is root, each instance runs under an account of its own,
//! `toygres-<12 hex digits of its record id>`, created at its first deploy and removed
//! when nothing of it remains (its directory and its backups): a file belongs to exactly
//! one instance, and a tenant with superuser access reaches only its own. A warm-pool
//! entry is made under an account of its own, named the same way after the entry's id,
//! which the instance that takes the entry keeps (see `warm_pool`); the embedded control database runs as `toygres-cms-<root>` (`<root>`: 6 hex digits of
//! the platform's directory, so two control planes on one machine never share one).
//! Accounts are created with `useradd` (no home, no shell, no subordinate ids) and carry
//! the comment `toygres <platform directory>`, which is how they are told apart from
//! every other account: the platform acts as, or removes, only an account with that
//! comment. Throwaway clusters of tests share the `postgres` account ([`detect`]).

use std::path::Path;
use std::time::Duration;

use nix::unistd::{Gid, Uid, User};
use sha2::{Digest, Sha256};
use tokio::process::Command;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::PlatformError;

/// The account PostgreSQL processes are started as, when it differs from ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    uid: u32,
    gid: u32,
}

/// Whether the control plane runs as root (and so makes an OS account per instance).
pub fn running_as_root() -> bool {
    Uid::effective().is_root()
}

/// The shared `postgres` account when we are root (throwaway clusters, and instances made
/// before each had its own); `None` when we are not root: processes inherit our identity.
pub fn detect() -> Result<Option<RunAs>, PlatformError> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let user = User::from_name(SHARED)
        .map_err(|e| PlatformError::Failed(format!("looking up the '{SHARED}' user: {e}")))?
        .ok_or_else(|| {
            PlatformError::Unsupported(
                "running as root, but there is no 'postgres' user to run PostgreSQL as; create one or run as an unprivileged user"
                    .into(),
            )
        })?;
    Ok(Some(RunAs::of(&user)))
}

/// The account every PostgreSQL process ran as, as root, before instances had their own.
pub const SHARED: &str = "postgres";
const PREFIX: &str = "toygres-";
/// How many times `useradd`/`userdel` are tried while another process holds the lock on
/// the account files.
const ATTEMPTS: u32 = 20;

impl RunAs {
    fn of(user: &User) -> Self {
        Self {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        }
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }

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

    /// Gives `path` and everything under it to this user (symbolic links themselves, never
    /// what they point to).
    pub fn give_tree(&self, path: &Path) -> Result<(), PlatformError> {
        let metadata = std::fs::symlink_metadata(path)
            .map_err(|e| PlatformError::Failed(format!("reading {}: {e}", path.display())))?;
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| PlatformError::Failed(format!("chown {}: {e}", path.display())))?;
        if metadata.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| PlatformError::Failed(format!("listing {}: {e}", path.display())))?;
            for entry in entries {
                let entry = entry.map_err(|e| {
                    PlatformError::Failed(format!("listing {}: {e}", path.display()))
                })?;
                self.give_tree(&entry.path())?;
            }
        }
        Ok(())
    }
}

/// Who owns what the platform runs.
#[derive(Debug)]
pub struct OsUsers {
    kind: Kind,
    /// The comment every account of this platform carries.
    comment: String,
    /// The 6 hex digits that tell this platform's shared accounts from another's.
    root_tag: String,
    /// One `useradd`/`userdel` at a time from this process (they lock the account files).
    changing: Mutex<()>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Not root: everything runs as us.
    Inherited,
    /// Root: an account per instance.
    PerInstance,
    /// Root: one named account for every instance of this platform (the embedded control
    /// database, whose platform holds one instance).
    Dedicated(&'static str),
}

/// Which account an instance runs as, as recorded with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Ours (the control plane is not root).
    Inherited,
    /// The named account.
    Account(String),
}

impl OsUsers {
    /// For the platform rooted at `root`: an account per instance when we are root.
    pub fn per_instance(root: &Path) -> Self {
        Self::new(root, Kind::PerInstance)
    }

    /// For a platform whose instances all run as `toygres-<role>-<root tag>`.
    pub fn dedicated(root: &Path, role: &'static str) -> Self {
        Self::new(root, Kind::Dedicated(role))
    }

    fn new(root: &Path, wanted: Kind) -> Self {
        let kind = match Uid::effective().is_root() {
            true => wanted,
            false => Kind::Inherited,
        };
        let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
        Self {
            kind,
            comment: format!("toygres {}", root.display()),
            root_tag: digest[..3].iter().map(|b| format!("{b:02x}")).collect(),
            changing: Mutex::new(()),
        }
    }

    /// Whether instances run under accounts of their own, so a superuser of one cannot
    /// read another's files.
    pub fn isolates(&self) -> bool {
        self.kind == Kind::PerInstance
    }

    /// Whether processes change identity at all (we are root).
    pub fn is_root(&self) -> bool {
        self.kind != Kind::Inherited
    }

    /// The identity a new instance of record `record` gets.
    pub fn for_record(&self, record: Uuid) -> Identity {
        match &self.kind {
            Kind::Inherited => Identity::Inherited,
            Kind::PerInstance => {
                Identity::Account(format!("{PREFIX}{}", &record.simple().to_string()[..12]))
            }
            Kind::Dedicated(role) => Identity::Account(self.shared_name(role)),
        }
    }

    /// The account every warm-pool entry was made by in earlier versions (each entry now
    /// has its own, see `warm_pool`); removed once their entries are.
    pub fn earlier_pool(&self) -> Identity {
        match &self.kind {
            Kind::Inherited => Identity::Inherited,
            _ => Identity::Account(self.shared_name("pool")),
        }
    }

    /// The identity of an instance made before each had its own.
    pub fn legacy(&self) -> Identity {
        match &self.kind {
            Kind::Inherited => Identity::Inherited,
            _ => Identity::Account(SHARED.into()),
        }
    }

    fn shared_name(&self, role: &str) -> String {
        format!("{PREFIX}{role}-{}", self.root_tag)
    }

    /// The account of `identity`, created when missing. Refuses an account this platform
    /// did not make (other than the legacy shared one).
    pub async fn ensure(&self, identity: &Identity) -> Result<Option<RunAs>, PlatformError> {
        let Identity::Account(name) = identity else {
            return Ok(None);
        };
        if let Some(existing) = self.find(name)? {
            return Ok(Some(existing));
        }
        let _one_at_a_time = self.changing.lock().await;
        if let Some(existing) = self.find(name)? {
            return Ok(Some(existing));
        }
        let mut command = Command::new("useradd");
        command
            .args(["--no-create-home", "--home-dir", "/nonexistent"])
            .args(["--shell", "/usr/sbin/nologin", "--user-group"])
            .args(["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"])
            .arg("--comment")
            .arg(&self.comment)
            .arg(name);
        run_retrying(command, "useradd").await?;
        self.find(name)?
            .map(Some)
            .ok_or_else(|| PlatformError::Failed(format!("useradd made no account {name}")))
    }

    /// The account of `identity` when it exists (`Ok(None)` for ours, or one never made).
    pub fn resolve(&self, identity: &Identity) -> Result<Option<RunAs>, PlatformError> {
        match identity {
            Identity::Inherited => Ok(None),
            Identity::Account(name) => self.find(name),
        }
    }

    /// The account `name` if it exists and is one this platform may act as.
    fn find(&self, name: &str) -> Result<Option<RunAs>, PlatformError> {
        let user = User::from_name(name)
            .map_err(|e| PlatformError::Failed(format!("looking up the account {name}: {e}")))?;
        let Some(user) = user else {
            return Ok(None);
        };
        self.check_ours(&user)?;
        Ok(Some(RunAs::of(&user)))
    }

    /// An account is ours when it is the legacy shared one or carries our comment; never
    /// root.
    fn check_ours(&self, user: &User) -> Result<(), PlatformError> {
        let gecos = user.gecos.to_string_lossy();
        let ours = user.name == SHARED || (user.name.starts_with(PREFIX) && gecos == self.comment);
        match ours && !user.uid.is_root() {
            true => Ok(()),
            false => Err(PlatformError::Failed(format!(
                "refusing to act as the account {} (uid {}): it was not made by this control \
                 plane",
                user.name, user.uid
            ))),
        }
    }

    /// Removes the account of an instance once nothing of it remains; its remaining
    /// processes (whatever a tenant left running) are killed first. The shared accounts
    /// are never removed here.
    pub async fn remove(&self, identity: &Identity) -> Result<(), PlatformError> {
        let Identity::Account(name) = identity else {
            return Ok(());
        };
        if name == SHARED || !name.starts_with(PREFIX) {
            return Ok(());
        }
        let Some(account) = self.find(name)? else {
            return Ok(());
        };
        kill_processes_of(account.uid).await;
        let _one_at_a_time = self.changing.lock().await;
        if self.find(name)?.is_none() {
            return Ok(());
        }
        let mut command = Command::new("userdel");
        command.arg(name);
        run_retrying(command, "userdel").await
    }
}

/// Kills every process whose real user is `uid`: only for an instance's own account,
/// whose processes are the instance's server (stopped before this) and whatever its
/// tenant started. Proven by `/proc/<pid>/status`, read just before the signal.
pub async fn kill_processes_of(uid: u32) {
    for _ in 0..50 {
        let pids = processes_of(uid);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Live processes whose real user is `uid`.
pub fn processes_of(uid: u32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| real_uid_of(*pid) == Some(uid) && !is_zombie(*pid))
        .collect()
}

fn real_uid_of(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

/// Runs an account tool, again while another process holds the account files' lock
/// (exit status 10 for `useradd`'s group file, 1 for the password file, 10 for
/// `userdel`).
async fn run_retrying(mut command: Command, what: &str) -> Result<(), PlatformError> {
    command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(false);
    let mut last = String::new();
    for _ in 0..ATTEMPTS {
        let output = command
            .output()
            .await
            .map_err(|e| PlatformError::Failed(format!("{what}: could not run: {e}")))?;
        if output.status.success() {
            return Ok(());
        }
        last = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if !last.contains("lock") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(PlatformError::Failed(format!("{what} failed: {last}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_accounts_are_named_by_record_and_shared_ones_by_root() {
        let root = Path::new("/srv/toygres/instances");
        let record = Uuid::parse_str("0123456789abcdef0123456789abcdef").unwrap();
        let users = OsUsers::new(root, Kind::PerInstance);
        assert_eq!(
            users.for_record(record),
            Identity::Account("toygres-0123456789ab".into())
        );
        let Identity::Account(pool) = users.earlier_pool() else {
            panic!("an account")
        };
        assert!(
            pool.starts_with("toygres-pool-") && pool.len() <= 32,
            "{pool}"
        );
        let other = OsUsers::new(Path::new("/elsewhere"), Kind::PerInstance);
        assert_ne!(other.earlier_pool(), users.earlier_pool());
    }

    #[test]
    fn processes_of_finds_our_own() {
        let me = nix::unistd::getuid().as_raw();
        assert!(processes_of(me).contains(&(std::process::id() as i32)));
    }
}
