//! A local instance's server certificate: issued by the control plane's CA for the address
//! clients connect to, written into the data directory (the key 0600, owned by the
//! instance's account, as PostgreSQL requires) before every start, and issued again only
//! when it must be (see [`crate::certificates::Issued`]).

use super::cluster::write_file;
use super::layout::Layout;
use super::os_user::RunAs;
use crate::PlatformError;
use crate::certificates::{CertificateAuthority, Issued};
use crate::private_file;

/// File names inside the data directory, as `ssl_cert_file`/`ssl_key_file` name them.
pub const CERTIFICATE_FILE: &str = "server.crt";
pub const KEY_FILE: &str = "server.key";

/// Makes sure the data directory holds a certificate for `names` from `ca`.
pub async fn ensure(
    ca: &CertificateAuthority,
    layout: &Layout,
    names: &[String],
    run_as: Option<&RunAs>,
) -> Result<(), PlatformError> {
    let record_path = layout.certificate_record();
    let data = layout.data();
    let recorded: Option<Issued> = tokio::fs::read(&record_path)
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let present = data.join(CERTIFICATE_FILE).is_file() && data.join(KEY_FILE).is_file();
    if present && recorded.is_some_and(|issued| issued.still_serves(names, ca)) {
        return Ok(());
    }
    let issued = ca.issue_server(names)?;
    let key = data.join(KEY_FILE);
    private_file::write_durably(&key, issued.key_pem.as_bytes())?;
    let certificate = data.join(CERTIFICATE_FILE);
    write_file(&certificate, issued.certificate_pem.as_bytes()).await?;
    if let Some(run_as) = run_as {
        run_as.give(&key)?;
        run_as.give(&certificate)?;
    }
    let record =
        serde_json::to_vec(&issued.issued).map_err(|e| PlatformError::Failed(e.to_string()))?;
    write_file(&record_path, &record).await
}

/// The settings that turn TLS on with those files.
pub fn settings() -> Vec<(String, String)> {
    vec![
        ("ssl".into(), "on".into()),
        ("ssl_cert_file".into(), format!("'{CERTIFICATE_FILE}'")),
        ("ssl_key_file".into(), format!("'{KEY_FILE}'")),
        ("ssl_min_protocol_version".into(), "'TLSv1.2'".into()),
    ]
}
