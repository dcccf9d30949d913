//! Backup and restore of a 1 GiB database (`pgbench -i -s 70`), through Toygres and by
//! hand with pgBackRest in the same run, on the same instance and repository (as the
//! instance's OS account, as Toygres runs it):
//!
//! 1. `backup create --wait`, against `pgbackrest backup --type=full` with the same
//!    repository settings.
//! 2. `create --from-backup --wait` (a new instance that accepts a login), against
//!    `pgbackrest restore --type=immediate` + `pg_ctl start` + waiting for recovery to end
//!    + a first login.
//!
//! `cargo build --release -p toygres-cli -p toygres-server && cargo bench -p toygres-server --bench backup`
//! (`BACKUP_BENCH_SCALE` sets the pgbench scale; 70 is about 1 GiB.)

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::process::Command;
use toygres_platform::local::binaries::PgBinaries;
use toygres_test_support::bench::report_ratio;
use toygres_test_support::database::free_port;
use toygres_test_support::eventually;
use toygres_test_support::scratch;
use toygres_test_support::server::{ServerOptions, TestServer};

const DEFAULT_SCALE: u32 = 70;
const SOURCE: &str = "big";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let scale: u32 = std::env::var("BACKUP_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SCALE);
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 30,
        extra_args: vec!["--warm-pool-size".into(), "0".into()],
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", SOURCE, "--wait"]).await;
    let url = server
        .cli_ok(&["connection-string", SOURCE])
        .await
        .trim()
        .to_string();
    let options: PgConnectOptions = url.parse().expect("the connection string");
    let bin = PgBinaries::discover(None)
        .expect("PostgreSQL binaries")
        .newest()
        .clone();

    let started = Instant::now();
    run(Command::new(bin.tool("pgbench")).args(["-i", "-q", "-s", &scale.to_string(), &url])).await;
    let size: i64 = query_one(&options, "SELECT pg_database_size(current_database())").await;
    println!(
        "pgbench -i -s {scale}: {:.1} MiB in {:.1}s",
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let backup: serde_json::Value = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "backup", "create", SOURCE, "--wait"])
            .await,
    )
    .expect("the backup as JSON");
    let through_toygres = started.elapsed();
    let backup_id = backup["id"].as_str().expect("an id").to_string();

    let instances = server.options.data_dir.join("instances");
    let stanzas = instances.join(".backups/stanzas");
    let stanza = only_entry(&stanzas);
    let by_hand = ByHand {
        config: instances.join(".backups/pgbackrest.conf"),
        dir: stanzas.join(&stanza),
        owner: Owner::of(&stanzas.join(&stanza)),
        stanza,
    };
    // Line 5 of postmaster.pid: the server's socket directory (an owner may not ask).
    let pid_file = instances.join(SOURCE).join("data/postmaster.pid");
    let socket = std::fs::read_to_string(&pid_file).expect("postmaster.pid");
    let socket = socket
        .lines()
        .nth(4)
        .expect("a socket directory")
        .to_string();
    let started = Instant::now();
    by_hand
        .pgbackrest(&[
            &format!(
                "--pg1-path={}",
                instances.join(SOURCE).join("data").display()
            ),
            &format!("--pg1-port={}", options.get_port()),
            &format!("--pg1-socket-path={socket}"),
            &format!("--pg1-user={}", toygres_platform::access::SUPERUSER),
            "--type=full",
            "--repo1-retention-full=9999",
            "backup",
        ])
        .await;
    let backup_by_hand = started.elapsed();
    println!(
        "backup: toygres {:.1}s, pgbackrest by hand {:.1}s",
        through_toygres.as_secs_f64(),
        backup_by_hand.as_secs_f64()
    );
    report_ratio(
        "backup --wait / pgbackrest backup",
        &[through_toygres],
        &[backup_by_hand],
    );

    let started = Instant::now();
    server
        .cli_ok(&["create", "copy", "--from-backup", &backup_id, "--wait"])
        .await;
    let restore_through_toygres = started.elapsed();
    let label = backup["label"].as_str().expect("a label").to_string();
    let restore_by_hand = by_hand.restore(&bin.bin_dir, &label, &options).await;
    println!(
        "restore: toygres {:.1}s, pgbackrest restore + start by hand {:.1}s",
        restore_through_toygres.as_secs_f64(),
        restore_by_hand.as_secs_f64()
    );
    report_ratio(
        "create --from-backup --wait / restore by hand",
        &[restore_through_toygres],
        &[restore_by_hand],
    );
    let copy_url = server.cli_ok(&["connection-string", "copy"]).await;
    let copy: PgConnectOptions = copy_url.trim().parse().unwrap();
    let rows: i64 = query_one(&copy, "SELECT count(*) FROM pgbench_accounts").await;
    assert_eq!(rows, i64::from(scale) * 100_000, "the copy has every row");
    for name in [SOURCE, "copy"] {
        server.cli_ok(&["delete", name, "--wait"]).await;
    }
}

