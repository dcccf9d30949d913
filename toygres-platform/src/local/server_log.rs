//! Reading a local instance's PostgreSQL server log (`postgres.log` of its primary, which
//! `pg_ctl -l` writes), for `toygres-cli logs`.
//!
//! The file belongs to the instance's OS account, which a tenant with superuser access
//! controls: it is opened without following a link and read only when it is a regular
//! file (never a FIFO that would block, never a device), and every read is bounded (the
//! last [`MAX_TAIL_BYTES`] for a tail, [`MAX_CHUNK_BYTES`] per read when following), so a
//! huge log never lands in memory. Only whole lines are handed out; a cursor says where
//! the next read starts, and a log that was replaced or truncated, or a primary that moved
//! to another member, starts again at the new file's tail.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::LocalPlatform;
use crate::{LogCursor, LogRead, LogStart, PlatformError};
use toygres_domain::InstanceName;

/// The most a tail reads from the end of the file.
pub const MAX_TAIL_BYTES: u64 = 4 << 20;
/// The most one read after a cursor hands out.
pub const MAX_CHUNK_BYTES: u64 = 256 << 10;

impl LocalPlatform {
    pub(super) async fn read_server_log(
        &self,
        name: &InstanceName,
        start: LogStart,
    ) -> Result<LogRead, PlatformError> {
        let file = self.read_file(name).await?;
        self.read_member_log(name, file.primary, start).await
    }

    /// Reads the server log of one member of the instance.
    pub(super) async fn read_member_log(
        &self,
        name: &InstanceName,
        member: u8,
        start: LogStart,
    ) -> Result<LogRead, PlatformError> {
        let path = self.layout(name).member(member).log();
        tokio::task::spawn_blocking(move || read(&path, member, start))
            .await
            .map_err(|e| PlatformError::Failed(format!("reading the server log: {e}")))?
    }
}

fn read(path: &Path, member: u8, start: LogStart) -> Result<LogRead, PlatformError> {
    let failed = |e: std::io::Error| {
        PlatformError::Failed(format!("reading the server log {}: {e}", path.display()))
    };
    let mut file = open(path).map_err(failed)?;
    let metadata = file.metadata().map_err(failed)?;
    let (size, inode) = (metadata.len(), identity(&metadata));
    let (from, tail_lines, limit) = match start {
        LogStart::After(cursor)
            if cursor.member == member && cursor.file == inode && cursor.offset <= size =>
        {
            (cursor.offset, None, MAX_CHUNK_BYTES)
        }
        LogStart::After(_) => (
            size.saturating_sub(MAX_TAIL_BYTES),
            Some(usize::MAX),
            MAX_TAIL_BYTES,
        ),
        LogStart::Tail { lines } => (
            size.saturating_sub(MAX_TAIL_BYTES),
            Some(lines),
            MAX_TAIL_BYTES,
        ),
    };
    file.seek(SeekFrom::Start(from)).map_err(failed)?;
    let mut bytes = Vec::new();
    file.take(limit.min(size - from))
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    let whole = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |at| at + 1);
    let mut text = String::from_utf8_lossy(&bytes[..whole]).into_owned();
    if tail_lines.is_some() && from > 0 {
        // The tail began inside a line: drop its remainder.
        text = text
            .split_once('\n')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default();
    }
    if let Some(lines) = tail_lines {
        text = last_lines(&text, lines);
    }
    Ok(LogRead {
        text,
        next: LogCursor {
            member,
            file: inode,
            offset: from + whole as u64,
        },
    })
}

/// Which file this is: its inode, and its birth time where the file system keeps one (an
/// inode number is reused by the next file made).
fn identity(metadata: &std::fs::Metadata) -> u64 {
    let born = metadata
        .created()
        .ok()
        .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos() as u64);
    metadata.ino() ^ born.rotate_left(32)
}

/// Opens `path` for reading: not through a link, and only a regular file.
fn open(path: &Path) -> std::io::Result<std::fs::File> {
    let flags = nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// The last `count` lines of `text` (each with its newline).
fn last_lines(text: &str, count: usize) -> String {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at + 1))
        .filter(|at| *at < text.len())
        .collect();
    let first = starts.len().saturating_sub(count);
    starts
        .get(first)
        .map_or(String::new(), |at| text[*at..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory of this test's own, removed when it ends.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("toygres-log-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir(&dir).unwrap();
            Self(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).ok();
        }
    }

    fn log(dir: &Path, text: &str) -> std::path::PathBuf {
        let path = dir.join("postgres.log");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_tail_hands_out_whole_lines_and_a_cursor_the_rest() {
        let dir = Scratch::new();
        let path = log(dir.path(), "one\ntwo\nthree\npartial");
        let tail = read(&path, 1, LogStart::Tail { lines: 2 }).unwrap();
        assert_eq!(tail.text, "two\nthree\n");
        std::fs::write(&path, "one\ntwo\nthree\npartial line\nfour\n").unwrap();
        let next = read(&path, 1, LogStart::After(tail.next)).unwrap();
        assert_eq!(next.text, "partial line\nfour\n");
        let idle = read(&path, 1, LogStart::After(next.next)).unwrap();
        assert_eq!(idle.text, "");
    }

    #[test]
    fn a_replaced_log_or_a_moved_primary_starts_at_the_new_tail() {
        let dir = Scratch::new();
        let path = log(dir.path(), "old\n");
        let first = read(&path, 1, LogStart::Tail { lines: 10 }).unwrap();
        std::fs::remove_file(&path).unwrap();
        log(dir.path(), "new\n");
        assert_eq!(
            read(&path, 1, LogStart::After(first.next)).unwrap().text,
            "new\n"
        );
        let moved = LogCursor {
            member: 2,
            ..first.next
        };
        assert_eq!(
            read(&path, 1, LogStart::After(moved)).unwrap().text,
            "new\n"
        );
    }

    #[test]
    fn links_and_fifos_are_never_read() {
        let dir = Scratch::new();
        let secret = log(dir.path(), "secret\n");
        let link = dir.path().join("link.log");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        assert!(read(&link, 1, LogStart::Tail { lines: 10 }).is_err());
        let fifo = dir.path().join("fifo.log");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(read(&fifo, 1, LogStart::Tail { lines: 10 }).is_err());
    }

    #[test]
    fn a_huge_log_is_read_only_at_its_end() {
        let dir = Scratch::new();
        let line = "x".repeat(1023) + "\n";
        let path = log(dir.path(), &line.repeat(6 * 1024));
        let tail = read(&path, 1, LogStart::Tail { lines: usize::MAX }).unwrap();
        assert!(tail.text.len() as u64 <= MAX_TAIL_BYTES);
        assert!(tail.text.starts_with('x') && tail.text.ends_with('\n'));
    }
}
