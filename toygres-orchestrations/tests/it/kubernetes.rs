//! The Kubernetes platform against a real API server (the repository's
//! `tools/kube-test-apiserver`, which `scripts/test` starts; skipped with a printed reason
//! when `KUBECONFIG` is not set).
//! The test plays the kubelet: it creates pod `<name>-0`, reports it Ready and runs a real
//! PostgreSQL behind the platform's fixed endpoint.

use std::sync::Arc;
use std::time::Duration;
use toygres_test_support::eventually;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret, Service};
use kube::api::{Api, ListParams};
use toygres_cms::{self as cms, InstanceState};
use toygres_domain::InstanceName;
use toygres_orchestrations::names::instance_ids::RecordOperation;
use toygres_orchestrations::names::orchestrations;
use toygres_orchestrations::types::v1_1::CreateInstanceOutput;
use toygres_orchestrations::types::{DeleteInstanceOutput, OperationOutput};
use toygres_platform::Whose;
use toygres_platform::kubernetes::config::{EndpointMode, KubernetesConfig, ServiceType};
use toygres_platform::kubernetes::objects;
use toygres_platform::kubernetes::{KubernetesPlatform, NamespacedObject};
use toygres_platform::{InstanceStatus, Login, Platform};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{completed_output, failure_message, spec, transitions};
use toygres_test_support::database::free_port;
use toygres_test_support::kubernetes::TestCluster;

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

async fn platform(cluster: &TestCluster, namespace: &str, port: u16) -> Arc<KubernetesPlatform> {
    let config = KubernetesConfig {
        namespace: namespace.to_string(),
        endpoint: EndpointMode::Fixed {
            host: "127.0.0.1".into(),
            port,
        },
        ..KubernetesConfig::default()
    };
    Arc::new(
        KubernetesPlatform::connect(cluster.client.clone(), config)
            .await
            .expect("the platform and its CA"),
    )
}

async fn labelled<K: NamespacedObject>(
    cluster: &TestCluster,
    namespace: &str,
    name: &InstanceName,
) -> Vec<String> {
    let api: Api<K> = Api::namespaced(cluster.client.clone(), namespace);
    api.list(&ListParams::default().labels(&format!("app.kubernetes.io/instance={name}")))
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|o| o.meta().name.clone())
        .collect()
}

