//! Encrypted connections, checked with the real `psql`: the connection string the CLI
//! prints verifies the server (`sslmode=verify-full`) against the control plane's CA, a
//! connection without TLS is refused, and the certificate names what the string connects
//! to. A CA that did not sign the certificate is refused too, so verification is real.

use std::path::Path;
use std::process::Command;

use toygres_platform::certificates::CertificateAuthority;
use toygres_test_support::psql::psql;
use toygres_test_support::scratch;
use toygres_test_support::server::{ServerOptions, TestServer};

fn with_parameter(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with(&format!("{name}=")))
        .collect();
    let mut pairs = kept.join("&");
    if !pairs.is_empty() {
        pairs.push('&');
    }
    format!("{base}?{pairs}{name}={value}")
}

/// The DNS names and addresses a PEM certificate names (openssl, as a client would read
/// them).
fn names_in(certificate: &Path) -> String {
    let output = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(certificate)
        .output()
        .expect("run openssl");
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_verify_the_server_and_plain_tcp_is_refused() {
    let server = TestServer::start(ServerOptions::embedded()).await;
    server.cli_ok(&["create", "secure", "--wait"]).await;
    let ca_file = scratch::subdir("ca").join("ca.crt");
    let url = server
        .cli_ok(&[
            "connection-string",
            "secure",
            "--ca-file",
            ca_file.to_str().unwrap(),
        ])
        .await
        .trim()
        .to_string();
    assert!(url.contains("sslmode=verify-full"), "{url}");
    assert!(url.contains(&format!("sslrootcert={}", ca_file.display())));

    // The CA the CLI wrote is the control plane's, as `ca-certificate` gives it too.
    let written = std::fs::read_to_string(&ca_file).unwrap();
    let kept = std::fs::read_to_string(server.options.data_dir.join("ca/ca.crt")).unwrap();
    assert_eq!(written, kept);
    let printed = server.cli_ok(&["ca-certificate"]).await;
    assert_eq!(printed, kept);

    assert_eq!(
        psql(
            &url,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ),
        Ok("t".into())
    );
    let plain = psql(&with_parameter(&url, "sslmode", "disable"), "SELECT 1");
    assert!(
        plain.as_ref().is_err_and(|e| e.contains("no encryption")),
        "{plain:?}"
    );

    // A CA that did not sign the server's certificate: the client refuses the server.
    let stranger = scratch::subdir("stranger").join("ca.crt");
    std::fs::write(
        &stranger,
        CertificateAuthority::generate().unwrap().certificate_pem(),
    )
    .unwrap();
    let fooled = psql(
        &with_parameter(&url, "sslrootcert", stranger.to_str().unwrap()),
        "SELECT 1",
    );
    assert!(
        fooled
            .as_ref()
            .is_err_and(|e| e.contains("certificate verify failed")),
        "{fooled:?}"
    );

    // The certificate names the host the string connects to.
    let host = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap();
    let names = names_in(
        &server
            .options
            .data_dir
            .join("instances/secure/data/server.crt"),
    );
    assert!(names.contains(&format!("IP Address:{host}")), "{names}");

    // The answer with the password is never cached.
    let answer = reqwest::Client::new()
        .get(format!("{}/api/v1/instances/secure/connection", server.url))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );

    // The CA's key is the control plane's alone.
    let key = server.options.data_dir.join("ca/ca.key");
    let mode = std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(key).unwrap());
    assert_eq!(mode & 0o777, 0o600);
}
