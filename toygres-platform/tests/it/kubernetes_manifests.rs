//! Offline: every object the Kubernetes platform builds, and every manifest in
//! `deploy/kubernetes/`, validates with `kubernetes-validate --strict` against the oldest
//! Kubernetes version we support (1.33, k8s-openapi's `v1_33`). `scripts/prerequisites`
//! installs the tool; without it the test says so and skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use toygres_domain::{InstanceName, PostgresVersion, StorageSize};
use toygres_platform::access::Verifiers;
use toygres_platform::certificates::CertificateAuthority;
use toygres_platform::kubernetes::config::{EndpointMode, KubernetesConfig, ServiceType};
use toygres_platform::kubernetes::objects;
use toygres_platform::{Access, InstanceSpec};
use toygres_test_support::{scratch, skip_or_fail_in_ci};

const KUBERNETES_VERSION: &str = "1.33.0";

fn validator_available() -> bool {
    let found = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        skip_or_fail_in_ci(
            "kubernetes-validate is not installed (scripts/prerequisites installs it)",
        );
    }
    found
}

fn validate(files: &[PathBuf]) -> (bool, String) {
    let output = Command::new("kubernetes-validate")
        .args(["--strict", "-k", KUBERNETES_VERSION])
        .args(files)
        .output()
        .expect("run kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn write_json<T: Serialize>(dir: &Path, file: &str, object: &T) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(&path, serde_json::to_vec_pretty(object).unwrap()).unwrap();
    path
}

fn configs() -> Vec<KubernetesConfig> {
    vec![
        KubernetesConfig::default(),
        KubernetesConfig {
            namespace: "databases".into(),
            image_registry: "registry.example.com/mirror/".into(),
            storage_class: Some("fast-ssd".into()),
            service_type: ServiceType::LoadBalancer,
            service_port: 15432,
            endpoint: EndpointMode::LoadBalancer,
            ..KubernetesConfig::default()
        },
    ]
}

#[test]
fn every_object_the_platform_builds_is_valid() {
    if !validator_available() {
        return;
    }
    let dir = scratch::subdir("manifests");
    let mut files = Vec::new();
    let ca = CertificateAuthority::generate().unwrap();
    files.push(write_json(
        &dir,
        "ca-secret.json",
        &objects::ca_secret("toygres", ca.certificate_pem(), ca.key_pem()),
    ));
    for (i, config) in configs().iter().enumerate() {
        for (major, gib) in [(13, 1), (17, 1024)] {
            let spec = InstanceSpec {
                name: InstanceName::parse(format!("db-{i}-{major}")).unwrap(),
                postgres_version: PostgresVersion::new(major).unwrap(),
                storage: StorageSize::from_gib(gib).unwrap(),
                access: Access::default(),
                standbys: Default::default(),
                settings: Default::default(),
            };
            let stem = format!("{}", spec.name);
            let passwords = objects::Passwords {
                superuser: "s",
                owner: "o",
                monitor: "m",
            };
            let server = ca
                .issue_server(&[format!("{}.toygres.svc", spec.name)])
                .unwrap();
            let verifiers = Verifiers::of("s", "o", "m");
            for (kind, secret) in [
                (
                    "credentials",
                    objects::credentials_secret(config, &spec.name, &passwords, &spec.access),
                ),
                (
                    "tls",
                    objects::tls_secret(config, &spec.name, &server, ca.certificate_pem()),
                ),
                (
                    "init",
                    objects::init_secret(config, &spec.name, &spec.access, &verifiers, major),
                ),
            ] {
                files.push(write_json(&dir, &format!("{stem}-{kind}.json"), &secret));
            }
            files.push(write_json(
                &dir,
                &format!("{stem}-statefulset.json"),
                &objects::stateful_set(config, &spec, uuid::Uuid::new_v4()),
            ));
            files.push(write_json(
                &dir,
                &format!("{stem}-service.json"),
                &objects::service(config, &spec.name),
            ));
        }
    }
    let (ok, output) = validate(&files);
    assert!(ok, "{output}");
    assert_eq!(output.matches("passed").count(), files.len(), "{output}");
}

#[test]
fn every_deployment_manifest_is_valid() {
    if !validator_available() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    let (ok, output) = validate(&files);
    assert!(ok, "{output}");
    assert_eq!(output.matches("passed").count(), files.len(), "{output}");
}

#[test]
fn the_validator_rejects_what_strict_mode_should() {
    if !validator_available() {
        return;
    }
    let dir = scratch::subdir("manifests-bad");
    let spec = InstanceSpec {
        name: InstanceName::parse("bad").unwrap(),
        postgres_version: PostgresVersion::default(),
        storage: StorageSize::default(),
        access: Access::default(),
        standbys: Default::default(),
        settings: Default::default(),
    };
    let mut object = serde_json::to_value(objects::stateful_set(
        &KubernetesConfig::default(),
        &spec,
        uuid::Uuid::new_v4(),
    ))
    .unwrap();
    object["spec"]["replica"] = serde_json::json!(1);
    let (ok, output) = validate(&[write_json(&dir, "bad.json", &object)]);
    assert!(!ok, "an unknown field passed strict validation: {output}");
}
