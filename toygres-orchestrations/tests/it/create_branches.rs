//! Every way create-instance can fail, on a scripted platform (no `initdb`, seconds in
//! all), for the current version and for 1.0.0 and 1.1.0 (still registered for instances
//! that started on them): the create fails with a message that says why, the record ends
//! `failed` with that error (or `deleting` when a delete overtook it), and what was made is
//! cleaned up.

use std::sync::Arc;
use std::time::Duration;

use toygres_cms::instances::Change;
use toygres_cms::{self as cms, InstanceState};
use toygres_orchestrations::names::{orchestrations, versions};
use toygres_orchestrations::types::{CreateInstanceInput, v1_1, v1_2};
use toygres_platform::InstanceStatus;
use toygres_test_support::TestControlPlane;
use toygres_test_support::control_plane::{failure_message, spec};
use toygres_test_support::fake_platform::{Answer, FakePlatform, Gate, Script, endpoint_of};
use uuid::Uuid;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A version of create-instance as this test drives it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Version {
    Current,
    V1_1_0,
    V1_0_0,
}

impl Version {
    const ALL: [Version; 3] = [Version::Current, Version::V1_1_0, Version::V1_0_0];

    fn tag(self) -> &'static str {
        match self {
            Version::Current => "c",
            Version::V1_1_0 => "p",
            Version::V1_0_0 => "o",
        }
    }
}

struct Bench {
    cp: TestControlPlane<FakePlatform>,
}

impl Bench {
    async fn start() -> Self {
        let fake = FakePlatform::new(Script::healthy(endpoint_of("postgres://x@127.0.0.1:1/x")));
        let cp = TestControlPlane::start_on(Arc::new(fake), PROBE_TIMEOUT).await;
        let bench = Self { cp };
        bench.script(|_| {});
        bench
    }

    /// A healthy script pointed at the test cluster, changed by `edit`.
    fn script(&self, edit: impl FnOnce(&mut Script)) {
        let mut script = Script::healthy(endpoint_of(&self.cp.db.url));
        edit(&mut script);
        self.cp.platform.set_script(script);
    }

    /// Starts a create of `name` on `version` and returns its id and record.
    async fn create(&self, name: &str, version: Version, readiness_secs: u64) -> (String, Uuid) {
        let id = format!("create-{name}-{version:?}");
        let spec = spec(name);
        match version {
            Version::Current => {
                let mut input = self.cp.reserve(&id, &spec).await;
                input.readiness_timeout_secs = readiness_secs;
                input.health_check_interval_secs = 3600;
                self.cp.start_create(&id, input).await;
            }
            Version::V1_1_0 => {
                let reserved = self.cp.reserve(&id, &spec).await;
                let input = v1_1::CreateInstanceInput {
                    record_id: reserved.record_id,
                    spec,
                    health_check_interval_secs: 3600,
                    readiness_timeout_secs: readiness_secs,
                };
                self.cp
                    .client
                    .start_orchestration_versioned_typed(
                        &id,
                        orchestrations::CREATE_INSTANCE,
                        versions::V1_1_0,
                        input,
                    )
                    .await
                    .unwrap();
            }
            Version::V1_0_0 => {
                let input = CreateInstanceInput {
                    readiness_timeout_secs: readiness_secs,
                    health_check_interval_secs: 3600,
                    ..CreateInstanceInput::new(spec)
                };
                self.cp
                    .client
                    .start_orchestration_versioned_typed(
                        &id,
                        orchestrations::CREATE_INSTANCE,
                        versions::V1_0_0,
                        input,
                    )
                    .await
                    .unwrap();
            }
        }
        let record =
            toygres_test_support::eventually("the record", Duration::from_secs(30), || async {
                cms::instances::find_live(&self.cp.db.pool, name)
                    .await
                    .unwrap()
            })
            .await;
        (id, record.id)
    }

    /// Waits for the create to fail; returns its message and the record's state and error.
    async fn failed(&self, id: &str, record: Uuid) -> (String, InstanceState, Option<String>) {
        let message = failure_message(&self.cp.wait(id, Duration::from_secs(60)).await);
        let record = cms::instances::get(&self.cp.db.pool, record)
            .await
            .unwrap()
            .unwrap();
        (message, record.state, record.last_error)
    }

    async fn mark_deleting(&self, record: Uuid) {
        cms::instances::transition(
            &self.cp.db.pool,
            record,
            InstanceState::Deleting,
            &Change::default(),
            "a delete",
        )
        .await
        .unwrap();
    }
}

