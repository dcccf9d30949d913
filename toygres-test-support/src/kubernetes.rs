//! Kubernetes for tests: the API server `KUBECONFIG` points at (in CI, the
//! repository's `tools/kube-test-apiserver`, which `scripts/test` starts), one fresh
//! namespace per test, and a [`FakeKubelet`] for the controllers that server does not have.
//!
//! The test API server runs no controllers: a StatefulSet makes no pod and nothing is
//! garbage-collected. The fake kubelet creates pod `<name>-0` from the StatefulSet's
//! template, patches its status the way a kubelet would, and stands up a real PostgreSQL
//! process with the password from the instance's Secret, for the connection test and the
//! health probes to reach (through the platform's fixed endpoint).

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use toygres_domain::InstanceName;
use toygres_platform::kubernetes::objects;

use crate::password_server::{PasswordServer, PodFiles};

pub struct TestCluster {
    pub client: Client,
}

/// The repository's test API server (`tools/kube-test-apiserver`: its `start` and `stop`
/// scripts and the binary), found from the workspace root.
pub fn test_apiserver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root above toygres-test-support")
        .join("tools/kube-test-apiserver")
}

impl TestCluster {
    /// The cluster of `KUBECONFIG`, or `None` when there is none, so a test can skip (with
    /// a `SKIPPED` line) on a machine without one; in CI it fails instead (see
    /// [`crate::skip_or_fail_in_ci`]).
    pub async fn connect() -> Option<Self> {
        crate::init_tracing();
        if std::env::var_os("KUBECONFIG").is_none() {
            let start = test_apiserver_dir().join("start");
            crate::skip_or_fail_in_ci(&format!(
                "KUBECONFIG is not set (scripts/test starts the test API server; \
                 by hand: eval \"$({})\")",
                start.display()
            ));
            return None;
        }
        let client = Client::try_default()
            .await
            .expect("a client from KUBECONFIG");
        if let Err(error) = client.apiserver_version().await {
            panic!("KUBECONFIG is set but its API server does not answer: {error}");
        }
        Some(Self { client })
    }

    /// A namespace of its own for one test.
    pub async fn new_namespace(&self) -> String {
        let name = format!(
            "toygres-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .expect("create a test namespace");
        name
    }

    pub fn kubelet(&self, namespace: &str) -> FakeKubelet {
        FakeKubelet {
            client: self.client.clone(),
            namespace: namespace.to_string(),
        }
    }
}

/// Plays the kubelet (and the StatefulSet controller) for one namespace.
pub struct FakeKubelet {
    client: Client,
    namespace: String,
}

impl FakeKubelet {
    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Waits for the StatefulSet of `name` to exist.
    pub async fn wait_for_stateful_set(&self, name: &InstanceName) -> StatefulSet {
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let what = format!("StatefulSet {name}");
        crate::eventually(&what, Duration::from_secs(60), || async {
            api.get_opt(name.as_str())
                .await
                .expect("read the StatefulSet")
        })
        .await
    }

