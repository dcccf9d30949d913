//! Local platform edges that the workflows rely on.

use std::os::unix::fs::MetadataExt;

use toygres_domain::InstanceName;
use toygres_platform::Whose;
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{InstanceStatus, Login, Platform, PlatformError};
use toygres_test_support::scratch;

fn platform() -> LocalPlatform {
    LocalPlatform::new(
        scratch::subdir("edges"),
        PgBinaries::discover(None).unwrap(),
    )
    .unwrap()
}

#[test]
fn a_relative_root_is_made_absolute() {
    // PostgreSQL tools run in the instance directory: a relative path would break them.
    let relative =
        std::path::PathBuf::from(format!("target/toygres-relative-{}", std::process::id()));
    let platform =
        LocalPlatform::new(relative.clone(), PgBinaries::discover(None).unwrap()).unwrap();
    assert!(
        platform.root().is_absolute(),
        "{}",
        platform.root().display()
    );
    assert!(platform.root().ends_with(&relative));
    std::fs::remove_dir_all(platform.root()).unwrap();
}

#[tokio::test]
async fn an_unknown_instance_is_missing_and_deleting_it_succeeds() {
    let platform = platform();
    let name = InstanceName::parse("nobody").unwrap();
    assert_eq!(
        platform.status(&name).await.unwrap(),
        InstanceStatus::Missing
    );
    assert!(matches!(
        platform.endpoint(&name).await,
        Err(PlatformError::NotFound(_))
    ));
    assert!(matches!(
        platform.credentials(&name, Login::Owner).await,
        Err(PlatformError::NotFound(_))
    ));
    platform
        .delete(&name, Whose::Any)
        .await
        .expect("deleting nothing succeeds");
    platform
        .stop(&name, Whose::Any)
        .await
        .expect("stopping nothing succeeds");
}

