//! A real PostgreSQL server with a given superuser password on a given port: the database
//! behind a fake pod, and the baseline the benchmarks compare a create against.

use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::local::cluster::{Auth, ClusterSettings, PgCluster, StopMode};
use toygres_platform::local::os_user;

use crate::scratch;

/// Stopped (immediately) when dropped.
pub struct PasswordServer {
    cluster: PgCluster,
    dir: std::path::PathBuf,
    pub port: u16,
}

impl PasswordServer {
    /// initdb (scram-sha-256, superuser `postgres`), configure, start, and wait until it
    /// accepts connections on 127.0.0.1:`port`.
    pub async fn start(password: &[u8], port: u16) -> Self {
        let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
        let run_as = os_user::detect().expect("an OS user for PostgreSQL");
        let dir = scratch::subdir("pg");
        let password_file = dir.join("password");
        std::fs::write(&password_file, password).expect("write the password file");
        if let Some(run_as) = &run_as {
            run_as.give(&dir).expect("chown the directory");
            run_as
                .give(&password_file)
                .expect("chown the password file");
        }
        let cluster = PgCluster::new(dir.join("data"), binaries.newest().clone(), run_as);
        cluster
            .init("postgres", &Auth::Password(password_file))
            .await
            .expect("initdb");
        cluster
            .configure(&ClusterSettings {
                port,
                extra: Vec::new(),
            })
            .await
            .expect("configure");
        cluster
            .start(
                &dir.join("postgres.log"),
                Some(std::time::Duration::from_secs(60)),
            )
            .await
            .expect("start");
        Self { cluster, dir, port }
    }

    /// `pg_ctl stop -m fast` and `rm -rf` of everything: what deleting an instance by
    /// hand takes.
    pub async fn stop_fast_and_remove(self) {
        self.cluster
            .stop(StopMode::Fast)
            .await
            .expect("stop PostgreSQL");
        tokio::fs::remove_dir_all(&self.dir)
            .await
            .expect("remove the data directory");
    }

    pub async fn stop(self) {
        self.cluster
            .stop(StopMode::Immediate)
            .await
            .expect("stop PostgreSQL");
    }
}

impl Drop for PasswordServer {
    fn drop(&mut self) {
        if let Some(pid) = self.cluster.running_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGQUIT,
            );
        }
    }
}
