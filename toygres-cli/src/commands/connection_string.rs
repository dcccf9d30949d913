//! `connection-string NAME [--superuser] [--read-only] [--ca-file FILE]`: prints only the
//! string, for `psql "$(toygres-cli connection-string NAME)"`. The server is verified
//! (`sslmode=verify-full`) against the control plane's CA certificate, which is written to
//! the CA file first and named by `sslrootcert`. `ca-certificate [--file FILE]` prints or
//! writes that certificate alone.

use std::path::{Path, PathBuf};

use toygres_domain::InstanceName;

use crate::client::ApiClient;
use crate::error::CliError;

/// Which string is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    /// The superuser's login instead of the owner's.
    pub superuser: bool,
    /// A standby's server when one answers.
    pub read_only: bool,
}

pub async fn run(
    client: &ApiClient,
    name: &InstanceName,
    asked: Asked,
    ca_file: &Path,
) -> Result<(), CliError> {
    let connection = client.connection(name.as_str(), asked).await?;
    let string = match &connection.ca_certificate {
        Some(ca) if connection.connection_string.contains("sslmode=") => {
            write_ca(ca_file, ca)?;
            let absolute = std::path::absolute(ca_file).unwrap_or_else(|_| ca_file.to_path_buf());
            format!(
                "{}&sslrootcert={}",
                connection.connection_string,
                percent_encode_path(&absolute)
            )
        }
        _ => connection.connection_string,
    };
    crate::output::say!("{string}");
    Ok(())
}

pub async fn ca(client: &ApiClient, file: Option<&Path>) -> Result<(), CliError> {
    let ca = client.ca_certificate().await?;
    match file {
        Some(file) => {
            write_ca(file, &ca.certificate)?;
            crate::output::say!("{}", file.display());
        }
        None => print!("{}", ca.certificate),
    }
    Ok(())
}

/// `~/.toygres/ca-<host>-<port>.crt`: one file per server, so two servers' CAs never mix.
pub fn default_ca_file(server: &str) -> Result<PathBuf, CliError> {
    let home = std::env::var_os("HOME").ok_or_else(|| {
        CliError::Usage("HOME is not set: give --ca-file for the CA certificate".into())
    })?;
    Ok(PathBuf::from(home)
        .join(".toygres")
        .join(format!("ca-{}.crt", ApiClient::server_label(server))))
}

/// Writes the certificate through a scratch file and a rename.
fn write_ca(file: &Path, pem: &str) -> Result<(), CliError> {
    let failed = |e: std::io::Error| {
        CliError::Failed(format!(
            "writing the CA certificate to {}: {e}",
            file.display()
        ))
    };
    if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let scratch = file.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&scratch, pem).map_err(failed)?;
    std::fs::rename(&scratch, file).map_err(failed)
}

/// A path as a URI query value may carry it.
fn percent_encode_path(path: &Path) -> String {
    path.to_string_lossy()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
