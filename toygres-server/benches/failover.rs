//! How long writes stop when an instance's primary fails or moves, and what is lost, with
//! a writer that commits a row every 10 ms through the read-write route (the member that
//! takes writes, found as libpq's `target_session_attrs=read-write` finds it) and tags
//! each acknowledged row with the timeline it was written on, as CloudNativePG's e2e tests
//! do. The gap of a round is from the last acknowledged write on the old timeline to the
//! first on the new one. Real server (release build, embedded database), real CLI, real
//! PostgreSQL processes:
//!
//! 1. Floor, measured by hand in the same run: a primary and a standby made by the local
//!    platform, the primary killed with `kill -9` and the standby promoted the moment it
//!    dies (no detection, no orchestration): what any failover costs at least.
//! 2. Failover after `kill -9` of the primary's postmaster (asynchronous standby):
//!    the gap, and until every member is on the new timeline.
//! 3. The same with `--sync`: acknowledged rows lost (target: none).
//! 4. A hung primary (`SIGSTOP`): the gap.
//! 5. `switchover`: the gap.
//! 6. `restart` of an instance with a standby (rolling: the standby, a switchover, the
//!    former primary): the gap.
//!
//! `cargo build --release -p toygres-cli -p toygres-server && cargo bench -p toygres-server --bench failover`
//! (`FAILOVER_ROUNDS`, default 20, sets the rounds of 2, 3 and 5; 4 runs a quarter, 6 half.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::sync::Mutex;
use toygres_domain::api::InstanceView;
use toygres_domain::{InstanceState, MemberRole, MemberState, Standbys};
use toygres_platform::local::LocalPlatform;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::{Credentials, Endpoint, InstanceSpec, Login, Platform, Tls, Whose};
use toygres_test_support::bench::{median, report, report_ratio};
use toygres_test_support::processes::postmasters_for;
use toygres_test_support::scratch;
use toygres_test_support::server::{ServerOptions, TestServer};

const FLOOR_ROUNDS: usize = 5;
const WRITE_EVERY: Duration = Duration::from_millis(10);

/// One acknowledged write.
#[derive(Debug, Clone, Copy)]
struct Ack {
    id: i64,
    at: Instant,
    timeline: u32,
}

/// Where the writer finds the members, and how it logs in.
#[derive(Clone)]
struct Route {
    ports: Vec<u16>,
    credentials: Credentials,
}

impl Route {
    async fn connect(&self, port: u16) -> Option<PgConnection> {
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port,
            user: self.credentials.user.clone(),
            database: self.credentials.database.clone(),
            tls: Tls::VerifyFull,
            standbys: Vec::new(),
        };
        let options = self.credentials.connect_options(&endpoint);
        tokio::time::timeout(Duration::from_secs(2), PgConnection::connect_with(&options))
            .await
            .ok()?
            .ok()
    }

    /// The member that takes writes, and its timeline (libpq's `read-write` choice).
    async fn writable(&self) -> Option<(PgConnection, u32)> {
        for port in &self.ports {
            let Some(mut connection) = self.connect(*port).await else {
                continue;
            };
            let timeline: Result<Option<i32>, _> = sqlx::query_scalar(
                "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE
                     ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
                 END",
            )
            .fetch_one(&mut connection)
            .await;
            if let Ok(Some(timeline)) = timeline {
                return Some((connection, timeline as u32));
            }
        }
        None
    }
}

