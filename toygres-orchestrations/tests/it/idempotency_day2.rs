//! Every day-2 activity (stop, start, restart, backups, restore), run twice with the same
//! input as duroxide may after a crash, has the effect of running once: one state change,
//! one server, one restart, one backup, one removal.

use std::time::Duration;

use toygres_cms::{self as cms, BackupState, InstanceState, backups};
use toygres_orchestrations::activity_types::{
    ExpireBackupsInput, FinishBackupInput, OperateInput, OperateOutcome, PlatformOperation,
    ProvisionOutcome, RemoveBackupInput, ReserveBackupInput, ReserveBackupOutcome,
    RestoreInstanceInput, TakeBackupInput, TakeBackupOutcome, TransitionInput, TransitionOutcome,
    WatchInput,
};
use toygres_orchestrations::names::{activities, instance_ids};
use toygres_orchestrations::types::v1_2::Restore;
use toygres_platform::Whose;
use toygres_platform::{Platform, RestoreFrom, RestoreTarget};
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{spec, transitions};
use toygres_test_support::eventually;
use toygres_test_support::processes::postmasters_for;
use uuid::Uuid;

/// How many times the instance's server has opened, by its log.
fn server_starts(cp: &TestControlPlane, name: &str) -> usize {
    let log = cp
        .platform
        .instance_dir(&spec(name).name)
        .join("postgres.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("database system is ready to accept connections")
        .count()
}

fn transition(
    record_id: Uuid,
    name: &str,
    to: InstanceState,
    stop_watching: bool,
) -> TransitionInput {
    TransitionInput {
        record_id,
        name: spec(name).name,
        to,
        stop_watching,
        endpoint: None,
        error: None,
    }
}

fn operate(record_id: Uuid, name: &str, operation: PlatformOperation) -> OperateInput {
    OperateInput {
        record_id,
        name: spec(name).name,
        operation,
        readiness_timeout_secs: 60,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stop_start_and_restart_step_run_twice_has_one_effect() {
    let cp = TestControlPlane::start().await;
    let name = "twin-ops";
    let id = format!("create-{name}");
    let input = cp.reserve(&id, &spec(name)).await;
    let record = input.record_id;
    cp.start_create(&id, input).await;
    cp.wait(&id, Duration::from_secs(60)).await;
    let data_dir = cp.platform.instance_dir(&spec(name).name).join("data");
    let actor = instance_ids::instance_actor(record);

    let outcomes: (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice(
            "to-stopping",
            activities::CMS_TRANSITION,
            &transition(record, name, InstanceState::Stopping, true),
        )
        .await;
    assert_eq!(
        outcomes,
        (
            TransitionOutcome::Applied {
                from: InstanceState::Running
            },
            TransitionOutcome::AlreadyThere
        )
    );
    cp.wait(&actor, Duration::from_secs(60)).await;

    let (a, b): (OperateOutcome, OperateOutcome) = cp
        .run_activity_twice(
            "stop",
            activities::OPERATE_INSTANCE,
            &operate(record, name, PlatformOperation::Stop),
        )
        .await;
    assert_eq!((&a, &b), (&OperateOutcome::Done { endpoint: None }, &a));
    assert!(postmasters_for(&data_dir).is_empty(), "stopped");

    for (step, to) in [
        ("to-stopped", InstanceState::Stopped),
        ("to-starting", InstanceState::Starting),
    ] {
        let (_, second): (TransitionOutcome, TransitionOutcome) = cp
            .run_activity_twice(
                step,
                activities::CMS_TRANSITION,
                &transition(record, name, to, false),
            )
            .await;
        assert_eq!(second, TransitionOutcome::AlreadyThere, "{step}");
    }
    let starts_before = server_starts(&cp, name);
    let (a, b): (OperateOutcome, OperateOutcome) = cp
        .run_activity_twice(
            "start",
            activities::OPERATE_INSTANCE,
            &operate(record, name, PlatformOperation::Start),
        )
        .await;
    assert!(
        matches!(a, OperateOutcome::Done { endpoint: Some(_) }),
        "{a:?}"
    );
    assert_eq!(a, b);
    assert_eq!(postmasters_for(&data_dir).len(), 1, "one server");
    assert_eq!(server_starts(&cp, name), starts_before + 1, "started once");

    let (_, second): (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice(
            "to-running",
            activities::CMS_TRANSITION,
            &transition(record, name, InstanceState::Running, false),
        )
        .await;
    assert_eq!(second, TransitionOutcome::AlreadyThere);
    let watch = WatchInput {
        record_id: record,
        name: spec(name).name,
        interval_secs: 3600,
        incarnation: "the-start".into(),
    };
    let (a, b): (String, String) = cp
        .run_activity_twice("watch", activities::WATCH_INSTANCE, &watch)
        .await;
    assert_eq!((a.as_str(), b.as_str()), (actor.as_str(), actor.as_str()));
    let executions = cp.client.list_executions(&actor).await.unwrap();
    assert_eq!(
        executions.len(),
        1,
        "one fresh actor, not restarted by the re-run"
    );

    let (_, second): (TransitionOutcome, TransitionOutcome) = cp
        .run_activity_twice(
            "to-restarting",
            activities::CMS_TRANSITION,
            &transition(record, name, InstanceState::Restarting, true),
        )
        .await;
    assert_eq!(second, TransitionOutcome::AlreadyThere);
    let starts_before = server_starts(&cp, name);
    let restart = operate(
        record,
        name,
        PlatformOperation::Restart {
            token: "restart-1".into(),
        },
    );
    let (a, b): (OperateOutcome, OperateOutcome) = cp
        .run_activity_twice("restart", activities::OPERATE_INSTANCE, &restart)
        .await;
    assert_eq!(a, b);
    assert_eq!(
        server_starts(&cp, name),
        starts_before + 1,
        "restarted once"
    );
    assert_eq!(postmasters_for(&data_dir).len(), 1);

    assert_eq!(
        transitions(&cp.db.pool, record).await,
        [
            InstanceState::Creating,
            InstanceState::Running,
            InstanceState::Stopping,
            InstanceState::Stopped,
            InstanceState::Starting,
            InstanceState::Running,
            InstanceState::Restarting,
        ],
        "one event per transition"
    );
    cp.platform
        .delete(&spec(name).name, Whose::Any)
        .await
        .unwrap();
    cp.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backup_and_restore_step_run_twice_has_one_effect() {
    let cp = TestControlPlane::start().await;
    let name = "twin-backup";
    let id = format!("create-{name}");
    let mut input = cp.reserve(&id, &spec(name)).await;
    input.health_check_interval_secs = 3600;
    let record = input.record_id;
    cp.start_create(&id, input).await;
    cp.wait(&id, Duration::from_secs(60)).await;
    let stanza = instance_ids::stanza(&spec(name).name, record);

    let mut taken = Vec::new();
    for tick in 0..2 {
        let reserve = ReserveBackupInput {
            record_id: record,
            stanza: stanza.clone(),
            key: format!("tick-{tick}"),
        };
        let (a, b): (ReserveBackupOutcome, ReserveBackupOutcome) = cp
            .run_activity_twice(
                &format!("reserve-{tick}"),
                activities::CMS_RESERVE_BACKUP,
                &reserve,
            )
            .await;
        assert_eq!(a, b, "a re-run finds the same reservation");
        let ReserveBackupOutcome::Reserved { backup_id } = a else {
            panic!("{a:?}");
        };

        let take = TakeBackupInput {
            backup_id,
            record_id: record,
            name: spec(name).name,
            stanza: stanza.clone(),
        };
        let (a, b): (TakeBackupOutcome, TakeBackupOutcome) = cp
            .run_activity_twice(&format!("take-{tick}"), activities::TAKE_BACKUP, &take)
            .await;
        assert_eq!(a, b, "the re-run finds the backup the first took");
        let TakeBackupOutcome::Taken { set } = a else {
            panic!("{a:?}");
        };
        let finish = FinishBackupInput {
            backup_id,
            set: Some(set.clone()),
            error: None,
        };
        let _: ((), ()) = cp
            .run_activity_twice(
                &format!("finish-{tick}"),
                activities::CMS_FINISH_BACKUP,
                &finish,
            )
            .await;
        let row = backups::get(&cp.db.pool, backup_id).await.unwrap().unwrap();
        assert_eq!(row.state, BackupState::Completed);
        assert_eq!(row.label.as_deref(), Some(set.label.as_str()));
        taken.push((backup_id, set));
    }
    let sets = cp.platform.backups(&stanza).await.unwrap();
    assert_eq!(sets.len(), 2, "one backup per request: {sets:?}");
    assert_eq!(
        backups::list(&cp.db.pool, Some(name)).await.unwrap().len(),
        2,
        "one row per request"
    );

    // A restore run twice: one new instance, one server, its own password.
    let copy = spec("twin-copy");
    let copy_input = cp.reserve("create-twin-copy", &copy).await;
    let restore = RestoreInstanceInput {
        record_id: copy_input.record_id,
        spec: copy.clone(),
        readiness_timeout_secs: 120,
        restore: Restore {
            from: RestoreFrom {
                stanza: stanza.clone(),
                label: taken[1].1.label.clone(),
                target: RestoreTarget::EndOfBackup,
            },
            live_source: None,
        },
    };
    let (a, b): (ProvisionOutcome, ProvisionOutcome) = cp
        .run_activity_twice("restore", activities::RESTORE_INSTANCE, &restore)
        .await;
    assert!(matches!(a, ProvisionOutcome::Ready { .. }), "{a:?}");
    assert!(matches!(b, ProvisionOutcome::Ready { .. }), "{b:?}");
    let copy_data = cp.platform.instance_dir(&copy.name).join("data");
    assert_eq!(postmasters_for(&copy_data).len(), 1, "one server");

    let expire = ExpireBackupsInput {
        stanza: stanza.clone(),
        keep: 1,
    };
    let (first, second): (u64, u64) = cp
        .run_activity_twice("expire", activities::EXPIRE_BACKUPS, &expire)
        .await;
    assert_eq!((first, second), (1, 0), "the older one expires, once");
    let oldest = backups::get(&cp.db.pool, taken[0].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oldest.state, BackupState::Expired);

    let remove = RemoveBackupInput {
        backup_id: taken[1].0,
    };
    let _: ((), ()) = cp
        .run_activity_twice("remove", activities::REMOVE_BACKUP, &remove)
        .await;
    let newest = backups::get(&cp.db.pool, taken[1].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.state, BackupState::Deleted);
    eventually(
        "the repository to be empty",
        Duration::from_secs(10),
        || async {
            cp.platform
                .backups(&stanza)
                .await
                .unwrap()
                .is_empty()
                .then_some(())
        },
    )
    .await;

    // The instance was left without backups; its next one starts a new series.
    let reserve = ReserveBackupInput {
        record_id: record,
        stanza: stanza.clone(),
        key: "after-removal".into(),
    };
    let (reserved, _): (ReserveBackupOutcome, ReserveBackupOutcome) = cp
        .run_activity_twice("reserve-again", activities::CMS_RESERVE_BACKUP, &reserve)
        .await;
    let ReserveBackupOutcome::Reserved { backup_id } = reserved else {
        panic!("{reserved:?}");
    };
    let take = TakeBackupInput {
        backup_id,
        record_id: record,
        name: spec(name).name,
        stanza: stanza.clone(),
    };
    let (again, _): (TakeBackupOutcome, TakeBackupOutcome) = cp
        .run_activity_twice("take-again", activities::TAKE_BACKUP, &take)
        .await;
    assert!(
        matches!(again, TakeBackupOutcome::Taken { .. }),
        "{again:?}"
    );

    let record_state = cms::instances::get(&cp.db.pool, record)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record_state.state,
        InstanceState::Running,
        "backups never move the instance"
    );
    for instance in [name, "twin-copy"] {
        cp.platform
            .delete(&spec(instance).name, Whose::Any)
            .await
            .unwrap();
    }
    cp.shutdown().await;
}
