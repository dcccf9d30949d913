//! An instance as the release before owner roles, TLS and OS accounts per instance left it
//! on the local platform, made by hand the way that release made it: its directory owned
//! by the account PostgreSQL runs as (`postgres` as root), `instance.json` with its port
//! and version only, the superuser's password in `password`, `initdb` with scram, its own
//! rules (trust on a private socket, scram over TCP, no TLS), and a running server. For
//! the tests that prove such an instance keeps working after the upgrade.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::local::cluster::{Auth, ClusterSettings, PgCluster};
use toygres_platform::local::os_user;
use toygres_platform::password;

/// The instance's port and superuser password.
pub struct LegacyInstance {
    pub port: u16,
    pub password: String,
}

/// Makes instance `name` under the platform directory `instances` and starts its server.
pub async fn make(instances: &Path, name: &str, port: u16) -> LegacyInstance {
    let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
    let install = binaries.newest().clone();
    let run_as = os_user::detect().expect("the account PostgreSQL ran as");
    let dir = instances.join(name);
    std::fs::create_dir_all(&dir).expect("the instance directory");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let password = password::generate();
    let password_file = dir.join("password");
    std::fs::write(&password_file, &password).unwrap();
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let instance_file = serde_json::json!({ "port": port, "postgres_major": install.major });
    std::fs::write(dir.join("instance.json"), instance_file.to_string()).unwrap();
    let socket = toygres_platform::local::socket_dir_of_earlier_version(&dir);
    std::fs::create_dir_all(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o700)).unwrap();
    if let Some(run_as) = &run_as {
        for path in [&dir, &password_file, &socket] {
            run_as.give(path).expect("chown to the shared account");
        }
    }
    let data = dir.join("data");
    let cluster = PgCluster::new(data.clone(), install, run_as);
    cluster
        .init("postgres", &Auth::Password(password_file))
        .await
        .expect("initdb");
    let hba = data.join("toygres_hba.conf");
    std::fs::write(
        &hba,
        "# Written by Toygres; rewritten at every start.\nlocal all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    if let Some(run_as) = &run_as {
        run_as.give(&hba).unwrap();
    }
    let quoted = |path: &Path| format!("'{}'", path.display());
    cluster
        .configure(&ClusterSettings {
            port,
            extra: vec![
                ("unix_socket_directories".into(), quoted(&socket)),
                ("unix_socket_permissions".into(), "0700".into()),
                ("hba_file".into(), quoted(&hba)),
            ],
            tenant: Vec::new(),
        })
        .await
        .expect("the earlier release's settings");
    cluster
        .start(&dir.join("postgres.log"), Some(Duration::from_secs(60)))
        .await
        .expect("start the server");
    LegacyInstance { port, password }
}
