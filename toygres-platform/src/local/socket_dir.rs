//! Where an instance's private Unix socket lives.
//!
//! pgBackRest and the platform's own maintenance connect over a Unix socket in a directory
//! only the server's OS user (and root) may enter, where PostgreSQL trusts local
//! connections. A socket's path must fit in `sun_path` (107 bytes on Linux), so the socket
//! sits in the instance's own directory when that path is short enough, and otherwise in a
//! directory under a short base named by a hash of the instance's directory.
//!
//! The short base is never a predictable path that another local user could create first
//! (and point somewhere with a symbolic link): it is a directory with a random name under
//! `/tmp`, made by the platform, recorded in `<root>/.socket-base`, and checked at every
//! use to be a real directory of ours that nobody else can write; a missing or doubtful one
//! (after a reboot emptied `/tmp`) is replaced by a new random one. Servers get their
//! socket directory at every start, so a new base takes effect then.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
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
/// Where short bases are made.
const SHORT_PARENT: &str = "/tmp";
/// Names the short base, in the platform's root.
const BASE_RECORD: &str = ".socket-base";

/// The socket directory of the instance whose directory is `instance_dir`; `base` is the
/// platform's short base ([`private_base`]).
pub fn for_instance(instance_dir: &Path, base: &Path) -> PathBuf {
    let inside = instance_dir.join("run");
    if fits(&inside) {
        return inside;
    }
    let digest = Sha256::digest(instance_dir.as_os_str().as_encoded_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    base.join(short)
}

fn fits(dir: &Path) -> bool {
    dir.as_os_str().len() + SOCKET_FILE.len() <= MAX_SOCKET_PATH
}

/// The platform's short base: the recorded one when it is still a sound directory of ours,
/// else a new one with a random name (mode 0711: each instance's directory inside is
/// private to its account).
pub fn private_base(root: &Path) -> Result<PathBuf, PlatformError> {
    let record = root.join(BASE_RECORD);
    if let Ok(recorded) = std::fs::read_to_string(&record) {
        let recorded = PathBuf::from(recorded.trim());
        if is_sound(&recorded) {
            return Ok(recorded);
        }
    }
    let base = Path::new(SHORT_PARENT).join(format!(
        "toygres-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    ));
    // Fails if anything is there already: a random name nobody could have guessed.
    std::fs::DirBuilder::new()
        .mode(0o711)
        .create(&base)
        .map_err(|e| io_error("creating", &base, e))?;
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o711))
        .map_err(|e| io_error("setting permissions on", &base, e))?;
    crate::private_file::write(&record, base.as_os_str().as_encoded_bytes())?;
    Ok(base)
}

/// A directory (not a link to one), ours, that only we can write.
fn is_sound(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|metadata| {
        metadata.is_dir()
            && metadata.uid() == nix::unistd::geteuid().as_raw()
            && metadata.mode() & 0o022 == 0
    })
}

/// Where the version of Toygres before this one put the socket of the instance in
/// `instance_dir` when its own directory was too deep: a server it started is still there.
pub fn of_earlier_version(instance_dir: &Path) -> PathBuf {
    let inside = instance_dir.join("run");
    if fits(&inside) {
        return inside;
    }
    let digest = Sha256::digest(instance_dir.as_os_str().as_encoded_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Path::new(SHORT_PARENT).join(format!("toygres-{short}"))
}

/// Whether `dir` holds the socket of a server on `port`, in a directory of the account
/// `owner` (the one that owns the instance's data): a directory anyone else made is never
/// connected through.
pub fn serves(dir: &Path, port: u16, owner: Option<u32>) -> bool {
    let owned = std::fs::symlink_metadata(dir)
        .is_ok_and(|metadata| metadata.is_dir() && Some(metadata.uid()) == owner);
    owned && dir.join(format!(".s.PGSQL.{port}")).exists()
}

/// Creates the socket directory (private to the server's user) when it is missing, as it
/// is after a reboot empties `/tmp`.
pub async fn ensure(dir: &Path, run_as: Option<&RunAs>) -> Result<(), PlatformError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| io_error("creating", dir, e))?;
    secret_file::set_private(dir)?;
    if let Some(run_as) = run_as {
        run_as.give(dir)?;
    }
    Ok(())
}

/// Removes the socket directory when it lives outside the instance's directory.
pub async fn remove(instance_dir: &Path, base: &Path) -> Result<(), PlatformError> {
    let dir = for_instance(instance_dir, base);
    if dir.starts_with(instance_dir) {
        return Ok(());
    }
    super::cluster::remove_dir_if_present(&dir).await
}

