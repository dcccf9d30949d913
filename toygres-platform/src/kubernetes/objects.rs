//! The Kubernetes objects of one instance, built as typed `k8s-openapi` values.
//!
//! Pure functions of the spec and the platform configuration, so they can be validated
//! offline (`tests/kubernetes_manifests.rs` runs them through `kubernetes-validate`) and
//! applied with server-side apply, which makes every re-run converge.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, ExecAction,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, Secret, SecretKeySelector, SecretVolumeSource,
    SecurityContext, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config::KubernetesConfig;
use crate::InstanceSpec;
use crate::access::{self, Access};
use crate::certificates::ServerCertificate;
use toygres_domain::InstanceName;
use uuid::Uuid;

/// The `postgres` user of the official images (Debian-based).
const POSTGRES_UID: i64 = 999;
const DATA_VOLUME: &str = "data";
const DATA_MOUNT: &str = "/var/lib/postgresql/data";
const TLS_VOLUME: &str = "tls";
const TLS_MOUNT: &str = "/etc/toygres/tls";
const INIT_VOLUME: &str = "init";
const CONF_MOUNT: &str = "/etc/toygres/conf";
const INITDB_MOUNT: &str = "/docker-entrypoint-initdb.d";
const PORT_NAME: &str = "postgresql";
/// The superuser's password (the key of earlier versions, which had only that login).
pub const PASSWORD_KEY: &str = "password";
pub const OWNER_PASSWORD_KEY: &str = "owner-password";
pub const MONITOR_PASSWORD_KEY: &str = "monitor-password";
/// Not secret, kept beside the passwords: the owner role, its database, superuser access.
pub const OWNER_KEY: &str = "owner";
pub const DATABASE_KEY: &str = "database";
pub const SUPERUSER_ACCESS_KEY: &str = "superuser-access";
pub const SUPERUSER: &str = access::SUPERUSER;
/// Keys of the init Secret.
pub const HBA_KEY: &str = "pg_hba.conf";
pub const INIT_SQL_KEY: &str = "init.sql";
/// The CA's Secret in the platform's namespace (`tls.crt`, `tls.key`).
pub const CA_SECRET: &str = "toygres-ca";
/// Keys of a TLS Secret (`kubernetes.io/tls`), and the CA beside the server's.
pub const TLS_CERT_KEY: &str = "tls.crt";
pub const TLS_KEY_KEY: &str = "tls.key";
pub const CA_CERT_KEY: &str = "ca.crt";
/// Where clients connect from: anywhere the Service is reachable (a NetworkPolicy narrows it).
const CLIENTS: &[&str] = &["0.0.0.0/0", "::/0"];
/// Secret volumes are root's with the pod's group (`fsGroup`): PostgreSQL accepts a key
/// owned by root with group read.
const SECRET_FILE_MODE: i32 = 0o640;

/// Labels every object of an instance carries.
pub fn labels(name: &InstanceName) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".into(), "postgresql".into()),
        ("app.kubernetes.io/instance".into(), name.to_string()),
        ("app.kubernetes.io/managed-by".into(), "toygres".into()),
    ])
}

/// Selects every object of an instance (for listing and deleting).
pub fn label_selector(name: &InstanceName) -> String {
    format!("app.kubernetes.io/instance={name},app.kubernetes.io/managed-by=toygres")
}

pub fn credentials_secret_name(name: &InstanceName) -> String {
    format!("{name}-credentials")
}

pub fn tls_secret_name(name: &InstanceName) -> String {
    format!("{name}-tls")
}

pub fn init_secret_name(name: &InstanceName) -> String {
    format!("{name}-init")
}

/// The pod a one-replica StatefulSet runs.
pub fn pod_name(name: &InstanceName) -> String {
    format!("{name}-0")
}

fn metadata(config: &KubernetesConfig, object_name: String, name: &InstanceName) -> ObjectMeta {
    ObjectMeta {
        name: Some(object_name),
        namespace: Some(config.namespace.clone()),
        labels: Some(labels(name)),
        ..ObjectMeta::default()
    }
}

/// The three logins' passwords of an instance.
pub struct Passwords<'a> {
    pub superuser: &'a str,
    pub owner: &'a str,
    pub monitor: &'a str,
}

fn bytes(value: &str) -> ByteString {
    ByteString(value.as_bytes().to_vec())
}