/// Every object of the instance, of every kind the platform makes or the kubelet adds.
async fn everything_labelled(
    cluster: &TestCluster,
    namespace: &str,
    name: &InstanceName,
) -> Vec<String> {
    let mut all = labelled::<Secret>(cluster, namespace, name).await;
    all.extend(labelled::<StatefulSet>(cluster, namespace, name).await);
    all.extend(labelled::<Service>(cluster, namespace, name).await);
    all.extend(labelled::<Pod>(cluster, namespace, name).await);
    all.extend(labelled::<PersistentVolumeClaim>(cluster, namespace, name).await);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_lives_and_dies_on_kubernetes() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let namespace = cluster.new_namespace().await;
    let port = free_port();
    let cp =
        TestControlPlane::start_on(platform(&cluster, &namespace, port).await, PROBE_TIMEOUT).await;
    let spec = spec("kshop");
    let mut input = cp.reserve("create-kshop", &spec).await;
    input.health_check_interval_secs = 1;
    cp.start_create("create-kshop", input).await;

    let pod_database = cluster
        .kubelet(&namespace)
        .run_ready(&spec.name, port)
        .await;
    let created: CreateInstanceOutput =
        completed_output(&cp.wait("create-kshop", Duration::from_secs(120)).await);
    assert_eq!(
        (created.endpoint.host.as_str(), created.endpoint.port),
        ("127.0.0.1", port)
    );

    // The objects as built: labels, image, volume size, field manager.
    let sts: StatefulSet = Api::namespaced(cluster.client.clone(), &namespace)
        .get("kshop")
        .await
        .unwrap();
    assert_eq!(
        sts.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
        "toygres"
    );
    let managers: Vec<String> = sts
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(managers.contains(&"toygres".to_string()), "{managers:?}");
    let pod_spec = sts.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert_eq!(
        pod_spec.containers[0].image.as_deref(),
        Some(format!("docker.io/library/postgres:{}", spec.postgres_version).as_str())
    );
    // TLS and the logins: the certificate and the rules mounted, no cluster credentials.
    assert_eq!(pod_spec.automount_service_account_token, Some(false));
    let args = pod_spec.containers[0].args.clone().unwrap_or_default();
    assert!(args.contains(&"ssl=on".to_string()), "{args:?}");
    let mounted: Vec<String> = pod_spec
        .volumes
        .iter()
        .flatten()
        .filter_map(|volume| volume.secret.as_ref()?.secret_name.clone())
        .collect();
    assert_eq!(mounted, ["kshop-tls", "kshop-init"]);
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), &namespace);
    for name in ["kshop-credentials", "kshop-tls", "kshop-init", "toygres-ca"] {
        assert!(secrets.get_opt(name).await.unwrap().is_some(), "{name}");
    }
    let ca = secrets.get("toygres-ca").await.unwrap().data.unwrap();
    let tls = secrets.get("kshop-tls").await.unwrap().data.unwrap();
    assert_eq!(ca["tls.crt"], tls["ca.crt"], "issued by the namespace's CA");
    assert_eq!(created.endpoint.tls, toygres_platform::Tls::VerifyFull);
    let claim = &sts
        .spec
        .as_ref()
        .unwrap()
        .volume_claim_templates
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        claim
            .spec
            .as_ref()
            .unwrap()
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap()["storage"]
            .0,
        "10Gi"
    );

    // The actor probes the real database behind the pod.
    eventually(
        "two good health checks",
        Duration::from_secs(10),
        || async {
            let rows = cms::health::history(&cp.db.pool, created.record_id, 10)
                .await
                .unwrap();
            (rows.iter().filter(|h| h.ok).count() >= 2).then_some(())
        },
    )
    .await;
    let health = cms::health::history(&cp.db.pool, created.record_id, 10)
        .await
        .unwrap();
    assert!(health.iter().filter(|h| h.ok).count() >= 2, "{health:?}");

    cp.start_delete("delete-kshop", created.record_id, &spec.name)
        .await;
    let deleted: DeleteInstanceOutput =
        completed_output(&cp.wait("delete-kshop", Duration::from_secs(60)).await);
    assert!(deleted.resources_deleted);
    assert_eq!(
        everything_labelled(&cluster, &namespace, &spec.name).await,
        Vec::<String>::new()
    );
    let record = cms::instances::get(&cp.db.pool, created.record_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Deleted);
    pod_database.stop().await;
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_after_a_crash_converges_keeps_the_password_and_is_the_records_alone() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let namespace = cluster.new_namespace().await;
    let platform = platform(&cluster, &namespace, free_port()).await;
    let spec = spec("again");
    let record = uuid::Uuid::new_v4();
    platform.deploy(&spec, record).await.expect("first deploy");
    let password = platform
        .credentials(&spec.name, Login::Owner)
        .await
        .unwrap();

    // A crash after the Secret and StatefulSet but before the Service: deploy again.
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), &namespace);
    services.delete("again", &Default::default()).await.unwrap();
    platform
        .deploy(&spec, record)
        .await
        .expect("a re-run converges without 409");
    platform.deploy(&spec, record).await.expect("and again");
    assert_eq!(
        platform
            .credentials(&spec.name, Login::Owner)
            .await
            .unwrap(),
        password,
        "the Secret keeps its password"
    );
    assert!(services.get_opt("again").await.unwrap().is_some());
    assert_eq!(
        labelled::<StatefulSet>(&cluster, &namespace, &spec.name).await,
        ["again"]
    );

    // A late call for a record that had the name before touches nothing of this one.
    let older = Whose::Record(uuid::Uuid::new_v4());
    platform.delete(&spec.name, older).await.unwrap();
    let refused = platform.stop(&spec.name, older).await.unwrap_err();
    assert!(refused.to_string().contains("another record"), "{refused}");
    let taken = platform
        .deploy(&spec, uuid::Uuid::new_v4())
        .await
        .unwrap_err();
    assert!(taken.to_string().contains("another record"), "{taken}");
    assert_eq!(
        labelled::<StatefulSet>(&cluster, &namespace, &spec.name).await,
        ["again"]
    );

    platform
        .delete(&spec.name, Whose::Record(record))
        .await
        .unwrap();
    platform
        .delete(&spec.name, Whose::Record(record))
        .await
        .expect("deleting twice is fine");
    assert_eq!(
        everything_labelled(&cluster, &namespace, &spec.name).await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_never_becomes_ready_fails_the_create_and_is_cleaned_up() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let namespace = cluster.new_namespace().await;
    let cp = TestControlPlane::start_on(
        platform(&cluster, &namespace, free_port()).await,
        PROBE_TIMEOUT,
    )
    .await;
    let spec = spec("stuck");
    let mut input = cp.reserve("create-stuck", &spec).await;
    input.readiness_timeout_secs = 3;
    cp.start_create("create-stuck", input).await;
    let message = failure_message(&cp.wait("create-stuck", Duration::from_secs(60)).await);
    assert!(
        message.contains("was not ready after") && message.contains("waiting for pod stuck-0"),
        "{message}"
    );
    let record = cms::instances::find_live(&cp.db.pool, "stuck")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Failed);
    assert_eq!(
        everything_labelled(&cluster, &namespace, &spec.name).await,
        Vec::<String>::new()
    );
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_be_pulled_fails_the_create_at_once() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let namespace = cluster.new_namespace().await;
    let cp = TestControlPlane::start_on(
        platform(&cluster, &namespace, free_port()).await,
        PROBE_TIMEOUT,
    )
    .await;
    let spec = spec("nopull");
    let input = cp.reserve("create-nopull", &spec).await;
    cp.start_create("create-nopull", input).await;
    cluster
        .kubelet(&namespace)
        .fail_image_pull(&spec.name)
        .await;
    let message = failure_message(&cp.wait("create-nopull", Duration::from_secs(60)).await);
    assert!(
        message.contains("ErrImagePull") && message.contains("failed to pull image"),
        "{message}"
    );
    let record = cms::instances::find_live(&cp.db.pool, "nopull")
        .await
        .unwrap()
        .unwrap();
    assert!(record.last_error.unwrap().contains("ErrImagePull"));
    assert_eq!(
        everything_labelled(&cluster, &namespace, &spec.name).await,
        Vec::<String>::new()
    );
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_namespace_fails_the_create_with_that_message() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let missing = format!("absent-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let cp = TestControlPlane::start_on(
        platform(&cluster, &missing, free_port()).await,
        PROBE_TIMEOUT,
    )
    .await;
    let spec = spec("lost");
    let input = cp.reserve("create-lost", &spec).await;
    cp.start_create("create-lost", input).await;
    let message = failure_message(&cp.wait("create-lost", Duration::from_secs(60)).await);
    assert!(
        message.contains(&format!("namespace \"{missing}\" does not exist")),
        "{message}"
    );
    assert_eq!(
        everything_labelled(&cluster, &missing, &spec.name).await,
        Vec::<String>::new()
    );
    cp.shutdown().await;
}