/// A failure that fails the create and is cleaned up by it.
async fn fails_cleanly(
    bench: &Bench,
    name: &str,
    version: Version,
    readiness_secs: u64,
    expected: &str,
) {
    let (id, record) = bench.create(name, version, readiness_secs).await;
    let (message, state, error) = bench.failed(&id, record).await;
    assert!(message.contains(expected), "{version:?} {name}: {message}");
    assert_eq!(state, InstanceState::Failed, "{version:?} {name}");
    assert_eq!(
        error.as_deref(),
        Some(message.as_str()),
        "the user sees why"
    );
    toygres_test_support::eventually("the cleanup", Duration::from_secs(30), || async {
        bench.cp.platform.calls().contains(&"delete").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_of_a_create_says_why_and_leaves_nothing() {
    let bench = Bench::start().await;
    for version in Version::ALL {
        let tag = version.tag();
        bench.script(|s| s.deploy = Answer::Unsupported("PostgreSQL 99 is not installed".into()));
        fails_cleanly(
            &bench,
            &format!("refused-{tag}"),
            version,
            60,
            "PostgreSQL 99 is not installed",
        )
        .await;

        bench.script(|s| s.status = InstanceStatus::Missing);
        fails_cleanly(
            &bench,
            &format!("missing-{tag}"),
            version,
            60,
            "disappeared while it was starting",
        )
        .await;

        bench.script(|s| {
            s.status = InstanceStatus::Failed {
                reason: "ErrImagePull".into(),
            }
        });
        fails_cleanly(
            &bench,
            &format!("broken-{tag}"),
            version,
            60,
            "cannot start: ErrImagePull",
        )
        .await;

        bench.script(|s| {
            s.status = InstanceStatus::NotReady {
                reason: "pod pending".into(),
            }
        });
        fails_cleanly(
            &bench,
            &format!("slow-{tag}"),
            version,
            1,
            "was not ready after",
        )
        .await;

        // Deployed and ready, but gone when the create goes to log in.
        bench.script(|s| s.credentials = Answer::NotFound);
        let expected = match version {
            Version::Current | Version::V1_1_0 => "does not exist on this platform",
            Version::V1_0_0 => "disappeared before its connection test",
        };
        fails_cleanly(&bench, &format!("gone-{tag}"), version, 60, expected).await;
    }

    // A restore on a platform without backups: refused, nothing made, the record says why.
    bench.script(|_| {});
    let spec = spec("restored-c");
    let id = "create-restored-c";
    let mut input = bench.cp.reserve(id, &spec).await;
    input.restore = Some(v1_2::Restore {
        from: toygres_platform::RestoreFrom {
            stanza: "shop-1".into(),
            label: "20261125-225058F".into(),
            target: toygres_platform::RestoreTarget::EndOfBackup,
        },
        live_source: None,
    });
    bench.cp.start_create(id, input.clone()).await;
    let (message, state, _) = bench.failed(id, input.record_id).await;
    assert!(message.contains("backups"), "{message}");
    assert_eq!(state, InstanceState::Failed);
    assert!(!bench.cp.platform.calls().contains(&"deploy"));
    bench.cp.shutdown().await;
}

/// A delete that overtakes the create: before the deploy, or between the login and
/// `mark-running`. The create fails saying so and leaves the cleanup to the delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_overtaken_by_a_delete_says_so_and_leaves_it_the_cleanup() {
    let bench = Bench::start().await;

    // Before the deploy: the record is `deleting` when provision looks.
    let spec = spec("early");
    let id = "create-early";
    let input = bench.cp.reserve(id, &spec).await;
    bench.mark_deleting(input.record_id).await;
    bench.cp.start_create(id, input.clone()).await;
    let (message, state, _) = bench.failed(id, input.record_id).await;
    assert_eq!(
        message,
        "instance early was deleted while it was being created"
    );
    assert_eq!(state, InstanceState::Deleting);
    assert!(
        !bench.cp.platform.calls().contains(&"deploy"),
        "nothing deployed"
    );

    // After the login, before mark-running.
    for version in Version::ALL {
        let gate = Arc::new(Gate::default());
        bench.script(|_| {});
        *bench.cp.platform.credentials_gate.lock().unwrap() = Some(gate.clone());
        let name = format!("late-{}", version.tag());
        let (id, record) = bench.create(&name, version, 60).await;
        gate.reached().await;
        bench.mark_deleting(record).await;
        gate.release();
        *bench.cp.platform.credentials_gate.lock().unwrap() = None;
        let (message, state, _) = bench.failed(&id, record).await;
        let expected = match version {
            Version::Current | Version::V1_1_0 => {
                format!("instance {name} was deleted while it was being created")
            }
            Version::V1_0_0 => {
                format!("instance {name} became deleting while it was being created")
            }
        };
        assert_eq!(message, expected, "{version:?}");
        assert_eq!(
            state,
            InstanceState::Deleting,
            "{version:?}: the delete owns it now"
        );
    }
    bench.cp.shutdown().await;
}