pub fn credentials_secret(
    config: &KubernetesConfig,
    name: &InstanceName,
    passwords: &Passwords<'_>,
    access: &Access,
) -> Secret {
    Secret {
        metadata: metadata(config, credentials_secret_name(name), name),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([
            (PASSWORD_KEY.into(), bytes(passwords.superuser)),
            ("username".into(), bytes(SUPERUSER)),
            (OWNER_PASSWORD_KEY.into(), bytes(passwords.owner)),
            (MONITOR_PASSWORD_KEY.into(), bytes(passwords.monitor)),
            (OWNER_KEY.into(), bytes(access.owner.as_str())),
            (DATABASE_KEY.into(), bytes(access.database.as_str())),
            (
                SUPERUSER_ACCESS_KEY.into(),
                bytes(&access.superuser_access.to_string()),
            ),
        ])),
        ..Secret::default()
    }
}

/// The instance's server certificate and key, with the CA that signed them.
pub fn tls_secret(
    config: &KubernetesConfig,
    name: &InstanceName,
    server: &ServerCertificate,
    ca_pem: &str,
) -> Secret {
    Secret {
        metadata: metadata(config, tls_secret_name(name), name),
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            (TLS_CERT_KEY.into(), bytes(&server.certificate_pem)),
            (TLS_KEY_KEY.into(), bytes(&server.key_pem)),
            (CA_CERT_KEY.into(), bytes(ca_pem)),
        ])),
        ..Secret::default()
    }
}

/// What the server starts with: its authentication rules, and the script the image runs
/// once on an empty volume (as the superuser, over its local socket) to make the logins.
/// The script holds SCRAM verifiers, never passwords, but is a Secret all the same.
pub fn init_secret(
    config: &KubernetesConfig,
    name: &InstanceName,
    access: &Access,
    verifiers: &access::Verifiers,
    major: u32,
) -> Secret {
    let script = format!(
        "-- Written by Toygres; run once by the image on an empty volume.\n{}ALTER DATABASE \"{}\" OWNER TO \"{}\";\n",
        access::roles_sql(access, verifiers, major),
        access.database,
        access.owner
    );
    Secret {
        metadata: metadata(config, init_secret_name(name), name),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([
            (
                HBA_KEY.into(),
                bytes(&access::hba_rules(CLIENTS, access.superuser_access)),
            ),
            (INIT_SQL_KEY.into(), bytes(&script)),
        ])),
        ..Secret::default()
    }
}

/// The control plane's CA, kept in its namespace so every server shares it.
pub fn ca_secret(namespace: &str, certificate_pem: &str, key_pem: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(CA_SECRET.into()),
            namespace: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".into(),
                "toygres".into(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            (TLS_CERT_KEY.into(), bytes(certificate_pem)),
            (TLS_KEY_KEY.into(), bytes(key_pem)),
        ])),
        ..Secret::default()
    }
}

/// The part of a StatefulSet that stop and start own: its replica count.
pub fn replicas(name: &InstanceName, replicas: i32) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": name.as_str() },
        "spec": { "replicas": replicas },
    })
}

/// The part of a StatefulSet that restart owns: an annotation on the pod template whose
/// change makes the StatefulSet controller replace the pod.
pub fn restart_annotation(name: &InstanceName, token: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": name.as_str() },
        "spec": { "template": { "metadata": { "annotations": { RESTART_ANNOTATION: token } } } },
    })
}

/// Changed by every restart, to the restart's token.
pub const RESTART_ANNOTATION: &str = "toygres.io/restart";

/// The CMS record an instance's StatefulSet was made for (so a late call for an older
/// record of a reused name touches nothing).
pub const RECORD_ANNOTATION: &str = "toygres.io/record";

/// The record `stateful_set` was made for, where it says.
pub fn record_of(stateful_set: &StatefulSet) -> Option<Uuid> {
    let annotations = stateful_set.metadata.annotations.as_ref()?;
    Uuid::try_parse(annotations.get(RECORD_ANNOTATION)?).ok()
}

