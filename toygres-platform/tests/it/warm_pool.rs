//! The local platform's warm pool, with real `initdb` and real servers: a deploy takes a
//! pre-initialised entry (data, logins, OS account) and the names it asked for, a half-made
//! entry is never handed out (and its account goes), and a deploy interrupted mid-adoption
//! finishes it.

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use toygres_domain::{DatabaseName, RoleName};
use toygres_platform::Whose;
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{Access, Endpoint, Login, Platform};
use toygres_test_support::control_plane::spec;
use toygres_test_support::{scratch, skip_or_fail_in_ci};
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
    let record = Uuid::new_v4();
    let deployed = platform.deploy(&spec, record).await.unwrap();
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
    let again = platform.deploy(&spec, record).await.unwrap();
    assert!(!again.from_warm_pool);
    let refilled = platform.fill_warm_pool(2).await.unwrap();
    assert_eq!((refilled.ready, refilled.made), (2, 1));
    platform.delete(&spec.name, Whose::Any).await.unwrap();
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
    platform.delete(&spec.name, Whose::Any).await.unwrap();
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
    platform.delete(&spec.name, Whose::Any).await.unwrap();
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
    platform.delete(&spec.name, Whose::Any).await.unwrap();
}

/// The OS account each ready entry names (empty when the platform is not root).
fn entry_accounts(platform: &LocalPlatform) -> Vec<(std::path::PathBuf, String)> {
    std::fs::read_dir(platform.warm_pool_dir(major()))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            let account = std::fs::read_to_string(path.join("account")).unwrap();
            (path, account)
        })
        .collect()
}

fn account_exists(name: &str) -> bool {
    nix::unistd::User::from_name(name).unwrap().is_some()
}

/// Whether this process may make OS accounts (only root may); a test that needs them
/// skips elsewhere, and fails in CI, which runs as root.
fn can_make_accounts() -> bool {
    let root = toygres_platform::local::os_user::running_as_root();
    if !root {
        skip_or_fail_in_ci("an OS account per warm-pool entry needs root");
    }
    root
}

/// Each entry is made under an account of its own, which the instance that takes the
/// entry keeps (owning its data) and which goes with the instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_keeps_its_entrys_own_account() {
    if !can_make_accounts() {
        return;
    }
    let platform = platform();
    platform.fill_warm_pool(2).await.unwrap();
    let accounts: Vec<String> = entry_accounts(&platform)
        .into_iter()
        .map(|(_, account)| account)
        .collect();
    assert_eq!(accounts.len(), 2);
    assert_ne!(accounts[0], accounts[1], "one account per entry");
    assert!(accounts.iter().all(|account| account_exists(account)));

    let spec = spec("adopted");
    assert!(
        platform
            .deploy(&spec, Uuid::new_v4())
            .await
            .unwrap()
            .from_warm_pool
    );
    let account = platform.os_account(&spec.name).await.unwrap().unwrap();
    assert!(accounts.contains(&account), "{account} is not an entry's");
    let owner = nix::unistd::User::from_name(&account).unwrap().unwrap().uid;
    let data = platform.instance_dir(&spec.name).join("data");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&data).unwrap().uid(), owner.as_raw());
    assert!(logs_in(&platform, &spec.name, Login::Owner).await);

    platform.delete(&spec.name, Whose::Any).await.unwrap();
    assert!(
        !account_exists(&account),
        "the account goes with its instance"
    );
}

/// An entry a crash left unfinished is discarded at the next fill, and its account too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discarded_entry_takes_its_account_with_it() {
    if !can_make_accounts() {
        return;
    }
    let platform = platform();
    platform.fill_warm_pool(1).await.unwrap();
    let (entry, account) = entry_accounts(&platform).pop().unwrap();
    // Where a fill that died after making the account left things.
    std::fs::remove_file(entry.join("ready")).unwrap();
    let half_made = entry.with_extension("making");
    std::fs::rename(&entry, &half_made).unwrap();
    assert_eq!(platform.warm_pool_ready(), 0);

    platform.fill_warm_pool(1).await.unwrap();
    assert!(!half_made.exists());
    assert!(!account_exists(&account), "{account} outlived its entry");
    assert_eq!(platform.warm_pool_ready(), 1);
}
