//! SCRAM-SHA-256, both sides of it: password verifiers, computed here so a password can
//! be set with `ALTER ROLE … PASSWORD '<verifier>'` without the plaintext ever reaching
//! the server (where a failed statement would be written to its log); and the client's
//! exchange ([`Client`]) for the probe's own login (see `probe::wire`).
//!
//! The format is PostgreSQL's: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`,
//! with the keys derived as RFC 5802 and RFC 7677 describe.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// PostgreSQL's default (`scram_iterations`).
const ITERATIONS: u32 = 4096;
const SALT_BYTES: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// A verifier for `password` with a fresh random salt.
pub fn verifier(password: &str) -> String {
    let mut salt = [0u8; SALT_BYTES];
    rand::rng().fill_bytes(&mut salt);
    verifier_with(password, &salt, ITERATIONS)
}

fn verifier_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let salted = salted_password(password.as_bytes(), salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    )
}

/// RFC 5802's `Hi()`: PBKDF2 with HMAC-SHA-256 and one output block (the keyed HMAC is
/// made once and copied for each round).
fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let keyed = HmacSha256::new_from_slice(password).expect("HMAC takes any key length");
    let mut first = keyed.clone();
    first.update(salt);
    first.update(&1u32.to_be_bytes());
    let mut u = first.finalize().into_bytes();
    let mut result = u;
    for _ in 1..iterations {
        let mut round = keyed.clone();
        round.update(&u);
        u = round.finalize().into_bytes();
        result.iter_mut().zip(u.iter()).for_each(|(r, x)| *r ^= x);
    }
    result.into()
}

/// The most iterations a server may ask of the client: a server under a hostile tenant's
/// control must not make the control plane spin.
const MAX_ITERATIONS: u32 = 100_000;

/// The client's side of one SCRAM-SHA-256 exchange (RFC 5802/7677, no channel binding:
/// `n,,`), as PostgreSQL runs it: the user name travels in the startup message, so the
/// SCRAM one is empty.
pub struct Client {
    password: String,
    nonce: String,
    /// Set by [`Client::client_final`], checked by [`Client::verify_server_final`].
    expected_server_signature: Option<[u8; 32]>,
}

impl Client {
    pub fn new(password: &str) -> Self {
        let mut nonce = [0u8; 18];
        rand::rng().fill_bytes(&mut nonce);
        Self {
            password: password.to_string(),
            nonce: STANDARD.encode(nonce),
            expected_server_signature: None,
        }
    }

    fn client_first_bare(&self) -> String {
        format!("n=,r={}", self.nonce)
    }

    /// The client-first message.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare())
    }

    /// The client-final message answering `server_first` (`r=…,s=…,i=…`).
    pub fn client_final(&mut self, server_first: &str) -> Result<String, String> {
        let field = |name: &str| {
            server_first
                .split(',')
                .find_map(|part| part.strip_prefix(name))
                .ok_or_else(|| format!("the server's SCRAM message has no {name}"))
        };
        let nonce = field("r=")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("the server's SCRAM nonce does not extend ours".into());
        }
        let salt = STANDARD
            .decode(field("s=")?)
            .map_err(|e| format!("the server's SCRAM salt: {e}"))?;
        let iterations: u32 = field("i=")?
            .parse()
            .map_err(|e| format!("the server's SCRAM iterations: {e}"))?;
        if !(1..=MAX_ITERATIONS).contains(&iterations) {
            return Err(format!("the server asks for {iterations} SCRAM iterations"));
        }
        let salted = salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!(
            "{},{server_first},{without_proof}",
            self.client_first_bare()
        );
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature.iter())
            .map(|(key, sig)| key ^ sig)
            .collect();
        let server_key = hmac(&salted, b"Server Key");
        self.expected_server_signature = Some(hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", STANDARD.encode(proof)))
    }

    /// Checks the server-final message (`v=…`): the server knew the password too.
    pub fn verify_server_final(&self, server_final: &str) -> Result<(), String> {
        let signature = server_final
            .strip_prefix("v=")
            .and_then(|value| STANDARD.decode(value.trim_end_matches('\0')).ok())
            .ok_or_else(|| format!("the server's SCRAM answer is {server_final:?}"))?;
        match self.expected_server_signature {
            Some(expected) if signature == expected => Ok(()),
            _ => Err("the server's SCRAM signature is wrong: it is not who it says".into()),
        }
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's hashlib derives the same verifier (PostgreSQL accepting it is shown by the
    /// warm-pool tests, which log in with the password set this way).
    #[test]
    fn matches_an_independent_derivation() {
        let salt = STANDARD.decode("c2FsdHNhbHRzYWx0c2FsdA==").unwrap();
        assert_eq!(
            verifier_with("pencil", &salt, 4096),
            python_reference("pencil", &salt, 4096)
        );
    }

    /// An independent implementation of the same derivation, spelled out step by step.
    fn python_reference(password: &str, salt: &[u8], iterations: u32) -> String {
        let output = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                "import hashlib,hmac,base64,sys\n\
                 p=sys.argv[1].encode();s=base64.b64decode(sys.argv[2]);i=int(sys.argv[3])\n\
                 sp=hashlib.pbkdf2_hmac('sha256',p,s,i)\n\
                 ck=hmac.new(sp,b'Client Key','sha256').digest()\n\
                 sk=hmac.new(sp,b'Server Key','sha256').digest()\n\
                 b=lambda x:base64.b64encode(x).decode()\n\
                 print(f'SCRAM-SHA-256${i}:{b(s)}${b(hashlib.sha256(ck).digest())}:{b(sk)}')",
            )
            .arg(password)
            .arg(STANDARD.encode(salt))
            .arg(iterations.to_string())
            .output()
            .expect("python3 runs");
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn every_verifier_has_its_own_salt() {
        assert_ne!(verifier("same"), verifier("same"));
        assert!(verifier("x").starts_with("SCRAM-SHA-256$4096:"));
    }
}
