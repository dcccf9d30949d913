//! The local platform's warm pool, with real `initdb` and real servers: a deploy takes a
//! pre-initialised directory and its own password, a half-made directory is never handed
//! out, and a deploy interrupted mid-adoption finishes it.

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{Credentials, Endpoint, Platform};
use toygres_test_support::control_plane::spec;
use toygres_test_support::scratch;

fn platform() -> LocalPlatform {
    LocalPlatform::new(scratch::subdir("warm"), PgBinaries::discover(None).unwrap()).unwrap()
}

fn major() -> u32 {
    PgBinaries::discover(None).unwrap().newest().major
}

async fn logs_in(endpoint: &Endpoint, user: &str, password: &str) -> bool {
    let options = PgConnectOptions::new()
        .host(&endpoint.host)
        .port(endpoint.port)
        .username(user)
        .password(password)
        .database(&endpoint.database);
    match PgConnection::connect_with(&options).await {
        Ok(connection) => {
            let _ = connection.close().await;
            true
        }
        Err(_) => false,
    }
}

fn bootstrap_passwords(platform: &LocalPlatform) -> Vec<String> {
    std::fs::read_dir(platform.warm_pool_dir(major()))
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("bootstrap-password")).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_takes_a_warm_directory_and_the_instances_own_password() {
    let platform = platform();
    let filled = platform.fill_warm_pool(2).await.unwrap();
    assert_eq!((filled.ready, filled.made), (2, 2));
    let bootstraps = bootstrap_passwords(&platform);
    assert_eq!(bootstraps.len(), 2);

    let spec = spec("warmed");
    let deployed = platform.deploy(&spec).await.unwrap();
    assert!(deployed.from_warm_pool);
    assert_eq!(platform.warm_pool_ready(), 1);
    let endpoint = platform.endpoint(&spec.name).await.unwrap();
    let credentials: Credentials = platform.credentials(&spec.name).await.unwrap();
    assert!(logs_in(&endpoint, &credentials.user, credentials.password()).await);
    for bootstrap in &bootstraps {
        assert!(
            !logs_in(&endpoint, &credentials.user, bootstrap).await,
            "a pool's bootstrap password is never an instance's"
        );
    }
    assert!(!platform.instance_dir(&spec.name).join("claimed").exists());

    // A second deploy of the same instance is a no-op; the pool refills to its size.
    assert!(!platform.deploy(&spec).await.unwrap().from_warm_pool);
    let refilled = platform.fill_warm_pool(2).await.unwrap();
    assert_eq!((refilled.ready, refilled.made), (2, 1));
    platform.delete(&spec.name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_made_directory_is_discarded_never_handed_out() {
    let platform = platform();
    let half_made = platform.warm_pool_dir(major()).join("crashed.making");
    std::fs::create_dir_all(half_made.join("data")).unwrap();
    assert_eq!(platform.warm_pool_ready(), 0, "not counted as ready");
    let spec = spec("cold");
    assert!(!platform.deploy(&spec).await.unwrap().from_warm_pool);
    platform.fill_warm_pool(1).await.unwrap();
    assert!(!half_made.exists());
    assert_eq!(platform.warm_pool_ready(), 1);
    platform.delete(&spec.name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_interrupted_after_its_claim_finishes_the_adoption() {
    let platform = platform();
    platform.fill_warm_pool(1).await.unwrap();
    let entry = std::fs::read_dir(platform.warm_pool_dir(major()))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // Where a deploy that died right after its claim left things.
    let spec = spec("resumed");
    let dir = platform.instance_dir(&spec.name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::rename(&entry, dir.join("claimed")).unwrap();

    assert!(platform.deploy(&spec).await.unwrap().from_warm_pool);
    let endpoint = platform.endpoint(&spec.name).await.unwrap();
    let credentials = platform.credentials(&spec.name).await.unwrap();
    assert!(logs_in(&endpoint, &credentials.user, credentials.password()).await);
    assert!(!dir.join("claimed").exists());
    platform.delete(&spec.name).await.unwrap();
}