pub fn stateful_set(config: &KubernetesConfig, spec: &InstanceSpec, record: Uuid) -> StatefulSet {
    let name = &spec.name;
    let mut metadata = metadata(config, name.to_string(), name);
    metadata.annotations = Some(BTreeMap::from([(
        RECORD_ANNOTATION.to_string(),
        record.to_string(),
    )]));
    StatefulSet {
        metadata,
        spec: Some(StatefulSetSpec {
            // Not set here: scaling (stop/start) owns it, with a field manager of its own,
            // so a redeploy never undoes a stop. Unset, it starts at 1.
            replicas: None,
            service_name: Some(name.to_string()),
            selector: LabelSelector {
                match_labels: Some(labels(name)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(name)),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(config, spec)),
            },
            volume_claim_templates: Some(vec![volume_claim(config, spec)]),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

fn pod_spec(config: &KubernetesConfig, spec: &InstanceSpec) -> PodSpec {
    let secret_volume = |volume: &str, secret: String| Volume {
        name: volume.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret),
            default_mode: Some(SECRET_FILE_MODE),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    };
    PodSpec {
        // A tenant with superuser access can read any file of the pod: no credentials of
        // the cluster's in it.
        automount_service_account_token: Some(false),
        volumes: Some(vec![
            secret_volume(TLS_VOLUME, tls_secret_name(&spec.name)),
            secret_volume(INIT_VOLUME, init_secret_name(&spec.name)),
        ]),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(POSTGRES_UID),
            run_as_group: Some(POSTGRES_UID),
            fs_group: Some(POSTGRES_UID),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        containers: vec![postgres_container(config, spec)],
        ..PodSpec::default()
    }
}

fn postgres_container(config: &KubernetesConfig, spec: &InstanceSpec) -> Container {
    let pg_isready = |initial_delay, period| Probe {
        exec: Some(ExecAction {
            command: Some(
                ["pg_isready", "-U", SUPERUSER, "-h", "127.0.0.1"]
                    .map(String::from)
                    .to_vec(),
            ),
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(6),
        ..Probe::default()
    };
    Container {
        name: "postgres".into(),
        image: Some(format!(
            "{}postgres:{}",
            config.image_registry, spec.postgres_version
        )),
        env: Some(vec![
            EnvVar {
                name: "POSTGRES_PASSWORD".into(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: credentials_secret_name(&spec.name),
                        key: PASSWORD_KEY.into(),
                        ..SecretKeySelector::default()
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            },
            EnvVar {
                name: "PGDATA".into(),
                value: Some(format!("{DATA_MOUNT}/pgdata")),
                ..EnvVar::default()
            },
            EnvVar {
                name: "POSTGRES_DB".into(),
                value: Some(spec.access.database.to_string()),
                ..EnvVar::default()
            },
        ]),
        args: Some(
            [
                "postgres".to_string(),
                "-c".into(),
                "ssl=on".into(),
                "-c".into(),
                format!("ssl_cert_file={TLS_MOUNT}/{TLS_CERT_KEY}"),
                "-c".into(),
                format!("ssl_key_file={TLS_MOUNT}/{TLS_KEY_KEY}"),
                "-c".into(),
                format!("hba_file={CONF_MOUNT}/{HBA_KEY}"),
            ]
            .to_vec(),
        ),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: 5432,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(pg_isready(5, 5)),
        liveness_probe: Some(pg_isready(30, 10)),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&config.requests)),
            limits: Some(quantities(&config.limits)),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: DATA_VOLUME.into(),
                mount_path: DATA_MOUNT.into(),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: TLS_VOLUME.into(),
                mount_path: TLS_MOUNT.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: INIT_VOLUME.into(),
                mount_path: CONF_MOUNT.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: INIT_VOLUME.into(),
                mount_path: format!("{INITDB_MOUNT}/10-toygres.sql"),
                sub_path: Some(INIT_SQL_KEY.into()),
                read_only: Some(true),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    }
}

fn volume_claim(config: &KubernetesConfig, spec: &InstanceSpec) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.into()),
            labels: Some(labels(&spec.name)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: config.storage_class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".into(),
                    Quantity(spec.storage.to_string()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

pub fn service(config: &KubernetesConfig, name: &InstanceName) -> Service {
    Service {
        metadata: metadata(config, name.to_string(), name),
        spec: Some(ServiceSpec {
            type_: Some(config.service_type.as_str().into()),
            selector: Some(labels(name)),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.into()),
                port: i32::from(config.service_port),
                target_port: Some(IntOrString::String(PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn quantities(values: &BTreeMap<String, String>) -> BTreeMap<String, Quantity> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), Quantity(v.clone())))
        .collect()
}