/// A server started by a version of Toygres without backups (no private socket, no WAL
/// archiving, initdb's password-only authentication) refuses a backup with what to do;
/// after one restart, which rewrites its settings, it is backed up.
#[tokio::test]
async fn an_instance_started_before_backups_is_backed_up_after_one_restart() {
    let platform = platform();
    let spec = toygres_test_support::control_plane::spec("elder");
    let name = spec.name.clone();
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();
    let account = platform.os_account(&name).await.unwrap();
    let port = platform.endpoint(&name).await.unwrap().port;
    platform.stop(&name, Whose::Any).await.unwrap();
    let data = platform.instance_dir(&name).join("data");
    std::fs::write(
        data.join("toygres.conf"),
        format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n\
             password_encryption = 'scram-sha-256'\n"
        ),
    )
    .unwrap();
    std::fs::remove_file(data.join("toygres_hba.conf")).unwrap();
    // What an earlier version recorded: no TLS.
    let file = platform.instance_dir(&name).join("instance.json");
    let mut recorded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    recorded["tls"] = serde_json::Value::Bool(false);
    std::fs::write(&file, serde_json::to_vec(&recorded).unwrap()).unwrap();
    let pg_ctl = PgBinaries::discover(None).unwrap().newest().tool("pg_ctl");
    let mut start = std::process::Command::new("runuser");
    match &account {
        Some(account) => start.args(["-u", account, "--"]).arg(pg_ctl),
        None => start.arg("-u").arg(whoami()).arg("--").arg(pg_ctl),
    };
    let started = start
        .args(["start", "-w", "-s", "-D"])
        .arg(&data)
        .arg("-l")
        .arg(platform.instance_dir(&name).join("postgres.log"))
        .status()
        .unwrap();
    assert!(started.success());

    let stanza = format!("elder-{}", uuid::Uuid::new_v4().simple());
    match platform.backup(&name, &stanza, "first").await {
        Err(PlatformError::Unsupported(message)) => {
            assert!(message.contains("restart it once"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    platform
        .restart(&name, Whose::Any, "upgrade")
        .await
        .unwrap();
    let set = platform.backup(&name, &stanza, "first").await.unwrap();
    assert_eq!(set.request.as_deref(), Some("first"));
    platform.remove_backup(&stanza, &set.label).await.unwrap();
    platform.delete(&name, Whose::Any).await.unwrap();
}

fn whoami() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .map_or_else(|| "root".into(), |user| user.name)
}

/// A pid file is not proof: after a crash or a reboot its pid may belong to any process.
/// A stopped instance whose `postmaster.pid` names a live stranger is started (not taken
/// for running), and deleting it leaves the stranger alone.
#[tokio::test]
async fn a_stale_pid_file_naming_a_stranger_neither_skips_a_start_nor_gets_it_killed() {
    let platform = platform();
    let spec = toygres_test_support::control_plane::spec("stale");
    let name = spec.name.clone();
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();
    platform.stop(&name, Whose::Any).await.unwrap();
    let mut stranger = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let data = platform.instance_dir(&name).join("data");
    let pid_file = data.join("postmaster.pid");
    std::fs::write(
        &pid_file,
        format!("{}\n{}\n", stranger.id(), data.display()),
    )
    .unwrap();

    platform.start(&name, Whose::Any).await.unwrap();
    assert_eq!(
        platform.status(&name).await.unwrap(),
        InstanceStatus::Ready,
        "the start started the server"
    );
    platform.delete(&name, Whose::Any).await.unwrap();
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "the stranger was never signalled"
    );
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

/// The probe's own login (TLS with the platform's CA, SCRAM) logs in where it should and
/// nowhere else: a wrong password, a CA that did not sign the server's certificate, or a
/// host the certificate does not name are each refused. As the monitor it also reads the
/// WAL archiver, and the platform measures the disk under the instance.
#[tokio::test]
async fn the_probe_logs_in_over_verified_tls_only() {
    use std::time::Duration;
    use toygres_platform::certificates::CertificateAuthority;
    use toygres_platform::probe::select_one;
    use toygres_platform::{Credentials, Tls};

    let platform = platform();
    let spec = toygres_test_support::control_plane::spec("probed");
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();
    let endpoint = platform.endpoint(&spec.name).await.unwrap();
    assert_eq!(endpoint.tls, Tls::VerifyFull);
    let timeout = Duration::from_secs(5);
    for login in [Login::Owner, Login::Monitor] {
        let credentials = platform.credentials(&spec.name, login).await.unwrap();
        select_one(&endpoint, &credentials, timeout)
            .await
            .unwrap_or_else(|e| panic!("{login:?}: {e}"));
    }
    let monitor = platform
        .credentials(&spec.name, Login::Monitor)
        .await
        .unwrap();
    let vitals = toygres_platform::probe::vitals(&endpoint, &monitor, timeout)
        .await
        .unwrap();
    assert!(!vitals.archiving.failing, "{vitals:?}");
    assert_eq!(vitals.archiving.failed_count, 0, "{vitals:?}");
    let disk = platform.disk_usage(&spec.name).await.unwrap().unwrap();
    assert!(
        disk.total_bytes > 0 && disk.available_bytes <= disk.total_bytes,
        "{disk:?}"
    );
    let owner = platform
        .credentials(&spec.name, Login::Owner)
        .await
        .unwrap();
    let ca = owner.root_certificate.clone().unwrap();
    let wrong = Credentials::new(&owner.user, "not-the-password", &owner.database).verified_by(&ca);
    let refused = select_one(&endpoint, &wrong, timeout).await.unwrap_err();
    assert!(
        refused.contains("password authentication failed"),
        "{refused}"
    );
    let stranger = CertificateAuthority::generate().unwrap();
    let fooled = owner.clone().verified_by(stranger.trusted());
    let refused = select_one(&endpoint, &fooled, timeout).await.unwrap_err();
    assert!(refused.contains("TLS"), "{refused}");
    let elsewhere = toygres_platform::Endpoint {
        host: "localhost".into(),
        ..endpoint.clone()
    };
    let refused = select_one(&elsewhere, &owner, timeout).await.unwrap_err();
    assert!(
        refused.contains("TLS"),
        "a name the certificate lacks: {refused}"
    );
    platform.delete(&spec.name, Whose::Any).await.unwrap();
    assert_eq!(platform.disk_usage(&spec.name).await.unwrap(), None);
}

/// A retried backup meets the pgBackRest of the attempt before it, killed but still
/// holding the stanza's lock for a moment: the retry waits for the lock instead of failing
/// for good on it ("unable to acquire lock ... is another pgBackRest process running?").
#[tokio::test]
async fn a_backup_waits_for_an_earlier_pgbackrest_to_let_go_of_the_stanzas_lock() {
    let platform = platform();
    if platform.backup_support().is_err() {
        toygres_test_support::skip_or_fail_in_ci("pgBackRest is not installed");
        return;
    }
    let spec = toygres_test_support::control_plane::spec("relocked");
    let name = spec.name.clone();
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();
    let stanza = format!("relocked-{}", uuid::Uuid::new_v4().simple());
    let first = platform.backup(&name, &stanza, "first").await.unwrap();

    let lock_dir = platform
        .root()
        .join(".backups/stanzas")
        .join(&stanza)
        .join("lock");
    let lock = lock_dir.join(format!("{stanza}-backup.lock"));
    let held = std::fs::File::create(&lock).unwrap();
    let owner = std::fs::metadata(&lock_dir).unwrap();
    std::os::unix::fs::chown(&lock, Some(owner.uid()), Some(owner.gid())).unwrap();
    held.lock().unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        held.unlock().unwrap();
    });
    let second = platform.backup(&name, &stanza, "second").await.unwrap();
    assert!(
        release.is_finished(),
        "the backup started while the lock was held"
    );
    assert_eq!(second.request.as_deref(), Some("second"));

    for set in [first, second] {
        platform.remove_backup(&stanza, &set.label).await.unwrap();
    }
    platform.delete(&name, Whose::Any).await.unwrap();
}

