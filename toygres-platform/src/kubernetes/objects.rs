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
    Probe, ResourceRequirements, SeccompProfile, Secret, SecretKeySelector, SecurityContext,
    Service, ServicePort, ServiceSpec, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config::KubernetesConfig;
use crate::InstanceSpec;
use toygres_domain::InstanceName;

/// The `postgres` user of the official images (Debian-based).
const POSTGRES_UID: i64 = 999;
const DATA_VOLUME: &str = "data";
const DATA_MOUNT: &str = "/var/lib/postgresql/data";
const PORT_NAME: &str = "postgresql";
pub const PASSWORD_KEY: &str = "password";
pub const SUPERUSER: &str = "postgres";

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

pub fn credentials_secret(
    config: &KubernetesConfig,
    name: &InstanceName,
    password: &str,
) -> Secret {
    Secret {
        metadata: metadata(config, credentials_secret_name(name), name),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([
            (
                PASSWORD_KEY.into(),
                ByteString(password.as_bytes().to_vec()),
            ),
            ("username".into(), ByteString(SUPERUSER.as_bytes().to_vec())),
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

pub fn stateful_set(config: &KubernetesConfig, spec: &InstanceSpec) -> StatefulSet {
    let name = &spec.name;
    StatefulSet {
        metadata: metadata(config, name.to_string(), name),
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
    PodSpec {
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
        ]),
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
        volume_mounts: Some(vec![VolumeMount {
            name: DATA_VOLUME.into(),
            mount_path: DATA_MOUNT.into(),
            ..VolumeMount::default()
        }]),
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
