//! Every type that goes through duroxide history survives serialisation unchanged, and
//! inputs written before a field was added still decode.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use toygres_cms::InstanceState;
use toygres_domain::{HealthStatus, InstanceName, PostgresVersion, Standbys, StorageSize};
use toygres_orchestrations::activity_types::*;
use toygres_orchestrations::types::*;
use toygres_platform::{Access, Address, Endpoint, InstanceSpec, InstanceStatus, Tls};
use uuid::Uuid;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T) {
    let json = serde_json::to_string(&value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(back, value, "{json}");
}

fn spec() -> InstanceSpec {
    InstanceSpec {
        name: InstanceName::parse("shop").unwrap(),
        postgres_version: PostgresVersion::new(16).unwrap(),
        storage: StorageSize::from_gib(20).unwrap(),
        access: Access::default(),
        standbys: Standbys::new(2, true).unwrap(),
        settings: Default::default(),
    }
}

fn endpoint() -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port: 5433,
        user: "app".into(),
        database: "app".into(),
        tls: Tls::VerifyFull,
        standbys: vec![Address {
            host: "127.0.0.1".into(),
            port: 5434,
        }],
    }
}

/// Histories recorded before standbys replay with the very inputs they recorded: a spec
/// or an endpoint without standbys is written as it was then.
#[test]
fn no_standbys_is_written_as_before_there_were_any() {
    let single = InstanceSpec {
        standbys: Standbys::NONE,
        ..spec()
    };
    let json = serde_json::to_string(&single).unwrap();
    assert!(!json.contains("standbys"), "{json}");
    let endpoint = Endpoint {
        standbys: Vec::new(),
        ..endpoint()
    };
    let json = serde_json::to_string(&endpoint).unwrap();
    assert!(!json.contains("standbys"), "{json}");
    round_trip(single);
    round_trip(endpoint);
}

fn instance() -> InstanceRef {
    InstanceRef {
        instance_id: Uuid::new_v4(),
        name: InstanceName::parse("shop").unwrap(),
    }
}

#[test]
fn orchestration_types_round_trip() {
    let id = Uuid::new_v4();
    round_trip(spec());
    round_trip(CreateInstanceInput::new(spec()));
    round_trip(CreateInstanceOutput {
        instance_id: id,
        name: spec().name,
        endpoint: endpoint(),
        actor_orchestration_id: "actor".into(),
        seconds: 1.25,
    });
    for mode in [DeleteMode::Delete, DeleteMode::CleanUpFailedCreate] {
        round_trip(DeleteInstanceInput {
            instance_id: id,
            name: spec().name,
            mode,
        });
    }
    round_trip(DeleteInstanceOutput {
        instance_id: id,
        name: spec().name,
        resources_deleted: true,
    });
    round_trip(InstanceActorInput {
        instance_id: id,
        name: spec().name,
        interval_secs: 30,
        cycle: 7,
    });
    round_trip(InstanceActorOutput::DeletedSignal { cycle: 3 });
    round_trip(InstanceActorOutput::NoLongerRunning {
        cycle: 0,
        state: "deleting".into(),
    });
    round_trip(HealthChanged {
        from: HealthStatus::Healthy,
        to: HealthStatus::Unhealthy,
        reason: Some("connection refused".into()),
    });
    round_trip(HealthChanged {
        from: HealthStatus::Degraded,
        to: HealthStatus::Healthy,
        reason: None,
    });
    round_trip(StandbysDown {
        members: vec!["shop-2".into(), "shop-3".into()],
    });
}

/// The shape HealthChanged is queued in: histories keep it.
#[test]
fn health_changed_wire_shape() {
    let change = HealthChanged {
        from: HealthStatus::Healthy,
        to: HealthStatus::Unhealthy,
        reason: Some("connection refused".into()),
    };
    assert_eq!(
        serde_json::to_string(&change).unwrap(),
        r#"{"from":"healthy","to":"unhealthy","reason":"connection refused"}"#
    );
    assert_eq!(
        change.to_string(),
        "health healthy -> unhealthy: connection refused"
    );
}

