//! Backups and restores with real pgBackRest and real servers: a backup restores into a new
//! instance with all its rows and its own password; a point-in-time restore stops exactly
//! where asked; a schedule backs up on time and expires the oldest; a delete during a
//! backup or a restore wins; a node killed in the middle of a backup or a restore finishes
//! it with one backup and one server.

use std::time::Duration;

use duroxide::EventKind;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use toygres_cms::{self as cms, backups};
use toygres_domain::{BackupState, HealthStatus, InstanceState};
use toygres_orchestrations::names::{self, activities, instance_ids, orchestrations};
use toygres_orchestrations::types::v1_2::Restore;
use toygres_orchestrations::types::{
    BackupInput, BackupOutput, BackupScheduleInput, ScheduleSettings,
};
use toygres_platform::Whose;
use toygres_platform::{InstanceSpec, Login, Platform, RestoreFrom, RestoreTarget};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{completed_output, failure_message, in_flight, spec};
use toygres_test_support::eventually;
use toygres_test_support::eventually::eventually_every;
use toygres_test_support::processes::{self, postmasters_for};
use uuid::Uuid;

/// A running instance `name` with table `items` holding `rows` rows, hardly watched; its
/// record id.
async fn instance_with_rows(cp: &TestControlPlane, name: &str, rows: i32) -> Uuid {
    watched_instance_with_rows(cp, name, rows, 3600).await
}

/// As [`instance_with_rows`], its health checked every `interval_secs`.
async fn watched_instance_with_rows(
    cp: &TestControlPlane,
    name: &str,
    rows: i32,
    interval_secs: u64,
) -> Uuid {
    let spec = spec(name);
    let id = format!("create-{name}");
    let mut input = cp.reserve(&id, &spec).await;
    input.health_check_interval_secs = interval_secs;
    cp.start_create(&id, input.clone()).await;
    cp.wait(&id, Duration::from_secs(60)).await;
    execute(
        cp,
        &spec,
        &format!("CREATE TABLE items (n int); INSERT INTO items SELECT generate_series(1, {rows})"),
    )
    .await;
    input.record_id
}

async fn options(cp: &TestControlPlane, spec: &InstanceSpec) -> PgConnectOptions {
    let endpoint = cp.platform.endpoint(&spec.name).await.unwrap();
    let credentials = cp
        .platform
        .credentials(&spec.name, Login::Owner)
        .await
        .unwrap();
    PgConnectOptions::new()
        .host(&endpoint.host)
        .port(endpoint.port)
        .username(&credentials.user)
        .password(credentials.password())
        .database(&endpoint.database)
}

async fn execute(cp: &TestControlPlane, spec: &InstanceSpec, sql: &str) {
    let mut connection = PgConnection::connect_with(&options(cp, spec).await)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
    connection.close().await.unwrap();
}

async fn query_strings(cp: &TestControlPlane, spec: &InstanceSpec, sql: &str) -> Vec<String> {
    let mut connection = PgConnection::connect_with(&options(cp, spec).await)
        .await
        .unwrap();
    let values: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    values
}

/// Reserves a backup of `record` as the API does and starts backup-instance; its id and
/// orchestration id.
async fn start_backup(cp: &TestControlPlane, record: Uuid, name: &str) -> (Uuid, String) {
    let spec = spec(name);
    let backup_id = Uuid::new_v4();
    let orchestration = instance_ids::backup(record, backup_id);
    let stanza = instance_ids::stanza(&spec.name, record);
    backups::reserve(
        &cp.db.pool,
        backup_id,
        record,
        &stanza,
        &orchestration,
        false,
    )
    .await
    .unwrap()
    .expect("a running instance with no backup running");
    let input = BackupInput {
        backup_id,
        record_id: record,
        name: spec.name.clone(),
        stanza,
    };
    cp.client
        .start_orchestration_typed(&orchestration, orchestrations::BACKUP_INSTANCE, input)
        .await
        .unwrap();
    (backup_id, orchestration)
}

