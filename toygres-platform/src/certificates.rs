//! The control plane's certificate authority, and the server certificates it gives each
//! instance, so that clients connect with `sslmode=verify-full`: encrypted, and to the
//! server they meant.
//!
//! The CA is generated once (ECDSA P-256, ten years) and kept by the control plane: in
//! its data directory on the local platform (`ca.key` mode 0600, `ca.crt`), in a Secret
//! on Kubernetes. Only its certificate is public. An instance's certificate names what
//! clients connect to (`127.0.0.1` locally; the Service's names, or the fixed endpoint,
//! on Kubernetes), lasts a year, and is issued again when its names or the CA change or
//! it has less than 30 days left; what it was issued for is kept beside it
//! ([`Issued`]), so nothing has to parse a certificate.
//!
//! The CA certificate is reproducible from its key: it is signed with fixed parameters
//! (`ca_params`), so an `Issuer` is rebuilt from the key alone.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::PlatformError;

const CA_NAME: &str = "Toygres control plane CA";
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
const SERVER_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);
/// A server certificate closer than this to its end is issued again at the next start.
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Clocks of clients may lag the control plane's.
const BACKDATE: Duration = Duration::from_secs(3600);

/// A CA certificate and its private key, both PEM.
#[derive(Clone)]
pub struct CertificateAuthority {
    certificate_pem: String,
    key_pem: String,
    trusted: TrustedCa,
}

/// A CA certificate clients trust, and the rustls configuration that trusts it alone,
/// built once and shared (see `probe::wire`).
#[derive(Clone)]
pub struct TrustedCa {
    pem: Arc<str>,
    client_config: Arc<ClientConfig>,
}

impl TrustedCa {
    pub fn from_pem(pem: &str) -> Result<Self, PlatformError> {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let certificate = certificate.map_err(failed("reading the CA certificate"))?;
            roots
                .add(certificate)
                .map_err(failed("trusting the CA certificate"))?;
        }
        let config = ClientConfig::builder_with_provider(Arc::new(ring_provider()))
            .with_safe_default_protocol_versions()
            .map_err(failed("choosing TLS versions"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            pem: Arc::from(pem),
            client_config: Arc::new(config),
        })
    }

    pub fn pem(&self) -> &str {
        &self.pem
    }

    pub fn client_config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.client_config)
    }
}

impl PartialEq for TrustedCa {
    fn eq(&self, other: &Self) -> bool {
        self.pem == other.pem
    }
}

impl Eq for TrustedCa {}

impl std::fmt::Debug for TrustedCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedCa").finish_non_exhaustive()
    }
}

/// rustls's `ring` provider (classical key exchange only, which is why rustls marks it
/// deprecated; `ring` is what rcgen uses already, and aws-lc-rs would add a C build).
#[allow(deprecated)]
pub fn ring_provider() -> tokio_rustls::rustls::crypto::CryptoProvider {
    tokio_rustls::rustls::crypto::ring::default_provider()
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// A server's certificate and key, both PEM.
pub struct ServerCertificate {
    pub certificate_pem: String,
    pub key_pem: String,
    pub issued: Issued,
}

/// What a server certificate was issued for: kept beside it to decide when to issue again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub names: Vec<String>,
    /// The CA's fingerprint ([`CertificateAuthority::fingerprint`]).
    pub ca: String,
    /// Unix seconds.
    pub not_after: u64,
}

impl Issued {
    /// Whether a certificate issued so still serves `names` under `ca` for a while.
    pub fn still_serves(&self, names: &[String], ca: &CertificateAuthority) -> bool {
        let renew_at = unix_now() + RENEW_BEFORE.as_secs();
        self.names == names && self.ca == ca.fingerprint() && self.not_after > renew_at
    }
}

impl CertificateAuthority {
    /// A new CA.
    pub fn generate() -> Result<Self, PlatformError> {
        let key = KeyPair::generate().map_err(failed("generating the CA key"))?;
        let certificate = ca_params()
            .self_signed(&key)
            .map_err(failed("signing the CA certificate"))?;
        Self::from_pem(certificate.pem(), key.serialize_pem())
    }

    /// A CA kept elsewhere (a Kubernetes Secret); the key must parse.
    pub fn from_pem(certificate_pem: String, key_pem: String) -> Result<Self, PlatformError> {
        KeyPair::from_pem(&key_pem).map_err(failed("reading the CA key"))?;
        Ok(Self {
            trusted: TrustedCa::from_pem(&certificate_pem)?,
            certificate_pem,
            key_pem,
        })
    }