#[test]
fn activity_types_round_trip() {
    let id = Uuid::new_v4();
    round_trip(instance());
    round_trip(ReserveInstanceInput { spec: spec() });
    round_trip(ReserveInstanceOutput { instance_id: id });
    round_trip(DeployInstanceInput {
        instance_id: id,
        spec: spec(),
    });
    round_trip(FencedOutcome::Done);
    round_trip(RejoinStandbysOutcome::Rejoined);
    round_trip(RejoinStandbysOutcome::Skipped {
        state: InstanceState::Stopping,
    });
    round_trip(RejoinStandbysOutcome::Refused {
        reason: "no standbys here".into(),
    });
    round_trip(FencedOutcome::Skipped {
        state: InstanceState::Deleted,
    });
    round_trip(FencedOutcome::Refused {
        reason: "no".into(),
    });
    round_trip(TestConnectionOutput::Connected { latency_ms: 4 });
    round_trip(TestConnectionOutput::InstanceGone);
    round_trip(ProbeResult {
        ok: false,
        latency_ms: None,
        message: Some("refused".into()),
    });
    round_trip(MarkRunningInput {
        instance_id: id,
        endpoint: endpoint(),
        actor_orchestration_id: "a".into(),
    });
    round_trip(MarkFailedInput {
        instance_id: id,
        error: "boom".into(),
    });
    for &state in InstanceState::ALL {
        round_trip(TransitionOutcome::Applied { from: state });
        round_trip(TransitionOutcome::NotAllowed { current: state });
        round_trip(RecordHealthOutput { state });
    }
    round_trip(TransitionOutcome::AlreadyThere);
    round_trip(RecordHealthInput {
        instance_id: id,
        checked_at_ms: 1_790_000_000_123,
        probe: ProbeResult {
            ok: true,
            latency_ms: Some(3),
            message: None,
        },
    });
    round_trip(endpoint());
    round_trip(InstanceStatus::Ready);
    round_trip(InstanceStatus::NotReady {
        reason: "starting".into(),
    });
    round_trip(InstanceStatus::Missing);
    round_trip(InstanceStatus::Failed {
        reason: "ErrImagePull".into(),
    });
}

#[test]
fn version_1_2_types_round_trip() {
    let restore = v1_2::Restore {
        from: toygres_platform::RestoreFrom {
            stanza: "shop-1".into(),
            label: "20261125-225058F".into(),
            target: toygres_platform::RestoreTarget::Time {
                at: chrono::Utc::now(),
            },
        },
        live_source: Some(spec().name),
    };
    for restore in [None, Some(restore.clone())] {
        round_trip(v1_2::CreateInstanceInput {
            record_id: Uuid::new_v4(),
            spec: spec(),
            health_check_interval_secs: 5,
            readiness_timeout_secs: 60,
            restore,
        });
    }
    round_trip(RestoreInstanceInput {
        record_id: Uuid::new_v4(),
        spec: spec(),
        readiness_timeout_secs: 60,
        restore,
    });
}

/// A 1.1.0 create's input, as the API wrote it, is a valid 1.2.0 input: reconciliation
/// and the API may read either.
#[test]
fn a_1_1_0_create_input_decodes_as_1_2_0() {
    let old = v1_1::CreateInstanceInput {
        record_id: Uuid::new_v4(),
        spec: spec(),
        health_check_interval_secs: 5,
        readiness_timeout_secs: 60,
    };
    let new: v1_2::CreateInstanceInput =
        serde_json::from_value(serde_json::to_value(&old).unwrap()).unwrap();
    assert_eq!(new.record_id, old.record_id);
    assert_eq!(new.restore, None);
}

