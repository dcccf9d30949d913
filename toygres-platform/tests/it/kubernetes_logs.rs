//! An instance's server log on Kubernetes is its pod's container log, read through the
//! API as `kubectl logs` reads it. The test plays the kubelet: a real PostgreSQL behind
//! pod `<name>-0`, and the kubelet's `pods/{pod}/log` (which the test API server has not)
//! serving that server's log with the stamps a container runtime adds.

use std::time::Duration;

use sqlx::Connection;
use toygres_platform::kubernetes::KubernetesPlatform;
use toygres_platform::kubernetes::config::{EndpointMode, KubernetesConfig};
use toygres_platform::kubernetes::objects;
use toygres_platform::{LogRead, LogStart, Platform, PlatformError};
use toygres_test_support::control_plane::spec;
use toygres_test_support::database::free_port;
use toygres_test_support::eventually;
use toygres_test_support::kubelet_log::KubeletLogProxy;
use toygres_test_support::kubernetes::TestCluster;

const READY: &str = "database system is ready to accept connections";
const REFUSED: &str = "password authentication failed for user \"postgres\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_log_is_the_pods_log_read_in_bounded_steps() {
    let Some(cluster) = TestCluster::connect().await else {
        return;
    };
    let namespace = cluster.new_namespace().await;
    let kubelet = cluster.kubelet(&namespace);
    let proxy = KubeletLogProxy::start().await;
    let port = free_port();
    let config = KubernetesConfig {
        namespace: namespace.clone(),
        endpoint: EndpointMode::Fixed {
            host: "127.0.0.1".into(),
            port,
        },
        ..KubernetesConfig::default()
    };
    let platform = KubernetesPlatform::connect(proxy.client(), config)
        .await
        .expect("the platform");
    let spec = spec("klog");
    let name = &spec.name;
    let pod = objects::pod_name(name);
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();
    let database = kubelet.run_ready(name, port).await;
    proxy.serve(&namespace, &pod, database.log_file());

    // A tail: the last lines, whole, without the runtime's stamps.
    let last = platform
        .read_log(name, LogStart::Tail { lines: 1 })
        .await
        .unwrap();
    assert_eq!(last.text.lines().count(), 1, "{}", last.text);
    let tail = platform
        .read_log(name, LogStart::Tail { lines: 100 })
        .await
        .unwrap();
    assert!(tail.text.contains(READY), "{}", tail.text);
    assert!(tail.text.ends_with(&last.text), "{}", tail.text);
    let stamped = |line: &str| {
        let first = line.split(' ').next().unwrap_or_default();
        chrono::DateTime::parse_from_rfc3339(first).is_ok()
    };
    assert!(!tail.text.lines().any(stamped), "{}", tail.text);

    // What the server writes next, and only that, comes after the cursor.
    let wrong = format!("postgres://postgres:wrong@127.0.0.1:{port}/postgres");
    sqlx::postgres::PgConnection::connect(&wrong)
        .await
        .expect_err("a wrong password is refused");
    let after = read_until(&platform, name, tail.next, REFUSED).await;
    assert!(!after.text.contains(READY), "{}", after.text);
    let quiet = platform
        .read_log(name, LogStart::After(after.next))
        .await
        .unwrap();
    assert_eq!(quiet.text, "", "nothing new, nothing handed out twice");

    // A pod replaced (a restart) is read from its start.
    kubelet.delete_pod(name).await;
    database.stop().await;
    let database = kubelet.run_ready(name, port).await;
    proxy.serve(&namespace, &pod, database.log_file());
    let next_pod = read_until(&platform, name, quiet.next, READY).await;
    assert_ne!(next_pod.next.file, quiet.next.file, "another pod");
    assert!(!next_pod.text.contains(REFUSED), "{}", next_pod.text);

    // No pod: nothing to read.
    kubelet.delete_pod(name).await;
    database.stop().await;
    let gone = platform.read_log(name, LogStart::Tail { lines: 10 }).await;
    assert!(matches!(gone, Err(PlatformError::NotFound(_))), "{gone:?}");
}

/// Reads after `cursor` until the text read has `wanted`.
async fn read_until(
    platform: &KubernetesPlatform,
    name: &toygres_domain::InstanceName,
    cursor: toygres_platform::LogCursor,
    wanted: &str,
) -> LogRead {
    let what = format!("a log line with {wanted:?}");
    eventually(&what, Duration::from_secs(30), || async {
        let read = platform
            .read_log(name, LogStart::After(cursor))
            .await
            .unwrap();
        read.text.contains(wanted).then_some(read)
    })
    .await
}