/// Commits a row every [`WRITE_EVERY`] until `running` is cleared, reconnecting to
/// whichever member takes writes; every acknowledged row.
async fn write(route: Route, running: Arc<AtomicBool>, acks: Arc<Mutex<Vec<Ack>>>, first_id: i64) {
    let mut id = first_id;
    while running.load(Ordering::SeqCst) {
        let Some((mut connection, timeline)) = route.writable().await else {
            tokio::time::sleep(WRITE_EVERY).await;
            continue;
        };
        while running.load(Ordering::SeqCst) {
            let insert = sqlx::query("INSERT INTO writes (id, timeline) VALUES ($1, $2)")
                .bind(id)
                .bind(timeline as i32)
                .execute(&mut connection);
            match tokio::time::timeout(Duration::from_secs(3), insert).await {
                Ok(Ok(_)) => acks.lock().await.push(Ack {
                    id,
                    at: Instant::now(),
                    timeline,
                }),
                _ => break,
            }
            id += 1;
            tokio::time::sleep(WRITE_EVERY).await;
        }
        id += 1;
    }
}

/// A writer running in the background.
struct Writer {
    running: Arc<AtomicBool>,
    acks: Arc<Mutex<Vec<Ack>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    fn start(route: Route, first_id: i64) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let acks = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(write(
            route,
            Arc::clone(&running),
            Arc::clone(&acks),
            first_id,
        ));
        Self {
            running,
            acks,
            task,
        }
    }

    /// Waits until a write on a timeline after `timeline` is acknowledged.
    async fn until_written_after(&self, timeline: u32, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.acks.lock().await.iter().any(|a| a.timeline > timeline) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no write on a timeline after {timeline} within {limit:?}");
    }

    async fn stop(self) -> Vec<Ack> {
        self.running.store(false, Ordering::SeqCst);
        self.task.await.expect("the writer");
        self.acks.lock().await.clone()
    }
}

