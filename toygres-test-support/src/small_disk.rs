//! A small file system of its own (tmpfs), for tests of what happens when a disk fills:
//! the machine's own disk is never filled. Mounting needs root; it is unmounted when
//! dropped (lazily, so a server still running on it cannot keep it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::scratch;

pub struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// A `megabytes` tmpfs under the scratch directory; `None` where it cannot be mounted
    /// (not root).
    pub fn mount(megabytes: u32) -> Option<Self> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        let path = scratch::subdir("small-disk");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={megabytes}m,mode=0711"))
            .arg("tmpfs")
            .arg(&path)
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size and what is still free, in bytes.
    pub fn usage(&self) -> (u64, u64) {
        let stats = nix::sys::statvfs::statvfs(&self.path).expect("statvfs");
        let block = stats.fragment_size();
        (stats.blocks() * block, stats.blocks_available() * block)
    }

    /// Writes `path` (on this disk) until only `leave` bytes are free.
    pub fn fill(&self, path: &Path, leave: u64) {
        use std::io::Write;
        let (_, free) = self.usage();
        let mut file = std::fs::File::create(path).expect("create the filler");
        let chunk = vec![0u8; 1 << 20];
        let mut left = free.saturating_sub(leave);
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            file.write_all(&chunk[..n]).expect("write the filler");
            left -= n as u64;
        }
        file.sync_all().expect("sync the filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