    /// The CA in `dir` (`ca.crt`, `ca.key`), generated there the first time. The key is
    /// written 0600 through a scratch file and a rename, and the certificate last, so a
    /// crash leaves either no CA or a whole one.
    pub fn load_or_create(dir: &Path) -> Result<Self, PlatformError> {
        let (certificate_path, key_path) = (dir.join("ca.crt"), dir.join("ca.key"));
        if certificate_path.is_file() {
            let read = |path: &Path| {
                std::fs::read_to_string(path)
                    .map_err(|e| PlatformError::Failed(format!("reading {}: {e}", path.display())))
            };
            return Self::from_pem(read(&certificate_path)?, read(&key_path)?);
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| PlatformError::Failed(format!("creating {}: {e}", dir.display())))?;
        let ca = Self::generate()?;
        crate::private_file::write_durably(&key_path, ca.key_pem.as_bytes())?;
        crate::private_file::write_durably(&certificate_path, ca.certificate_pem.as_bytes())?;
        set_mode(&certificate_path, 0o644)?;
        Ok(ca)
    }

    /// The CA certificate clients verify servers against (public).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The CA as clients trust it.
    pub fn trusted(&self) -> &TrustedCa {
        &self.trusted
    }

    /// The private key, for keeping the CA (a Kubernetes Secret); never for clients.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// SHA-256 of the certificate, hex: tells two CAs apart.
    pub fn fingerprint(&self) -> String {
        Sha256::digest(self.certificate_pem.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A server certificate for `names` (DNS names or IP addresses), with a fresh key.
    pub fn issue_server(&self, names: &[String]) -> Result<ServerCertificate, PlatformError> {
        let ca_key = KeyPair::from_pem(&self.key_pem).map_err(failed("reading the CA key"))?;
        let issuer = Issuer::new(ca_params(), ca_key);
        let mut params =
            CertificateParams::new(names.to_vec()).map_err(failed("naming a certificate"))?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from_slice(&rand::random::<[u8; 16]>()));
        let now = SystemTime::now();
        params.not_before = (now - BACKDATE).into();
        params.not_after = (now + SERVER_LIFETIME).into();
        let key = KeyPair::generate().map_err(failed("generating a server key"))?;
        let certificate = params
            .signed_by(&key, &issuer)
            .map_err(failed("signing a server certificate"))?;
        Ok(ServerCertificate {
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            issued: Issued {
                names: names.to_vec(),
                ca: self.fingerprint(),
                not_after: unix_now() + SERVER_LIFETIME.as_secs(),
            },
        })
    }
}

/// The CA's fixed parameters (its name, its use, its validity from a fixed start), so
/// that the issuer rebuilt from the key names the certificate clients hold.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Toygres");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = SystemTime::now();
    params.not_before = (now - BACKDATE).into();
    params.not_after = (now + CA_LIFETIME).into();
    params
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn failed<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> PlatformError {
    move |e| PlatformError::Failed(format!("{what}: {e}"))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), PlatformError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| PlatformError::Failed(format!("chmod {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_is_made_once_and_found_again_with_a_private_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("toygres-ca-{}", uuid::Uuid::new_v4()));
        let made = CertificateAuthority::load_or_create(&dir).unwrap();
        let found = CertificateAuthority::load_or_create(&dir).unwrap();
        assert_eq!(made.fingerprint(), found.fingerprint());
        assert!(
            made.certificate_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        let mode = std::fs::metadata(dir.join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!format!("{made:?}").contains("PRIVATE"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_server_certificate_is_issued_again_only_when_it_must_be() {
        let ca = CertificateAuthority::generate().unwrap();
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let server = ca.issue_server(&names).unwrap();
        assert!(server.key_pem.contains("PRIVATE KEY"));
        assert!(server.issued.still_serves(&names, &ca));
        assert!(!server.issued.still_serves(&names[..1], &ca));
        let other = CertificateAuthority::generate().unwrap();
        assert!(!server.issued.still_serves(&names, &other));
        let expiring = Issued {
            not_after: unix_now() + 3600,
            ..server.issued.clone()
        };
        assert!(!expiring.still_serves(&names, &ca));
    }
}