#[test]
fn object_names_follow_the_instance() {
    let name = InstanceName::parse("shop").unwrap();
    assert_eq!(objects::credentials_secret_name(&name), "shop-credentials");
    assert_eq!(objects::pod_name(&name), "shop-0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_load_balancer_an_instance_is_ready_once_it_has_an_address() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let namespace = cluster.new_namespace().await;
    let config = KubernetesConfig {
        namespace: namespace.clone(),
        service_type: ServiceType::LoadBalancer,
        endpoint: EndpointMode::LoadBalancer,
        ..KubernetesConfig::default()
    };
    let platform = KubernetesPlatform::connect(cluster.client.clone(), config)
        .await
        .expect("the platform and its CA");
    let spec = spec("balanced");
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();
    cluster.kubelet(&namespace).mark_ready(&spec.name).await;
    match platform.status(&spec.name).await.unwrap() {
        InstanceStatus::NotReady { reason } => {
            assert!(reason.contains("load balancer"), "{reason}")
        }
        other => panic!("ready without an address: {other:?}"),
    }

    // What a cloud controller does once the balancer exists.
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), &namespace);
    let status = serde_json::json!({ "status": { "loadBalancer": { "ingress": [{ "ip": "203.0.113.7" }] } } });
    services
        .patch_status(
            "balanced",
            &Default::default(),
            &kube::api::Patch::Merge(status),
        )
        .await
        .unwrap();
    assert_eq!(
        platform.status(&spec.name).await.unwrap(),
        InstanceStatus::Ready
    );
    let endpoint = platform.endpoint(&spec.name).await.unwrap();
    assert_eq!(
        (endpoint.host.as_str(), endpoint.port),
        ("203.0.113.7", 5432)
    );
    let service = services.get("balanced").await.unwrap();
    assert_eq!(service.spec.unwrap().type_.as_deref(), Some("LoadBalancer"));
    platform.delete(&spec.name, Whose::Any).await.unwrap();
    assert_eq!(
        everything_labelled(&cluster, &namespace, &spec.name).await,
        Vec::<String>::new()
    );
}