#[test]
fn version_1_1_types_round_trip() {
    let id = Uuid::new_v4();
    let operation = OperationInput {
        record_id: id,
        name: spec().name,
        readiness_timeout_secs: 60,
        health_check_interval_secs: 5,
    };
    round_trip(v1_1::FailoverInput {
        operation: operation.clone(),
        primary_wal_position: Some(0x3000060),
    });
    // What reconciliation (and failover 1.0.0) start with decodes as 1.1.0's input.
    let decoded: v1_1::FailoverInput =
        serde_json::from_str(&serde_json::to_string(&operation).unwrap()).unwrap();
    assert_eq!(
        decoded,
        v1_1::FailoverInput {
            operation,
            primary_wal_position: None
        }
    );
    round_trip(v1_1::FailoverOutput::Promoted {
        record_id: id,
        name: spec().name,
        from_member: "shop-1".into(),
        to_member: "shop-2".into(),
        evidence: "its server process is gone".into(),
        lag_bytes: Some(8192),
    });
    round_trip(v1_1::CreateInstanceInput {
        record_id: id,
        spec: spec(),
        health_check_interval_secs: 5,
        readiness_timeout_secs: 60,
    });
    round_trip(v1_1::CreateInstanceOutput {
        record_id: id,
        name: spec().name,
        endpoint: endpoint(),
        actor_orchestration_id: "actor".into(),
    });
    round_trip(v1_1::InstanceActorInput {
        instance_id: id,
        name: spec().name,
        interval_secs: 5,
        cycle: 3,
        incarnation: "create-shop-1".into(),
    });
    round_trip(ProvisionInstanceInput {
        record_id: id,
        spec: spec(),
        readiness_timeout_secs: 60,
    });
    for outcome in [
        ProvisionOutcome::Ready {
            endpoint: endpoint(),
            login_ms: 3,
        },
        ProvisionOutcome::Skipped {
            state: InstanceState::Deleting,
        },
        ProvisionOutcome::Refused {
            reason: "no".into(),
        },
        ProvisionOutcome::NotReady {
            reason: "slow".into(),
        },
    ] {
        round_trip(outcome);
    }
    round_trip(DestroyInstanceInput {
        record_id: id,
        name: spec().name,
        mark_deleted: true,
    });
    round_trip(CheckHealthInput {
        record_id: id,
        name: spec().name,
        incarnation: String::new(),
        cycle: 4,
    });
    round_trip(PruneHistoryInput {
        keep_executions: 2,
        orchestration_retention_secs: 10,
        health_retention_secs: 10,
    });
    round_trip(PruneReport::default());
    round_trip(WarmPoolReport { ready: 2, made: 1 });
    round_trip(HistoryPrunerInput {
        interval_secs: 60,
        keep_executions: 2,
        orchestration_retention_secs: 10,
        health_retention_secs: 10,
        cycle: 0,
    });
    round_trip(WarmPoolInput {
        size: 2,
        interval_secs: 60,
        cycle: 0,
    });
}

/// A 1.0.0 actor's `continue_as_new` hands its input to 1.1.0, which must take it.
#[test]
fn a_1_0_0_actor_input_decodes_as_1_1_0() {
    let old = InstanceActorInput {
        instance_id: Uuid::new_v4(),
        name: spec().name,
        interval_secs: 30,
        cycle: 7,
    };
    let new: v1_1::InstanceActorInput =
        serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
    assert_eq!(
        (new.instance_id, new.cycle, new.incarnation.as_str()),
        (old.instance_id, 7, "")
    );
}

#[test]
fn older_inputs_decode_with_defaults() {
    let create: CreateInstanceInput =
        serde_json::from_str(r#"{"spec":{"name":"shop","postgres_version":"15","storage":10}}"#)
            .unwrap();
    assert_eq!(
        create.health_check_interval_secs,
        DEFAULT_HEALTH_CHECK_INTERVAL_SECS
    );
    assert_eq!(
        create.readiness_timeout_secs,
        DEFAULT_READINESS_TIMEOUT_SECS
    );
    let id = Uuid::nil();
    let delete: DeleteInstanceInput =
        serde_json::from_str(&format!(r#"{{"instance_id":"{id}","name":"shop"}}"#)).unwrap();
    assert_eq!(delete.mode, DeleteMode::Delete);
}

#[test]
fn invalid_values_do_not_decode() {
    let bad_name = r#"{"spec":{"name":"Shop!","postgres_version":"15","storage":10}}"#;
    assert!(serde_json::from_str::<CreateInstanceInput>(bad_name).is_err());
    let bad_storage = r#"{"spec":{"name":"shop","postgres_version":"15","storage":0}}"#;
    assert!(serde_json::from_str::<CreateInstanceInput>(bad_storage).is_err());
    let unknown_field = r#"{"spec":{"name":"shop","postgres_version":"15","storage":10},"x":1}"#;
    assert!(serde_json::from_str::<CreateInstanceInput>(unknown_field).is_err());
}