/// Creates `name` from `from`, as the API does for a restore; the create's id.
async fn start_restore(
    cp: &TestControlPlane,
    name: &str,
    from: RestoreFrom,
    live_source: Option<&str>,
) -> (String, Uuid) {
    let spec = spec(name);
    let id = format!("create-{name}");
    let mut input = cp.reserve(&id, &spec).await;
    input.health_check_interval_secs = 3600;
    input.restore = Some(Restore {
        from,
        live_source: live_source.map(spec_name),
    });
    cp.start_create(&id, input.clone()).await;
    (id, input.record_id)
}

fn spec_name(name: &str) -> toygres_domain::InstanceName {
    spec(name).name
}

/// Restores `backup` as it was taken.
fn from_backup(backup: &backups::BackupRecord) -> RestoreFrom {
    RestoreFrom {
        stanza: backup.stanza.clone(),
        label: backup.label.clone().unwrap(),
        target: RestoreTarget::EndOfBackup,
    }
}

async fn completed_backup(cp: &TestControlPlane, backup_id: Uuid) -> backups::BackupRecord {
    let backup = backups::get(&cp.db.pool, backup_id).await.unwrap().unwrap();
    assert_eq!(backup.state, BackupState::Completed, "{backup:?}");
    backup
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_into_a_new_instance_with_all_its_rows() {
    let cp = TestControlPlane::start().await;
    let record = instance_with_rows(&cp, "origin", 1000).await;
    let (backup_id, orchestration) = start_backup(&cp, record, "origin").await;
    let done: BackupOutput =
        completed_output(&cp.wait(&orchestration, Duration::from_secs(120)).await);
    assert_eq!(done.state, BackupState::Completed);
    let backup = completed_backup(&cp, backup_id).await;
    assert!(backup.size_bytes.unwrap() > 1_000_000, "{backup:?}");
    assert_eq!(backup.label, done.label);
    // Written after the backup: not in a restore of the backup as taken, in the latest.
    execute(
        &cp,
        &spec("origin"),
        "INSERT INTO items SELECT generate_series(1001, 1500)",
    )
    .await;

    let from = from_backup(&backup);
    let (create, _) = start_restore(&cp, "copy", from, None).await;
    cp.wait(&create, Duration::from_secs(120)).await;
    let copy = spec("copy");
    assert_eq!(
        query_strings(&cp, &copy, "SELECT count(*)::text FROM items").await,
        ["1000"],
        "the backup as taken"
    );
    let latest = RestoreFrom {
        target: RestoreTarget::Latest,
        ..from_backup(&backup)
    };
    let (create, _) = start_restore(&cp, "newest", latest, Some("origin")).await;
    cp.wait(&create, Duration::from_secs(120)).await;
    assert_eq!(
        query_strings(&cp, &spec("newest"), "SELECT count(*)::text FROM items").await,
        ["1500"],
        "everything the running source had written"
    );
    // Its own password: the source's does not log in.
    let source_password = cp
        .platform
        .credentials(&spec_name("origin"), Login::Owner)
        .await
        .unwrap();
    let copy_password = cp
        .platform
        .credentials(&copy.name, Login::Owner)
        .await
        .unwrap();
    assert_ne!(source_password.password(), copy_password.password());
    let with_source_password = options(&cp, &copy)
        .await
        .password(source_password.password());
    assert!(
        PgConnection::connect_with(&with_source_password)
            .await
            .is_err()
    );
    let endpoint = cp.platform.endpoint(&copy.name).await.unwrap();
    assert_ne!(
        endpoint.port,
        cp.platform
            .endpoint(&spec_name("origin"))
            .await
            .unwrap()
            .port
    );
    for name in ["origin", "copy", "newest"] {
        cp.platform
            .delete(&spec_name(name), Whose::Any)
            .await
            .unwrap();
    }
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_in_time_restore_stops_exactly_where_asked() {
    let cp = TestControlPlane::start().await;
    let record = instance_with_rows(&cp, "timeline", 1).await;
    let source = spec("timeline");
    let (backup_id, orchestration) = start_backup(&cp, record, "timeline").await;
    cp.wait(&orchestration, Duration::from_secs(120)).await;
    let backup = completed_backup(&cp, backup_id).await;

    execute(
        &cp,
        &source,
        "CREATE TABLE events (what text); INSERT INTO events VALUES ('A')",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let moment = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    execute(&cp, &source, "INSERT INTO events VALUES ('B')").await;

    let from = RestoreFrom {
        stanza: backup.stanza.clone(),
        label: backup.label.clone().unwrap(),
        target: RestoreTarget::Time { at: moment },
    };
    let (create, _) = start_restore(&cp, "rewound", from, Some("timeline")).await;
    cp.wait(&create, Duration::from_secs(120)).await;
    assert_eq!(
        query_strings(
            &cp,
            &spec("rewound"),
            "SELECT what FROM events ORDER BY what"
        )
        .await,
        ["A"],
        "A was written before the moment, B after"
    );
    for name in ["timeline", "rewound"] {
        cp.platform
            .delete(&spec_name(name), Whose::Any)
            .await
            .unwrap();
    }
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_backs_up_on_time_and_keeps_the_newest() {
    let cp = TestControlPlane::start().await;
    let record = instance_with_rows(&cp, "regular", 10).await;
    let name = spec_name("regular");
    let stanza = instance_ids::stanza(&name, record);
    let schedule = instance_ids::backup_schedule(record);
    let start_schedule = || async {
        cp.client
            .start_orchestration_typed(
                &schedule,
                orchestrations::BACKUP_SCHEDULE,
                BackupScheduleInput {
                    record_id: record,
                    name: name.clone(),
                    stanza: stanza.clone(),
                    settings: ScheduleSettings {
                        every_secs: 2,
                        keep: 2,
                    },
                    generation: Uuid::new_v4(),
                    cycle: 0,
                },
            )
            .await
            .unwrap();
    };
    start_schedule().await;
    let states = eventually(
        "three scheduled backups, one expired",
        Duration::from_secs(120),
        || async {
            let all = backups::list(&cp.db.pool, Some("regular")).await.unwrap();
            let count = |state| all.iter().filter(|b| b.state == state).count();
            (count(BackupState::Expired) >= 1 && count(BackupState::Completed) == 2).then(|| {
                all.iter()
                    .map(|b| (b.state, b.scheduled))
                    .collect::<Vec<_>>()
            })
        },
    )
    .await;
    assert!(states.iter().all(|(_, scheduled)| *scheduled), "{states:?}");
    let kept = cp.platform.backups(&stanza).await.unwrap();
    assert!(kept.len() <= 3, "the repository keeps the newest: {kept:?}");
    // Each backup's orchestration id names the backup-instance that took it.
    for backup in backups::list(&cp.db.pool, Some("regular")).await.unwrap() {
        let status = cp
            .client
            .get_orchestration_status(&backup.orchestration_id)
            .await
            .unwrap();
        assert!(
            matches!(status, duroxide::OrchestrationStatus::Completed { .. }),
            "{}: {status:?}",
            backup.orchestration_id
        );
    }

    // Turned off, the schedule ends; its backups stay.
    let turn_off = || async {
        cp.client
            .enqueue_event(&schedule, names::events::BACKUP_SCHEDULE_CHANGED, "null")
            .await
            .unwrap();
        cp.wait(&schedule, Duration::from_secs(60)).await;
    };
    turn_off().await;
    assert!(!cp.platform.backups(&stanza).await.unwrap().is_empty());

    // Turned on again, it takes new backups (never mistaking an earlier run's for its own).
    let before: Vec<Uuid> = backups::list(&cp.db.pool, Some("regular"))
        .await
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    cp.client.delete_instance(&schedule, true).await.unwrap();
    start_schedule().await;
    eventually(
        "a backup of the new run",
        Duration::from_secs(60),
        || async {
            let all = backups::list(&cp.db.pool, Some("regular")).await.unwrap();
            all.iter()
                .any(|b| !before.contains(&b.id) && b.state == BackupState::Completed)
                .then_some(())
        },
    )
    .await;
    turn_off().await;
    cp.platform.delete(&name, Whose::Any).await.unwrap();
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_during_a_backup_wins_and_the_backup_stops_cleanly() {
    let cp = TestControlPlane::start().await;
    let record = instance_with_rows(&cp, "doomed", 100).await;
    let (backup_id, orchestration) = start_backup(&cp, record, "doomed").await;
    cp.wait_for_history(&orchestration, |h| in_flight(h, activities::TAKE_BACKUP))
        .await;
    cp.start_delete("delete-doomed", record, &spec_name("doomed"))
        .await;
    cp.wait("delete-doomed", Duration::from_secs(60)).await;
    let outcome = cp.wait(&orchestration, Duration::from_secs(120)).await;
    let backup = backups::get(&cp.db.pool, backup_id).await.unwrap().unwrap();
    match backup.state {
        // The backup had already finished when the delete came: it stays, as backups do.
        BackupState::Completed => {}
        BackupState::Failed => {
            let message = failure_message(&outcome);
            assert!(
                message.contains("during the backup") || message.contains("backing up"),
                "{message}"
            );
        }
        other => panic!("backup ended {other}"),
    }
    let record = cms::instances::get(&cp.db.pool, record)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Deleted);
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_during_a_backup_and_a_restore_finishes_both_once() {
    let mut cp = TestControlPlane::start().await;
    let record = instance_with_rows(&cp, "sturdy", 500).await;
    let (backup_id, orchestration) = start_backup(&cp, record, "sturdy").await;
    cp.wait_for_history(&orchestration, |h| in_flight(h, activities::TAKE_BACKUP))
        .await;
    cp.crash();
    cp.restart().await;
    cp.wait(&orchestration, Duration::from_secs(120)).await;
    let backup = completed_backup(&cp, backup_id).await;
    let sets = cp.platform.backups(&backup.stanza).await.unwrap();
    assert_eq!(
        sets.iter()
            .filter(|set| set.request.as_deref() == Some(backup_id.to_string().as_str()))
            .count(),
        1,
        "exactly one backup for the request: {sets:?}"
    );

    let from = from_backup(&backup);
    let (create, _) = start_restore(&cp, "phoenix", from, None).await;
    cp.wait_for_history(&create, |h| in_flight(h, activities::RESTORE_INSTANCE))
        .await;
    let dir = cp.platform.instance_dir(&spec_name("phoenix"));
    eventually("the restore to begin", Duration::from_secs(30), || async {
        dir.join("data.restore").exists().then_some(())
    })
    .await;
    cp.crash();
    cp.restart().await;
    cp.wait(&create, Duration::from_secs(180)).await;
    assert_eq!(
        query_strings(&cp, &spec("phoenix"), "SELECT count(*)::text FROM items").await,
        ["500"]
    );
    assert_eq!(postmasters_for(&dir.join("data")).len(), 1, "one server");
    for name in ["sturdy", "phoenix"] {
        cp.platform
            .delete(&spec_name(name), Whose::Any)
            .await
            .unwrap();
    }
    cp.shutdown().await;
}

/// A delete during a restore wins: the copying is abandoned (it holds no lock a delete
/// would wait for), the create fails saying why, and nothing is left running or on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_during_a_restore_wins_and_leaves_nothing() {
    let cp = TestControlPlane::start().await;
    let record = instance_with_rows(&cp, "mother", 100_000).await;
    let (backup_id, orchestration) = start_backup(&cp, record, "mother").await;
    cp.wait(&orchestration, Duration::from_secs(120)).await;
    let backup = completed_backup(&cp, backup_id).await;

    let (create, copy_record) = start_restore(&cp, "orphan", from_backup(&backup), None).await;
    let dir = cp.platform.instance_dir(&spec_name("orphan"));
    eventually("the restore to begin", Duration::from_secs(30), || async {
        (dir.join("data.restore").exists() || dir.join("data").exists()).then_some(())
    })
    .await;
    cp.start_delete("delete-orphan", copy_record, &spec_name("orphan"))
        .await;
    cp.wait("delete-orphan", Duration::from_secs(60)).await;
    let message = failure_message(&cp.wait(&create, Duration::from_secs(60)).await);
    assert!(message.contains("deleted"), "{message}");
    assert!(!dir.exists(), "nothing left on disk");
    assert!(postmasters_for(&dir.join("data")).is_empty());
    let record = cms::instances::get(&cp.db.pool, copy_record)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, InstanceState::Deleted);
    cp.platform
        .delete(&spec_name("mother"), Whose::Any)
        .await
        .unwrap();
    cp.shutdown().await;
}

/// A control-database outage shorter than the budget costs a running backup nothing: the
/// reads of the record's state that fail meanwhile are tolerated, and the backup's first
/// attempt finishes (it used to be dropped at the first failed read, pgBackRest killed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_outage_of_the_record_costs_a_running_backup_nothing() {
    let cp = TestControlPlane::start().await;
    let record = instance_with_rows(&cp, "steady", 100).await;
    let stanza = instance_ids::stanza(&spec_name("steady"), record);
    let (backup_id, orchestration) = start_backup(&cp, record, "steady").await;
    // pgBackRest is held still, so the outage falls inside the backup.
    let pgbackrest = eventually_every(
        "pgBackRest backing up",
        Duration::from_secs(60),
        Duration::from_millis(5),
        || async {
            let pids = processes::pgbackrest_backing_up(&stanza);
            (!pids.is_empty()).then_some(pids)
        },
    )
    .await;
    let signal_all = |signal| {
        for pid in &pgbackrest {
            kill(Pid::from_raw(*pid), signal).unwrap();
        }
    };
    signal_all(Signal::SIGSTOP);
    sqlx::query("ALTER TABLE toygres_cms.instances RENAME TO instances_away")
        .execute(&cp.db.pool)
        .await
        .unwrap();
    // Six reads of the state, every 500 ms, fail meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sqlx::query("ALTER TABLE toygres_cms.instances_away RENAME TO instances")
        .execute(&cp.db.pool)
        .await
        .unwrap();
    signal_all(Signal::SIGCONT);

    cp.wait(&orchestration, Duration::from_secs(120)).await;
    completed_backup(&cp, backup_id).await;
    let attempts = cp
        .latest_history(&orchestration)
        .await
        .iter()
        .filter(|event| {
            matches!(&event.kind, EventKind::ActivityScheduled { name, .. } if name == activities::TAKE_BACKUP)
        })
        .count();
    assert_eq!(attempts, 1, "the backup's first attempt finished it");
    cp.platform
        .delete(&spec_name("steady"), Whose::Any)
        .await
        .unwrap();
    cp.shutdown().await;
}

/// Sets the permission bits of `dir` and every directory under it: `mode` when given, else
/// what `modes` remembered; returns what they were.
fn set_dir_modes(
    dir: &std::path::Path,
    mode: Option<u32>,
    modes: &std::collections::HashMap<std::path::PathBuf, u32>,
) -> std::collections::HashMap<std::path::PathBuf, u32> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = std::collections::HashMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            }
        }
        let was = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777;
        let now = mode.unwrap_or_else(|| modes[&dir]);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(now)).unwrap();
        found.insert(dir, was);
    }
    found
}

