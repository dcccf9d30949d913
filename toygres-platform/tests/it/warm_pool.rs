//! The local platform's warm pool, with real `initdb` and real servers: a deploy takes a
//! pre-initialised directory and its own password, a half-made directory is never handed
//! out, and a deploy interrupted mid-adoption finishes it.

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use toygres_domain::{DatabaseName, RoleName};
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{Access, Endpoint, Login, Platform};
use toygres_test_support::control_plane::spec;
use toygres_test_support::scratch;
use uuid::Uuid;

fn platform() -> LocalPlatform {
    LocalPlatform::new(scratch::subdir("warm"), PgBinaries::discover(None).unwrap()).unwrap()
}

fn major() -> u32 {
    PgBinaries::discover(None).unwrap().newest().major
}

/// Whether `login` of `name` logs in (over TLS, verified against the platform's CA).
async fn logs_in(
    platform: &LocalPlatform,
    name: &toygres_domain::InstanceName,
    login: Login,
) -> bool {
    let endpoint: Endpoint = platform.endpoint(name).await.unwrap();
    let credentials = platform.credentials(name, login).await.unwrap();
    match PgConnection::connect_with(&credentials.connect_options(&endpoint)).await {
        Ok(connection) => {
            let _ = connection.close().await;
            true
        }
        Err(_) => false,
    }
}

/// Whether the instance has a role or database of that name (asked as its monitor).
async fn has(
    platform: &LocalPlatform,
    name: &toygres_domain::InstanceName,
    sql: &str,
    what: &str,
) -> bool {
    let endpoint = platform.endpoint(name).await.unwrap();
    let credentials = platform.credentials(name, Login::Monitor).await.unwrap();
    let mut connection = PgConnection::connect_with(&credentials.connect_options(&endpoint))
        .await
        .unwrap();
    let found: Option<i32> = sqlx::query_scalar(sql)
        .bind(what)
        .fetch_optional(&mut connection)
        .await
        .unwrap();
    found.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_takes_a_warm_directory_with_the_instances_own_logins() {
    let platform = platform();
    let filled = platform.fill_warm_pool(2).await.unwrap();
    assert_eq!((filled.ready, filled.made), (2, 2));

    let spec = spec("warmed");
    let deployed = platform.deploy(&spec, Uuid::new_v4()).await.unwrap();
    assert!(deployed.from_warm_pool);
    assert_eq!(platform.warm_pool_ready(), 1);
    for login in [Login::Owner, Login::Monitor] {
        assert!(logs_in(&platform, &spec.name, login).await, "{login:?}");
    }
    assert!(
        !logs_in(&platform, &spec.name, Login::Superuser).await,
        "no superuser over TCP without superuser access"
    );
    assert!(!platform.instance_dir(&spec.name).join("claimed").exists());

    // A second deploy of the same instance is a no-op; the pool refills to its size.
    let again = platform.deploy(&spec, Uuid::new_v4()).await.unwrap();
    assert!(!again.from_warm_pool);
    let refilled = platform.fill_warm_pool(2).await.unwrap();
    assert_eq!((refilled.ready, refilled.made), (2, 1));
    platform.delete(&spec.name).await.unwrap();
}

/// A warm directory is made with the default owner and database: an instance that asked
/// for other names gets them, and no trace of the defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_directory_takes_the_names_the_instance_asked_for() {
    let platform = platform();
    platform.fill_warm_pool(1).await.unwrap();
    let spec = toygres_platform::InstanceSpec {
        access: Access {
            owner: RoleName::parse("shop").unwrap(),
            database: DatabaseName::parse("orders").unwrap(),
            superuser_access: false,
        },
        ..spec("renamed")
    };
    assert!(
        platform
            .deploy(&spec, Uuid::new_v4())
            .await
            .unwrap()
            .from_warm_pool
    );
    let endpoint = platform.endpoint(&spec.name).await.unwrap();
    assert_eq!(
        (endpoint.user.as_str(), endpoint.database.as_str()),
        ("shop", "orders")
    );
    assert!(logs_in(&platform, &spec.name, Login::Owner).await);
    let role = "SELECT 1 FROM pg_roles WHERE rolname = $1";
    let database = "SELECT 1 FROM pg_database WHERE datname = $1";
    assert!(has(&platform, &spec.name, role, "shop").await);
    assert!(!has(&platform, &spec.name, role, "app").await);
    assert!(has(&platform, &spec.name, database, "orders").await);
    assert!(!has(&platform, &spec.name, database, "app").await);
    platform.delete(&spec.name).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_made_directory_is_discarded_never_handed_out() {
    let platform = platform();
    let half_made = platform.warm_pool_dir(major()).join("crashed.making");
    std::fs::create_dir_all(half_made.join("data")).unwrap();
    assert_eq!(platform.warm_pool_ready(), 0, "not counted as ready");
    let spec = spec("cold");
    let deployed = platform.deploy(&spec, Uuid::new_v4()).await.unwrap();
    assert!(!deployed.from_warm_pool);
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

    let deployed = platform.deploy(&spec, Uuid::new_v4()).await.unwrap();
    assert!(deployed.from_warm_pool);
    assert!(logs_in(&platform, &spec.name, Login::Owner).await);
    assert!(!dir.join("claimed").exists());
    platform.delete(&spec.name).await.unwrap();
}