/// pgBackRest run by hand on Toygres's repository of the instance, as the instance's OS
/// account (which owns the repository and the data).
struct ByHand {
    config: PathBuf,
    stanza: String,
    /// The stanza's directory: its repository and locks.
    dir: PathBuf,
    owner: Owner,
}

impl ByHand {
    async fn pgbackrest(&self, args: &[&str]) {
        let mut command = self.owner.command("pgbackrest");
        command
            .arg(format!("--config={}", self.config.display()))
            .arg(format!("--stanza={}", self.stanza))
            .arg(format!("--repo1-path={}", self.dir.join("repo").display()))
            .arg(format!("--lock-path={}", self.dir.join("lock").display()))
            .args(args);
        run(&mut command).await;
    }

    /// The restore command of a server on `data`, on the stanza's repository.
    fn archive_get(&self, data: &Path) -> String {
        format!(
            "pgbackrest --config={} --stanza={} --repo1-path={} --lock-path={} --pg1-path={} archive-get %f \"%p\"",
            self.config.display(),
            self.stanza,
            self.dir.join("repo").display(),
            self.dir.join("lock").display(),
            data.display()
        )
    }

    /// Restores `label` into a scratch directory, starts a server on it, waits until
    /// recovery has ended and logs in; the server is removed afterwards, untimed.
    async fn restore(&self, bin_dir: &Path, label: &str, source: &PgConnectOptions) -> Duration {
        let dir = scratch::subdir("restore-by-hand");
        run(Command::new("chown").args([&self.owner.ids(), &dir.display().to_string()])).await;
        let data = dir.join("data");
        let port = free_port();
        let started = Instant::now();
        // As Toygres restores a backup as it was taken.
        self.pgbackrest(&[
            &format!("--pg1-path={}", data.display()),
            &format!("--set={label}"),
            // A restore clears the stanza's spool (a directory its account may write); the
            // server then fetches WAL with plain archive-get, without one.
            &format!("--spool-path={}", self.dir.join("spool").display()),
            &format!(
                "--recovery-option=restore_command={}",
                self.archive_get(&data)
            ),
            "--type=immediate",
            "--target-action=promote",
            "restore",
        ])
        .await;
        // The restored configuration is the source's: another port, no socket, no archiving.
        let settings = format!("port = {port}\nunix_socket_directories = ''\narchive_mode = off\n");
        let auto = data.join("postgresql.auto.conf");
        let mut conf = std::fs::read_to_string(&auto).unwrap();
        conf.push_str(&settings);
        std::fs::write(&auto, conf).unwrap();
        let log = dir.join("postgres.log");
        let pg_ctl = bin_dir.join("pg_ctl").display().to_string();
        run_showing(
            self.owner.command(&pg_ctl).args([
                "start",
                "-w",
                "-s",
                "-D",
                &data.display().to_string(),
                "-l",
                &log.display().to_string(),
            ]),
            Some(&log),
        )
        .await;
        let options = source.clone().port(port);
        eventually("recovery to end", Duration::from_secs(3600), || async {
            let mut connection = PgConnection::connect_with(&options).await.ok()?;
            let recovering: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                .fetch_one(&mut connection)
                .await
                .ok()?;
            (!recovering).then_some(())
        })
        .await;
        let took = started.elapsed();
        run(self.owner.command(&pg_ctl).args([
            "stop",
            "-m",
            "immediate",
            "-s",
            "-D",
            &data.display().to_string(),
        ]))
        .await;
        std::fs::remove_dir_all(&dir).ok();
        took
    }
}

/// An OS account, by its ids.
struct Owner {
    uid: u32,
    gid: u32,
}

impl Owner {
    fn of(path: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path).expect("the stanza's directory");
        Self {
            uid: metadata.uid(),
            gid: metadata.gid(),
        }
    }

    fn ids(&self) -> String {
        format!("{}:{}", self.uid, self.gid)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new("setpriv");
        command
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .args(["--clear-groups", "--", program]);
        command
    }
}

async fn run(command: &mut Command) {
    run_showing(command, None).await
}

/// Runs `command`; when it fails, shows its error output and the tail of `log`.
async fn run_showing(command: &mut Command, log: Option<&Path>) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .expect("start the command");
    let log = log
        .and_then(|log| std::fs::read_to_string(log).ok())
        .unwrap_or_default();
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        &log[log.len().saturating_sub(2000)..]
    );
}

fn only_entry(dir: &Path) -> String {
    let entries: Vec<String> = std::fs::read_dir(dir)
        .expect("the repository")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

async fn query_one<T>(options: &PgConnectOptions, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    let mut connection = PgConnection::connect_with(options).await.expect("log in");
    let value: T = sqlx::query_scalar(sql)
        .fetch_one(&mut connection)
        .await
        .expect(sql);
    connection.close().await.ok();
    value
}