/// Enough WAL to fill a segment (so the server asks to archive it).
const A_SEGMENT_OF_WAL: &str =
    "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 20000)";

async fn archiver_failures(cp: &TestControlPlane, spec: &InstanceSpec) -> i64 {
    query_strings(cp, spec, "SELECT failed_count::text FROM pg_stat_archiver").await[0]
        .parse()
        .unwrap()
}

/// The guardrail for WAL archiving: a repository the instance cannot write to makes it
/// `degraded` (with the reason, a health event, and what can be restored frozen at the last
/// archived WAL) within two health intervals of the first failed attempt; once it is
/// writable again the instance is healthy again, and a point-in-time restore to a moment
/// after that has the rows written then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_wal_archiving_degrades_the_instance_until_it_recovers() {
    const INTERVAL: Duration = Duration::from_secs(2);
    let cp = TestControlPlane::start().await;
    let record = watched_instance_with_rows(&cp, "archiver", 1, INTERVAL.as_secs()).await;
    let source = spec("archiver");
    let (backup_id, orchestration) = start_backup(&cp, record, "archiver").await;
    cp.wait(&orchestration, Duration::from_secs(120)).await;
    let backup = completed_backup(&cp, backup_id).await;
    cp.wait_for_health(record, HealthStatus::Healthy, Duration::from_secs(30))
        .await;

    let archive = cp
        .platform
        .root()
        .join(".backups/stanzas")
        .join(&backup.stanza)
        .join("repo/archive")
        .join(&backup.stanza);
    let modes = set_dir_modes(&archive, Some(0o500), &Default::default());
    execute(&cp, &source, "CREATE TABLE filler (pad text)").await;
    execute(&cp, &source, A_SEGMENT_OF_WAL).await;
    eventually_every(
        "a failed archiving attempt",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { (archiver_failures(&cp, &source).await > 0).then_some(()) },
    )
    .await;
    let failed_at = tokio::time::Instant::now();
    let degraded = cp
        .wait_for_health(record, HealthStatus::Degraded, Duration::from_secs(30))
        .await;
    let took = failed_at.elapsed();
    assert!(
        took <= INTERVAL * 2 + Duration::from_secs(1),
        "degraded {took:?} after the first failure, health checked every {INTERVAL:?}"
    );
    let reason = degraded.health_reason.unwrap();
    assert!(reason.contains("WAL archiving is failing"), "{reason}");
    let frozen = degraded
        .wal_archived_until
        .expect("restorable-until frozen");
    assert!(frozen <= chrono::Utc::now(), "{frozen}");
    let backup = backups::get(&cp.db.pool, backup_id).await.unwrap().unwrap();
    assert_eq!(backup.instance_wal_archived_until, Some(frozen));
    let changes = cms::health::events(&cp.db.pool, record).await.unwrap();
    let last = changes.last().expect("a health event");
    assert_eq!(
        (last.from_status, last.to_status),
        (HealthStatus::Healthy, HealthStatus::Degraded)
    );

    set_dir_modes(&archive, None, &modes);
    execute(&cp, &source, A_SEGMENT_OF_WAL).await;
    let recovered = cp
        .wait_for_health(record, HealthStatus::Healthy, Duration::from_secs(90))
        .await;
    assert_eq!(recovered.health_reason, None);
    assert_eq!(recovered.wal_archived_until, None);

    execute(
        &cp,
        &source,
        "CREATE TABLE marks (what text); INSERT INTO marks VALUES ('recovered')",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let moment = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    execute(&cp, &source, "INSERT INTO marks VALUES ('later')").await;
    let from = RestoreFrom {
        stanza: backup.stanza.clone(),
        label: backup.label.clone().unwrap(),
        target: RestoreTarget::Time { at: moment },
    };
    let (create, _) = start_restore(&cp, "archived", from, Some("archiver")).await;
    cp.wait(&create, Duration::from_secs(120)).await;
    assert_eq!(
        query_strings(&cp, &spec("archived"), "SELECT what FROM marks").await,
        ["recovered"],
        "written after archiving recovered, before the moment"
    );
    for name in ["archiver", "archived"] {
        cp.platform
            .delete(&spec_name(name), Whose::Any)
            .await
            .unwrap();
    }
    cp.shutdown().await;
}