/// From the last acknowledged write on `timeline` to the first after it.
fn gap(acks: &[Ack], timeline: u32) -> Duration {
    let last_old = acks
        .iter()
        .filter(|a| a.timeline == timeline)
        .map(|a| a.at)
        .max();
    let first_new = acks
        .iter()
        .filter(|a| a.timeline > timeline)
        .map(|a| a.at)
        .min();
    match (last_old, first_new) {
        (Some(old), Some(new)) => new.duration_since(old),
        _ => panic!("no writes on both sides of the move"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::var("FAILOVER_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let floor = floor().await;
    report("promotion by hand (floor)", &floor);

    let server = TestServer::start(ServerOptions::embedded()).await;
    let (gaps, whole) = kill_rounds(&server, "async", false, rounds, Signal::SIGKILL).await;
    report("failover after kill -9: gap", &gaps);
    report("  every member on the new tl", &whole);
    report_ratio("failover gap / floor", &gaps, &floor);
    let (sync_gaps, _) = kill_rounds(&server, "sync", true, rounds, Signal::SIGKILL).await;
    report("failover --sync: gap", &sync_gaps);
    let (hung, hung_whole) =
        kill_rounds(&server, "hung", false, rounds.div_ceil(4), Signal::SIGSTOP).await;
    report("failover of a hung primary: gap", &hung);
    report("  hung until settled", &hung_whole);
    let switchovers = planned_rounds(&server, "moving", "switchover", rounds).await;
    report("switchover: gap", &switchovers);
    report_ratio("switchover gap / floor", &switchovers, &floor);
    let restarts = planned_rounds(&server, "rolling", "restart", rounds.div_ceil(2)).await;
    report("rolling restart: gap", &restarts);
    println!(
        "targets: failover gap median <= 5 s (CloudNativePG's e2e test allows 20 s, \
         Patroni's 24 s), hung primary <= 15 s, every member on the new timeline <= 60 s, \
         switchover and rolling restart gap <= 2 s, --sync loses 0 acknowledged rows"
    );
    println!(
        "median failover gap {:.2} s, worst {:.2} s",
        median(&gaps).as_secs_f64(),
        gaps.iter().max().unwrap().as_secs_f64()
    );
}

/// Promotion by hand the moment the primary dies: the platform's own promote, no
/// detection and no orchestration.
async fn floor() -> Vec<Duration> {
    let platform = LocalPlatform::new(
        scratch::subdir("failover-floor"),
        PgBinaries::discover(None).expect("PostgreSQL"),
    )
    .expect("a platform");
    let spec = InstanceSpec {
        standbys: Standbys::new(1, false).unwrap(),
        ..toygres_test_support::control_plane::spec("floor")
    };
    let name = spec.name.clone();
    platform
        .deploy(&spec, uuid::Uuid::new_v4())
        .await
        .expect("deployed");
    let members = platform.members(&name).await.unwrap();
    let route = Route {
        ports: members.iter().map(|m| m.port).collect(),
        credentials: platform.credentials(&name, Login::Owner).await.unwrap(),
    };
    create_table(&route).await;
    let mut gaps = Vec::new();
    for round in 0..FLOOR_ROUNDS {
        let members = platform.members(&name).await.unwrap();
        let primary = members
            .iter()
            .find(|m| m.role == MemberRole::Primary)
            .unwrap();
        let standby = members
            .iter()
            .find(|m| m.role == MemberRole::Standby)
            .unwrap();
        let timeline = primary.timeline.unwrap();
        let writer = Writer::start(route.clone(), (round as i64 + 1) * 1_000_000);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let data = member_data(&platform.instance_dir(&name), primary.number);
        kill(&data, Signal::SIGKILL);
        while !postmasters_for(&data).is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        platform
            .promote(&name, Whose::Any, standby.number, None)
            .await
            .unwrap();
        writer
            .until_written_after(timeline, Duration::from_secs(30))
            .await;
        gaps.push(gap(&writer.stop().await, timeline));
        platform.rejoin(&name, Whose::Any).await.unwrap();
    }
    platform.delete(&name, Whose::Any).await.unwrap();
    gaps
}

fn member_data(instance_dir: &std::path::Path, number: u8) -> std::path::PathBuf {
    let dir = std::fs::canonicalize(instance_dir).unwrap();
    match number {
        1 => dir.join("data"),
        n => dir.join(format!("members/{n}/data")),
    }
}

fn kill(data: &std::path::Path, signal: Signal) -> i32 {
    let postmaster = *postmasters_for(data)
        .first()
        .expect("the primary's postmaster");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(postmaster), signal).unwrap();
    postmaster
}

async fn create_table(route: &Route) {
    let (mut connection, _) = route.writable().await.expect("a primary");
    sqlx::query("CREATE TABLE IF NOT EXISTS writes (id bigint PRIMARY KEY, timeline int)")
        .execute(&mut connection)
        .await
        .unwrap();
}

async fn view(server: &TestServer, name: &str) -> InstanceView {
    serde_json::from_str(&server.cli_ok(&["-o", "json", "get", name]).await).unwrap()
}

/// Waits until `name` runs with every member streaming from one primary on a timeline
/// after `timeline`; returns when that was seen.
async fn settled_after(server: &TestServer, name: &str, timeline: u32) -> InstanceView {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let view = view(server, name).await;
        let settled = view.state == InstanceState::Running
            && view.members.iter().all(|m| {
                m.timeline.is_some_and(|t| t > timeline)
                    && (m.role == MemberRole::Primary || m.state == MemberState::Streaming)
            })
            && view
                .members
                .iter()
                .filter(|m| m.role == MemberRole::Primary)
                .count()
                == 1;
        if settled {
            return view;
        }
        assert!(Instant::now() < deadline, "{name} did not settle: {view:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn route_of(server: &TestServer, name: &str) -> Route {
    let view = view(server, name).await;
    Route {
        ports: view.members.iter().map(|m| m.port).collect(),
        credentials: server.instance_credentials(name, Login::Owner).await,
    }
}

/// `rounds` failures of the primary by `signal`, each timed: the write gap, and until
/// every member is on the new timeline. With `sync`, also counts lost rows (and panics
/// if any acknowledged row is missing).
async fn kill_rounds(
    server: &TestServer,
    name: &str,
    sync: bool,
    rounds: usize,
    signal: Signal,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut create = vec!["create", name, "--standbys", "1", "--wait"];
    if sync {
        create.push("--sync");
    }
    server.cli_ok(&create).await;
    let route = route_of(server, name).await;
    create_table(&route).await;
    let instance_dir = server
        .instance_data_dir(name)
        .parent()
        .unwrap()
        .to_path_buf();
    let (mut gaps, mut whole, mut lost_total) = (Vec::new(), Vec::new(), 0usize);
    let mut lags: Vec<u64> = Vec::new();
    for round in 0..rounds {
        let before = settled_after(server, name, 0).await;
        let primary = before
            .members
            .iter()
            .find(|m| m.role == MemberRole::Primary)
            .unwrap();
        let timeline = primary.timeline.unwrap();
        let number: u8 = primary.name.rsplit('-').next().unwrap().parse().unwrap();
        let writer = Writer::start(route.clone(), (round as i64 + 1) * 1_000_000);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let data = member_data(&instance_dir, number);
        let postmaster = kill(&data, signal);
        let killed = Instant::now();
        writer
            .until_written_after(timeline, Duration::from_secs(60))
            .await;
        let after = settled_after(server, name, timeline).await;
        whole.push(killed.elapsed());
        lags.extend(lag_at_failover(server, &after).await);
        if signal == Signal::SIGSTOP {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(postmaster), Signal::SIGCONT);
        }
        let acks = writer.stop().await;
        gaps.push(gap(&acks, timeline));
        lost_total += lost(&route, &acks).await;
    }
    println!("{name}: {lost_total} acknowledged rows lost over {rounds} failovers");
    lags.sort_unstable();
    println!(
        "{name}: lag at failover (in each failover's output): median {} bytes, worst {} bytes, {} of {rounds} known",
        lags.get(lags.len() / 2).copied().unwrap_or_default(),
        lags.last().copied().unwrap_or_default(),
        lags.len()
    );
    if sync {
        assert_eq!(lost_total, 0, "--sync lost acknowledged rows");
    }
    server.cli_ok(&["delete", name, "--wait"]).await;
    (gaps, whole)
}

/// Acknowledged rows the primary does not have.
/// The lag the failover that left `view` as it is kept in its output.
async fn lag_at_failover(server: &TestServer, view: &InstanceView) -> Option<u64> {
    let id = view.operation.as_ref()?.id.clone();
    let shown: serde_json::Value = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "operations", "show", &id])
            .await,
    )
    .ok()?;
    shown["output"]["lag_bytes"].as_u64()
}