/// Stop scales the StatefulSet to 0 and waits for the pod to go; a redeploy (as after a
/// crash) leaves the replicas alone, since another field manager owns them; start scales
/// back to 1 on the same volume and password; restart changes the pod template's
/// annotation and waits for the new pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_start_and_restart_on_kubernetes() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let namespace = cluster.new_namespace().await;
    let port = free_port();
    let cp =
        TestControlPlane::start_on(platform(&cluster, &namespace, port).await, PROBE_TIMEOUT).await;
    let kubelet = cluster.kubelet(&namespace);
    let spec = spec("kday");
    let mut input = cp.reserve("create-kday", &spec).await;
    input.health_check_interval_secs = 3600;
    let record = input.record_id;
    cp.start_create("create-kday", input).await;
    let database = kubelet.run_ready(&spec.name, port).await;
    cp.wait("create-kday", Duration::from_secs(120)).await;
    let state = |expected: InstanceState| {
        let pool = cp.db.pool.clone();
        async move {
            let record = cms::instances::get(&pool, record).await.unwrap().unwrap();
            assert_eq!(record.state, expected);
        }
    };
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &namespace);
    let sets: Api<StatefulSet> = Api::namespaced(cluster.client.clone(), &namespace);

    let stop = cp
        .start_operation(
            RecordOperation::Stop,
            orchestrations::STOP_INSTANCE,
            InstanceState::Stopping,
            record,
            &spec.name,
        )
        .await;
    kubelet.wait_for_replicas(&spec.name, 0).await;
    kubelet.delete_pod(&spec.name).await;
    database.stop().await;
    let stopped: OperationOutput = completed_output(&cp.wait(&stop, Duration::from_secs(60)).await);
    assert_eq!(stopped.state, InstanceState::Stopped);
    state(InstanceState::Stopped).await;
    let owners: Vec<String> = sets
        .get("kday")
        .await
        .unwrap()
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        owners.contains(&"toygres-replicas".to_string()),
        "{owners:?}"
    );
    // A redeploy of the main objects leaves the replicas to their own manager.
    cp.platform.deploy(&spec, record).await.unwrap();
    kubelet.wait_for_replicas(&spec.name, 0).await;

    let start = cp
        .start_operation(
            RecordOperation::Start,
            orchestrations::START_INSTANCE,
            InstanceState::Starting,
            record,
            &spec.name,
        )
        .await;
    kubelet.wait_for_replicas(&spec.name, 1).await;
    let database = kubelet.run_ready(&spec.name, port).await;
    let started: OperationOutput =
        completed_output(&cp.wait(&start, Duration::from_secs(60)).await);
    assert_eq!(started.state, InstanceState::Running);
    state(InstanceState::Running).await;
    let first_pod = pods.get("kday-0").await.unwrap().metadata.uid;

    let restart = cp
        .start_operation(
            RecordOperation::Restart,
            orchestrations::RESTART_INSTANCE,
            InstanceState::Restarting,
            record,
            &spec.name,
        )
        .await;
    let token = kubelet.wait_for_restart(&spec.name).await;
    kubelet.delete_pod(&spec.name).await;
    kubelet.mark_ready(&spec.name).await;
    let restarted: OperationOutput =
        completed_output(&cp.wait(&restart, Duration::from_secs(60)).await);
    assert_eq!(restarted.state, InstanceState::Running);
    let pod = pods.get("kday-0").await.unwrap();
    assert_ne!(pod.metadata.uid, first_pod, "a new pod");
    assert_eq!(
        pod.metadata.annotations.unwrap()[objects::RESTART_ANNOTATION],
        token
    );
    use InstanceState::*;
    assert_eq!(
        transitions(&cp.db.pool, record).await,
        [
            Creating, Running, Stopping, Stopped, Starting, Running, Restarting, Running
        ]
    );
    database.stop().await;
    cp.shutdown().await;
}
