//! A PostgreSQL cluster of one test's own, which the test may start late, freeze or
//! stop: for what a shared cluster must not suffer (a database that is not up yet, an
//! outage). Also the throwaway cluster behind [`crate::database::TestDatabase`].

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::local::cluster::{Auth, ClusterSettings, PgCluster, StopMode};
use toygres_platform::local::os_user;

use crate::database::free_port;
use crate::processes::{children_of, postmasters_for};
use crate::scratch;

/// Settings for a cluster whose data nobody needs after the test.
const THROWAWAY: &[(&str, &str)] = &[
    ("max_connections", "300"),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
];

pub struct PrivateCluster {
    cluster: PgCluster,
    data_dir: PathBuf,
    pub port: u16,
}

impl PrivateCluster {
    /// Initialised and configured (trust auth, loopback only), not started.
    pub async fn create() -> Self {
        let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries for a test cluster");
        let run_as = os_user::detect().expect("an OS user to run a test cluster as");
        let dir = scratch::subdir("cluster");
        if let Some(run_as) = &run_as {
            run_as
                .give(&dir)
                .expect("give the cluster directory to postgres");
        }
        let port = free_port();
        let data_dir = dir.join("data");
        let cluster = PgCluster::new(data_dir.clone(), binaries.newest().clone(), run_as);
        cluster
            .init("postgres", &Auth::Trust)
            .await
            .expect("initdb a test cluster");
        let extra = THROWAWAY
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        cluster
            .configure(&ClusterSettings {
                port,
                extra,
                tenant: Vec::new(),
            })
            .await
            .expect("configure a test cluster");
        Self {
            cluster,
            data_dir,
            port,
        }
    }

    /// Initialised and started.
    pub async fn started() -> Self {
        let cluster = Self::create().await;
        cluster.start().await;
        cluster
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and returns once it accepts connections.
    pub async fn start(&self) {
        let log = self.data_dir.with_file_name("postgres.log");
        self.cluster
            .start(&log, Some(Duration::from_secs(60)))
            .await
            .expect("start a test cluster");
    }

    pub async fn stop(&self) {
        self.cluster
            .stop(StopMode::Fast)
            .await
            .expect("stop a test cluster");
    }

    /// The running postmaster's pid.
    pub fn postmaster(&self) -> Option<i32> {
        postmasters_for(&self.data_dir).first().copied()
    }

    /// Stops every process of the cluster in its tracks (SIGSTOP): the database neither
    /// answers nor refuses, the way a hung server or a network partition looks.
    pub fn freeze(&self) {
        self.signal_all(Signal::SIGSTOP);
    }

    pub fn thaw(&self) {
        self.signal_all(Signal::SIGCONT);
    }

    fn signal_all(&self, signal: Signal) {
        for postmaster in postmasters_for(&self.data_dir) {
            let _ = kill(Pid::from_raw(postmaster), signal);
            for child in children_of(postmaster) {
                let _ = kill(Pid::from_raw(child), signal);
            }
        }
    }
}