/// Names are reused once an instance is deleted: a late call for the record that had the
/// name before (a retried step of an operation that ended) leaves the newer record's
/// instance alone (a delete or a stop finds nothing of its record, the others are
/// refused), and a deploy never takes over another record's instance. Each record's
/// instance has a directory of its own, which the name links to.
#[tokio::test]
async fn a_late_call_for_an_older_record_leaves_a_newer_instance_alone() {
    let platform = platform();
    let spec = toygres_test_support::control_plane::spec("reused");
    let name = spec.name.clone();
    let (older, newer) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    platform.deploy(&spec, older).await.unwrap();
    let older_dir = platform.instance_dir(&name);
    platform.delete(&name, Whose::Record(older)).await.unwrap();
    assert!(!older_dir.exists());
    platform.deploy(&spec, newer).await.unwrap();
    let port = platform.endpoint(&name).await.unwrap().port;
    let newer_dir = platform.instance_dir(&name);
    assert_eq!(
        newer_dir,
        platform.root().join(".records").join(newer.to_string()),
        "each record has a directory of its own"
    );
    assert_ne!(older_dir, newer_dir);
    assert!(
        platform.root().join(name.as_str()).is_symlink(),
        "the name links to it"
    );

    platform.delete(&name, Whose::Record(older)).await.unwrap();
    platform.stop(&name, Whose::Record(older)).await.unwrap();
    for refused in [
        platform.start(&name, Whose::Record(older)).await,
        platform.restart(&name, Whose::Record(older), "late").await,
        platform
            .set_superuser_access(&name, Whose::Record(older), true)
            .await,
        platform.finish_restore(&name, Whose::Record(older)).await,
    ] {
        assert!(
            matches!(&refused, Err(PlatformError::NotFound(message)) if message.contains("another record")),
            "{refused:?}"
        );
    }
    let taken = platform.deploy(&spec, older).await.unwrap_err();
    assert!(taken.to_string().contains("another record"), "{taken}");
    assert_eq!(
        platform.status(&name).await.unwrap(),
        InstanceStatus::Ready,
        "the newer instance still runs"
    );
    assert_eq!(platform.endpoint(&name).await.unwrap().port, port);

    platform.stop(&name, Whose::Record(newer)).await.unwrap();
    platform.delete(&name, Whose::Record(newer)).await.unwrap();
    assert_eq!(
        platform.status(&name).await.unwrap(),
        InstanceStatus::Missing
    );
    assert!(!newer_dir.exists());
    assert!(
        std::fs::symlink_metadata(platform.root().join(name.as_str())).is_err(),
        "the name's link goes with the directory"
    );
}

/// Every instance writes hint bits to its WAL (`wal_log_hints`), which pg_rewind needs to
/// bring a former primary back as a standby after a failover instead of cloning it again.
#[tokio::test]
async fn every_instance_can_be_rewound() {
    use sqlx::Connection;
    let platform = platform();
    let spec = toygres_test_support::control_plane::spec("rewindable");
    platform.deploy(&spec, uuid::Uuid::new_v4()).await.unwrap();
    let endpoint = platform.endpoint(&spec.name).await.unwrap();
    let owner = platform
        .credentials(&spec.name, Login::Owner)
        .await
        .unwrap();
    let mut connection =
        sqlx::postgres::PgConnection::connect_with(&owner.connect_options(&endpoint))
            .await
            .unwrap();
    let hints: String = sqlx::query_scalar("SHOW wal_log_hints")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    assert_eq!(hints, "on");
    platform.delete(&spec.name, Whose::Any).await.unwrap();
}