/// Removes the socket (and its lock file) a server of `data_dir` left on `port` in `dir`
/// when it died, unless the lock names a live postmaster of `data_dir`. PostgreSQL trusts
/// the lock file's pid alone: after a crash that pid may be a zombie not yet reaped, or
/// another process that reused it, and the next start would refuse ("is another postmaster
/// using socket file?").
pub fn remove_stale_socket(dir: &Path, port: u16, data_dir: &Path) -> Result<(), PlatformError> {
    let socket = dir.join(format!(".s.PGSQL.{port}"));
    let lock = dir.join(format!(".s.PGSQL.{port}.lock"));
    let Some(text) = read_lock(&lock) else {
        return Ok(());
    };
    let owner: Option<i32> = text.lines().next().and_then(|pid| pid.trim().parse().ok());
    if owner.is_some_and(|pid| super::cluster::is_running_postmaster_of(pid, data_dir)) {
        return Ok(());
    }
    for path in [&socket, &lock] {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("removing", path, e)),
        }
    }
    Ok(())
}

/// The start of the lock file at `path`, read as the file it is: the instance's account
/// owns the directory, so a link is not followed, and anything but a regular file (a FIFO
/// that would block the read, a device) is not read at all.
fn read_lock(path: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let flags = nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut start = String::new();
    file.take(4096).read_to_string(&mut start).ok()?;
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_instance_directory_keeps_its_socket_inside() {
        let dir = Path::new("/var/lib/toygres/instances/shop");
        assert_eq!(for_instance(dir, Path::new("/tmp/x")), dir.join("run"));
    }

    #[test]
    fn a_deep_instance_directory_gets_a_short_stable_socket_directory() {
        let base = Path::new("/tmp/toygres-0123456789abcdef");
        let deep = PathBuf::from(format!("/srv/{}/instances/shop", "x".repeat(100)));
        let chosen = for_instance(&deep, base);
        assert!(chosen.starts_with(base), "{}", chosen.display());
        assert!(fits(&chosen));
        assert_eq!(
            chosen,
            for_instance(&deep, base),
            "the same directory, the same socket"
        );
        let other = PathBuf::from(format!("/srv/{}/instances/shoe", "x".repeat(100)));
        assert_ne!(chosen, for_instance(&other, base));
    }

    #[test]
    fn the_short_base_is_random_recorded_and_replaced_when_doubtful() {
        let root = std::env::temp_dir().join(format!("toygres-sockets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&root).unwrap();
        let first = private_base(&root).unwrap();
        assert_eq!(private_base(&root).unwrap(), first, "found again");
        std::fs::set_permissions(&first, std::fs::Permissions::from_mode(0o777)).unwrap();
        let second = private_base(&root).unwrap();
        assert_ne!(second, first, "a base others may write is not used");
        for dir in [first, second, root] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    /// A lock file the instance's account planted (a link to a file only root may read,
    /// a FIFO that would block the reader) is not read, and nothing is removed for it.
    #[test]
    fn a_planted_lock_file_is_neither_followed_nor_waited_on() {
        let dir = toygres_test_support::scratch::subdir("planted-lock");
        let secret = dir.join("secret");
        std::fs::write(&secret, "1\n").unwrap();
        let data = dir.join("data");
        std::os::unix::fs::symlink(&secret, dir.join(".s.PGSQL.5998.lock")).unwrap();
        std::fs::write(dir.join(".s.PGSQL.5998"), "").unwrap();
        remove_stale_socket(&dir, 5998, &data).unwrap();
        assert!(
            dir.join(".s.PGSQL.5998").exists(),
            "nothing removed for a link"
        );
        assert!(secret.exists());

        nix::unistd::mkfifo(
            &dir.join(".s.PGSQL.5999.lock"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let (done, waited) = std::sync::mpsc::channel();
        let fifo_dir = dir.clone();
        std::thread::spawn(move || {
            done.send(remove_stale_socket(&fifo_dir, 5999, &fifo_dir.join("data")))
                .unwrap()
        });
        let removed = waited
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("a FIFO lock is not waited on");
        removed.unwrap();

        std::fs::write(dir.join(".s.PGSQL.6000.lock"), "4194304\n").unwrap();
        std::fs::write(dir.join(".s.PGSQL.6000"), "").unwrap();
        remove_stale_socket(&dir, 6000, &data).unwrap();
        assert!(
            !dir.join(".s.PGSQL.6000").exists(),
            "a real lock naming no live postmaster goes, with its socket"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