    /// Creates pod `<name>-0` from the StatefulSet's template (as the controller would).
    pub async fn create_pod(&self, stateful_set: &StatefulSet) -> String {
        let template = stateful_set.spec.clone().expect("a spec").template;
        let name = format!(
            "{}-0",
            stateful_set
                .metadata
                .name
                .clone()
                .expect("a StatefulSet name")
        );
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                annotations: template.metadata.and_then(|m| m.annotations),
                ..ObjectMeta::default()
            },
            spec: template.spec,
            ..Pod::default()
        };
        self.pods()
            .create(&PostParams::default(), &pod)
            .await
            .expect("create the pod");
        name
    }

    /// Starts a real PostgreSQL on `port` with the instance's password, then reports the
    /// pod Running and Ready, as a kubelet would once its readiness probe passes.
    pub async fn run_ready(&self, name: &InstanceName, port: u16) -> PasswordServer {
        self.wait_for_stateful_set(name).await;
        let database = self.start_database(name, port).await;
        self.mark_ready(name).await;
        database
    }

    /// Creates pod `<name>-0` and reports it Running and Ready (nothing runs behind it).
    pub async fn mark_ready(&self, name: &InstanceName) {
        let stateful_set = self.wait_for_stateful_set(name).await;
        let pod = self.create_pod(&stateful_set).await;
        self.patch_status(
            &pod,
            json!({
                "phase": "Running",
                "podIP": "127.0.0.1",
                "conditions": [
                    { "type": "PodScheduled", "status": "True" },
                    { "type": "Ready", "status": "True" }
                ]
            }),
        )
        .await;
    }

    /// Waits until the StatefulSet of `name` asks for `replicas` pods (unset counts as 1,
    /// as Kubernetes defaults it), and returns it.
    pub async fn wait_for_replicas(&self, name: &InstanceName, replicas: i32) -> StatefulSet {
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let what = format!("StatefulSet {name} at {replicas} replicas");
        crate::eventually(&what, Duration::from_secs(60), || async {
            let stateful_set = api.get(name.as_str()).await.expect("read the StatefulSet");
            let wanted = stateful_set
                .spec
                .as_ref()
                .and_then(|spec| spec.replicas)
                .unwrap_or(1);
            (wanted == replicas).then_some(stateful_set)
        })
        .await
    }

    /// Waits until the pod template of `name` carries a restart annotation other than the
    /// pod's, as the StatefulSet controller notices a template change; returns the token.
    pub async fn wait_for_restart(&self, name: &InstanceName) -> String {
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let what = format!("a restart of {name}");
        crate::eventually(&what, Duration::from_secs(60), || async {
            let stateful_set = api.get(name.as_str()).await.expect("read the StatefulSet");
            let token = stateful_set
                .spec?
                .template
                .metadata?
                .annotations?
                .get(objects::RESTART_ANNOTATION)?
                .clone();
            let pod = self.pods().get_opt(&objects::pod_name(name)).await.ok()??;
            let current = pod
                .metadata
                .annotations
                .and_then(|a| a.get(objects::RESTART_ANNOTATION).cloned());
            (current.as_deref() != Some(token.as_str())).then_some(token)
        })
        .await
    }

    /// Deletes pod `<name>-0`, as the StatefulSet controller does on a scale to 0 or a
    /// template change.
    pub async fn delete_pod(&self, name: &InstanceName) {
        self.pods()
            .delete(&objects::pod_name(name), &DeleteParams::default())
            .await
            .expect("delete the pod");
    }

    /// Reports the pod's image as impossible to pull.
    pub async fn fail_image_pull(&self, name: &InstanceName) {
        let stateful_set = self.wait_for_stateful_set(name).await;
        let pod = self.create_pod(&stateful_set).await;
        self.patch_status(
            &pod,
            json!({
                "phase": "Pending",
                "containerStatuses": [{
                    "name": "postgres",
                    "image": "docker.io/library/postgres:15",
                    "imageID": "",
                    "ready": false,
                    "restartCount": 0,
                    "state": { "waiting": {
                        "reason": "ErrImagePull",
                        "message": "failed to pull image: not found"
                    }}
                }]
            }),
        )
        .await;
    }

    async fn patch_status(&self, pod: &str, status: serde_json::Value) {
        self.pods()
            .patch_status(
                pod,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .expect("patch the pod's status");
    }

    /// Starts the pod's database the way the image would, from what the platform put in
    /// the instance's Secrets.
    async fn start_database(&self, name: &InstanceName, port: u16) -> PasswordServer {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let read = |secret: &str| {
            let secrets = secrets.clone();
            let secret = secret.to_string();
            async move {
                secrets
                    .get(&secret)
                    .await
                    .unwrap_or_else(|e| panic!("Secret {secret}: {e}"))
                    .data
                    .expect("Secret data")
            }
        };
        let credentials = read(&objects::credentials_secret_name(name)).await;
        let tls = read(&objects::tls_secret_name(name)).await;
        let init = read(&objects::init_secret_name(name)).await;
        let text = |data: &std::collections::BTreeMap<String, k8s_openapi::ByteString>,
                    key: &str| {
            String::from_utf8(data[key].0.clone()).expect("UTF-8 Secret data")
        };
        let pod = PodFiles {
            superuser_password: text(&credentials, objects::PASSWORD_KEY),
            database: text(&credentials, objects::DATABASE_KEY),
            certificate: text(&tls, objects::TLS_CERT_KEY),
            key: text(&tls, objects::TLS_KEY_KEY),
            hba: text(&init, objects::HBA_KEY),
            init_sql: text(&init, objects::INIT_SQL_KEY),
        };
        PasswordServer::start_as_pod(&pod, port).await
    }
}
