//! The API's bearer token: configured, or generated once into the data directory.
//!
//! The token itself is never logged; the server logs where it is.

use std::path::Path;

use hmac::{Hmac, Mac};
use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const GENERATED_LEN: usize = 40;

/// Cannot be printed: `Debug` shows `[REDACTED]`.
#[derive(Clone, Debug)]
pub struct ApiToken(SecretString);

impl ApiToken {
    pub fn new(token: SecretString) -> anyhow::Result<Self> {
        anyhow::ensure!(
            token.expose_secret().len() >= 16,
            "the API token must be at least 16 characters"
        );
        Ok(Self(token))
    }

    /// Reads a token someone put in `file` (`--api-token-file`).
    pub fn read(file: &Path) -> anyhow::Result<Self> {
        let token = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("reading the API token file {}: {e}", file.display()))?;
        Self::new(SecretString::from(token.trim().to_string()))
    }

    /// Reads `file`, or creates it (mode 0600) with a new random token.
    pub fn load_or_generate(file: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(file) {
            Ok(token) => return Self::new(SecretString::from(token.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("reading {}: {e}", file.display()),
        }
        let token = Alphanumeric.sample_string(&mut rand::rng(), GENERATED_LEN);
        match publish(file, &token) {
            Ok(()) => Ok(Self(SecretString::from(token))),
            // Another server generated it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::read(file),
            Err(e) => anyhow::bail!("creating {}: {e}", file.display()),
        }
    }

    /// A tag over `data` for `purpose` that only a holder of the token can make (HMAC-SHA256,
    /// 128 bits, hex): what the server gives out and must recognise, such as cursors. Every
    /// server sharing the database has the same token, so each accepts the others' tags.
    pub fn tag(&self, purpose: &str, data: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes())
            .expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data.as_bytes());
        mac.finalize().into_bytes()[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Whether `tag` is [`Self::tag`] of `data` for `purpose` (constant time).
    pub fn tagged(&self, purpose: &str, data: &str, tag: &str) -> bool {
        self.tag(purpose, data)
            .as_bytes()
            .ct_eq(tag.as_bytes())
            .into()
    }

    /// Constant-time comparison, so response timing reveals nothing about the token.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0
            .expose_secret()
            .as_bytes()
            .ct_eq(candidate.as_bytes())
            .into()
    }
}

/// Puts `token` at `file` whole or not at all: written and synced under a scratch name,
/// then linked into place, which fails if `file` exists. A crash at any point leaves no
/// file (the next start generates one) or the whole token, never an empty file.
fn publish(file: &Path, token: &str) -> std::io::Result<()> {
    let scratch = file.with_extension(format!("{}.tmp", std::process::id()));
    toygres_platform::private_file::write_durably(&scratch, token.as_bytes())
        .map_err(std::io::Error::other)?;
    let linked = std::fs::hard_link(&scratch, file);
    std::fs::remove_file(&scratch)?;
    linked?;
    if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_private_permissions_and_matches_exactly() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("toygres-token-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("api-token");
        let first = ApiToken::load_or_generate(&file).unwrap();
        let again = ApiToken::load_or_generate(&file).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(first.matches(&written) && again.matches(&written));
        assert!(!first.matches(&written[1..]) && !first.matches(""));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!format!("{first:?}").contains(&written));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A server killed while generating leaves at most its scratch file, never an empty
    /// token file that would stop the next start.
    #[test]
    fn a_crash_while_generating_leaves_no_empty_token_file() {
        let dir = std::env::temp_dir().join(format!("toygres-token-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("api-token");
        std::fs::write(
            file.with_extension(format!("{}.tmp", std::process::id())),
            "",
        )
        .unwrap();
        let token = ApiToken::load_or_generate(&file).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(written.len(), GENERATED_LEN);
        assert!(token.matches(&written));
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "the scratch file is gone");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn short_tokens_are_refused() {
        assert!(ApiToken::new(SecretString::from("short")).is_err());
    }
}
