//! The real `psql`, for what only libpq does: `sslmode=verify-full` checks and
//! connection strings that name several servers (`target_session_attrs`).

use std::process::Command;

use toygres_platform::local::binaries::PgBinaries;

/// Runs `psql URL -Atc SQL`; its output, or its error.
pub fn psql(url: &str, sql: &str) -> Result<String, String> {
    let psql = PgBinaries::discover(None).unwrap().newest().tool("psql");
    let output = Command::new(psql)
        .arg(url)
        .args(["-X", "-A", "-t", "-c", sql])
        .env_remove("PGSSLMODE")
        .output()
        .expect("run psql");
    match output.status.success() {
        true => Ok(String::from_utf8_lossy(&output.stdout).trim().to_string()),
        false => Err(String::from_utf8_lossy(&output.stderr).trim().to_string()),
    }
}
