//! Finding the PostgreSQL server binaries installed on this machine.
//!
//! Order of preference: an explicit directory (the server passes `TOYGRES_PG_BIN`), else
//! `pg_config --bindir`, else every `/usr/lib/postgresql/*/bin`. Each candidate's major
//! version is read from `postgres --version`, so a request for a major version that is not
//! installed fails up front with a message that lists what was found.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::PlatformError;

/// Where Debian and Ubuntu install one directory per major version.
const DEBIAN_LAYOUT: &str = "/usr/lib/postgresql";

/// One installed PostgreSQL major version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgInstall {
    pub major: u32,
    pub bin_dir: PathBuf,
}

impl PgInstall {
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

/// Every installed version found, newest first.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    installs: Vec<PgInstall>,
}

impl PgBinaries {
    /// Looks in `explicit` only when given, else in the usual places.
    pub fn discover(explicit: Option<&Path>) -> Result<Self, PlatformError> {
        let candidates = match explicit {
            Some(dir) => vec![dir.to_path_buf()],
            None => default_candidates(),
        };
        let mut installs: Vec<PgInstall> = Vec::new();
        for dir in &candidates {
            if let Some(install) = probe(dir)
                && !installs.iter().any(|i| i.major == install.major)
            {
                installs.push(install);
            }
        }
        installs.sort_by_key(|install| std::cmp::Reverse(install.major));
        if installs.is_empty() {
            return Err(PlatformError::Unsupported(format!(
                "no PostgreSQL server binaries found (looked in: {}); install PostgreSQL or set TOYGRES_PG_BIN",
                describe(&candidates)
            )));
        }
        Ok(Self { installs })
    }

    pub fn newest(&self) -> &PgInstall {
        &self.installs[0]
    }

    pub fn for_major(&self, major: u32) -> Result<&PgInstall, PlatformError> {
        self.installs
            .iter()
            .find(|i| i.major == major)
            .ok_or_else(|| {
                let installed: Vec<String> =
                    self.installs.iter().map(|i| i.major.to_string()).collect();
                PlatformError::Unsupported(format!(
                    "PostgreSQL {major} is not installed on this machine (installed: {})",
                    installed.join(", ")
                ))
            })
    }
}

fn default_candidates() -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    if let Ok(entries) = std::fs::read_dir(DEBIAN_LAYOUT) {
        let mut versioned: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .collect();
        versioned.sort();
        versioned.reverse();
        candidates.extend(versioned);
    }
    candidates
}

fn probe(dir: &Path) -> Option<PgInstall> {
    let out = Command::new(dir.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let major = parse_major(&String::from_utf8_lossy(&out.stdout))?;
    let required = ["initdb", "pg_ctl", "pg_isready"];
    required
        .iter()
        .all(|tool| dir.join(tool).is_file())
        .then(|| PgInstall {
            major,
            bin_dir: dir.to_path_buf(),
        })
}

/// `postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` → 15.
fn parse_major(version_line: &str) -> Option<u32> {
    let after = version_line.split("(PostgreSQL)").nth(1)?.trim_start();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn describe(candidates: &[PathBuf]) -> String {
    if candidates.is_empty() {
        return format!("pg_config on PATH, {DEBIAN_LAYOUT}/*/bin");
    }
    candidates
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_major_versions() {
        assert_eq!(
            parse_major("postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("postgres (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(parse_major("something else"), None);
    }

    #[test]
    fn an_empty_directory_is_a_clear_error() {
        let dir = std::env::temp_dir().join("toygres-no-binaries-here");
        let err = PgBinaries::discover(Some(&dir)).unwrap_err().to_string();
        assert!(err.contains("no PostgreSQL server binaries found"), "{err}");
        assert!(err.contains("toygres-no-binaries-here"), "{err}");
    }

    #[test]
    fn finds_this_machines_postgres_and_refuses_missing_majors() {
        let binaries = PgBinaries::discover(None).expect("PostgreSQL is installed here");
        let newest = binaries.newest().major;
        assert!(binaries.for_major(newest).is_ok());
        let err = binaries.for_major(99).unwrap_err().to_string();
        assert!(err.contains("PostgreSQL 99 is not installed"), "{err}");
    }
}