async fn lost(route: &Route, acks: &[Ack]) -> usize {
    let (mut connection, _) = route.writable().await.expect("a primary");
    let ids: Vec<i64> = acks.iter().map(|a| a.id).collect();
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM writes WHERE id = ANY($1)")
        .bind(&ids)
        .fetch_one(&mut connection)
        .await
        .unwrap();
    ids.len() - present as usize
}

/// `rounds` moves of the primary of a new instance `name` by `command` (a switchover, a
/// rolling restart), each under a writer: the write gap of each.
async fn planned_rounds(
    server: &TestServer,
    name: &str,
    command: &str,
    rounds: usize,
) -> Vec<Duration> {
    server
        .cli_ok(&["create", name, "--standbys", "1", "--wait"])
        .await;
    let route = route_of(server, name).await;
    create_table(&route).await;
    let mut gaps = Vec::new();
    for round in 0..rounds {
        let before = settled_after(server, name, 0).await;
        let timeline = before.members[0].timeline.unwrap();
        let writer = Writer::start(route.clone(), (round as i64 + 1) * 1_000_000);
        tokio::time::sleep(Duration::from_millis(500)).await;
        server.cli_ok(&[command, name, "--wait"]).await;
        writer
            .until_written_after(timeline, Duration::from_secs(60))
            .await;
        gaps.push(gap(&writer.stop().await, timeline));
    }
    server.cli_ok(&["delete", name, "--wait"]).await;
    gaps
}
