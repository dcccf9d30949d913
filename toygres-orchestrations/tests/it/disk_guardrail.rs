//! The guardrail for disk, on a file system of its own: an instance whose disk is nearly
//! full is `degraded`, with the reason and a health event, and healthy again once space is
//! freed.

use std::sync::Arc;
use std::time::Duration;

use toygres_cms as cms;
use toygres_domain::HealthStatus;
use toygres_orchestrations::Dependencies;
use toygres_platform::Platform;
use toygres_platform::Whose;
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::spec;
use toygres_test_support::skip_or_fail_in_ci;
use toygres_test_support::small_disk::SmallDisk;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nearly_full_disk_degrades_the_instance_until_space_is_freed() {
    let Some(disk) = SmallDisk::mount(256) else {
        return skip_or_fail_in_ci("mounting a small file system needs root");
    };
    let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
    let platform = LocalPlatform::new(disk.path().join("instances"), binaries).unwrap();
    let cp =
        TestControlPlane::start_on(Arc::new(platform), Dependencies::DEFAULT_PROBE_TIMEOUT).await;
    let spec = spec("crowded");
    let mut input = cp.reserve("create-crowded", &spec).await;
    input.health_check_interval_secs = 1;
    let record = input.record_id;
    cp.start_create("create-crowded", input).await;
    cp.wait("create-crowded", Duration::from_secs(120)).await;
    cp.wait_for_health(record, HealthStatus::Healthy, Duration::from_secs(30))
        .await;

    let (total, _) = disk.usage();
    let filler = disk.path().join("filler");
    disk.fill(&filler, total / 20);
    let degraded = cp
        .wait_for_health(record, HealthStatus::Degraded, Duration::from_secs(30))
        .await;
    let reason = degraded.health_reason.unwrap();
    assert!(reason.starts_with("the disk is 9"), "{reason}");
    assert_eq!(degraded.wal_archived_until, None, "archiving is fine");

    std::fs::remove_file(&filler).unwrap();
    let healthy = cp
        .wait_for_health(record, HealthStatus::Healthy, Duration::from_secs(30))
        .await;
    assert_eq!(healthy.health_reason, None);
    let changes: Vec<_> = cms::health::events(&cp.db.pool, record)
        .await
        .unwrap()
        .into_iter()
        .map(|event| (event.from_status, event.to_status))
        .collect();
    assert_eq!(
        changes,
        [
            (HealthStatus::Healthy, HealthStatus::Degraded),
            (HealthStatus::Degraded, HealthStatus::Healthy)
        ]
    );
    cp.platform.delete(&spec.name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}
