//! A PostgreSQL cluster (one data directory, one server process) driven through the
//! PostgreSQL command-line tools.
//!
//! Used for instances on the local platform and for the throwaway clusters of tests and the
//! embedded control-plane database. Servers are started with `pg_ctl` in their own process
//! group so they outlive the process that started them. They listen on 127.0.0.1 and, by
//! default, on no Unix socket; an instance adds a private one (see `socket_dir`).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::process::Command;

use super::binaries::PgInstall;
use super::os_user::RunAs;
use crate::PlatformError;

/// Settings written to `toygres.conf`, included from `postgresql.conf`.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    pub port: u16,
    /// Additional `name = value` lines (values already quoted as PostgreSQL wants them).
    pub extra: Vec<(String, String)>,
    /// The tenant's parameters, written first so the control plane's own lines win.
    pub tenant: Vec<(String, String)>,
}

/// How `pg_ctl stop` shuts a server down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnect clients, checkpoint, exit: the next start needs no recovery.
    Fast,
    /// Exit at once: for servers whose data is about to be removed, or throwaways.
    Immediate,
}

impl StopMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Immediate => "immediate",
        }
    }
}

/// How `initdb` sets up authentication.
#[derive(Debug, Clone)]
pub enum Auth {
    /// scram-sha-256 for every connection; the superuser's password is read from this file.
    Password(PathBuf),
    /// No password in `initdb`'s rules, which are never used: the caller writes its own
    /// (`hba_file`) before every start and sets passwords over the private socket.
    OwnRules,
    /// No password, and no fsync: only for throwaway test clusters on loopback.
    Trust,
}

/// The server a standby is cloned from and streams from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Its private socket's directory (the standby runs as the same OS account).
    pub socket_dir: PathBuf,
    pub port: u16,
    pub user: String,
    /// The replication slot that keeps the WAL the standby has not received yet.
    pub slot: String,
}

#[derive(Debug, Clone)]
pub struct PgCluster {
    data_dir: PathBuf,
    install: PgInstall,
    run_as: Option<RunAs>,
}

const CONF_FILE: &str = "toygres.conf";
const INCLUDE_LINE: &str = "include_if_exists = 'toygres.conf'";

impl PgCluster {
    pub fn new(data_dir: PathBuf, install: PgInstall, run_as: Option<RunAs>) -> Self {
        Self {
            data_dir,
            install,
            run_as,
        }
    }

    pub fn is_initialised(&self) -> bool {
        self.data_dir.join("PG_VERSION").is_file()
    }

    /// Runs `initdb` into a scratch directory and renames it into place, so a crash in the
    /// middle never leaves a half-initialised data directory behind.
    pub async fn init(&self, superuser: &str, auth: &Auth) -> Result<(), PlatformError> {
        if self.is_initialised() {
            return Ok(());
        }
        let scratch = self.data_dir.with_extension("init");
        remove_dir_if_present(&scratch).await?;
        // Made here, empty and the server's account's: its parent may be a directory only
        // the control plane can write.
        tokio::fs::create_dir_all(&scratch)
            .await
            .map_err(|e| io_error("creating", &scratch, e))?;
        super::secret_file::set_private(&scratch)?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&scratch)?;
        }
        let mut command = self.background_tool("initdb");
        command
            // An abandoned init (its deploy gave up at its deadline) is killed, not left
            // holding the scratch directory; the next attempt starts it afresh.
            .kill_on_drop(true)
            .arg("-D")
            .arg(&scratch)
            .args(["-U", superuser, "-E", "UTF8", "--locale=C"]);
        match auth {
            Auth::Password(file) => {
                command
                    .arg("--auth=scram-sha-256")
                    .arg("--pwfile")
                    .arg(file);
            }
            Auth::OwnRules => {
                command.arg("--auth=trust");
            }
            Auth::Trust => {
                command.args(["--auth=trust", "--no-sync"]);
            }
        }
        run(command, "initdb").await?;
        tokio::fs::rename(&scratch, &self.data_dir)
            .await
            .map_err(|e| {
                io_error(
                    "moving the new data directory into place",
                    &self.data_dir,
                    e,
                )
            })
    }

    /// Copies the data of the running server `upstream` (`pg_basebackup` over its private
    /// socket, streaming the WAL it needs through `upstream.slot`) into a scratch directory
    /// renamed into place when complete, like [`Self::init`], and marks it a standby.
    pub async fn clone_from(&self, upstream: &Upstream) -> Result<(), PlatformError> {
        if self.is_initialised() {
            return Ok(());
        }
        let scratch = self.data_dir.with_extension("clone");
        remove_dir_if_present(&scratch).await?;
        tokio::fs::create_dir_all(&scratch)
            .await
            .map_err(|e| io_error("creating", &scratch, e))?;
        super::secret_file::set_private(&scratch)?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&scratch)?;
        }
        let mut command = self.background_tool("pg_basebackup");
        command
            .kill_on_drop(true)
            .arg("-D")
            .arg(&scratch)
            .arg("-h")
            .arg(&upstream.socket_dir)
            .args(["-p", &upstream.port.to_string(), "-U", &upstream.user])
            .args(["-X", "stream", "-S", &upstream.slot, "-c", "fast", "-w"]);
        run(command, "pg_basebackup").await?;
        let signal = scratch.join("standby.signal");
        write_file(&signal, b"").await?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&signal)?;
        }
        tokio::fs::rename(&scratch, &self.data_dir)
            .await
            .map_err(|e| {
                io_error(
                    "moving the cloned data directory into place",
                    &self.data_dir,
                    e,
                )
            })
    }

    /// Makes a stopped former primary a copy of `upstream` again (`pg_rewind`: only what
    /// differs since their timelines parted is copied) and marks it a standby.
    pub async fn rewind_from(&self, upstream: &Upstream) -> Result<(), PlatformError> {
        let source = format!(
            "host='{}' port={} user={} dbname=postgres",
            upstream
                .socket_dir
                .display()
                .to_string()
                .replace('\'', "\\'"),
            upstream.port,
            upstream.user
        );
        let mut command = self.background_tool("pg_rewind");
        command
            .kill_on_drop(true)
            .arg("-D")
            .arg(&self.data_dir)
            .arg(format!("--source-server={source}"));
        run(command, "pg_rewind").await?;
        self.mark_standby().await
    }

    /// Makes the next start of this (stopped) server a standby's.
    pub async fn mark_standby(&self) -> Result<(), PlatformError> {
        let signal = self.data_dir.join("standby.signal");
        write_file(&signal, b"").await?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&signal)?;
        }
        Ok(())
    }

    /// Whether the next start of this server is a standby's.
    pub fn is_marked_standby(&self) -> bool {
        self.data_dir.join("standby.signal").is_file()
    }

    /// Ends a standby's recovery: it becomes a primary on a new timeline. Returns once it
    /// takes writes.
    pub async fn promote(&self, wait: Duration) -> Result<(), PlatformError> {
        let mut command = self.tool("pg_ctl");
        command.arg("promote").arg("-D").arg(&self.data_dir).args([
            "-w",
            "-s",
            "-t",
            &wait.as_secs().max(1).to_string(),
        ]);
        run(command, "pg_ctl promote").await.map(|_| ())
    }

    /// Of a stopped server: where its last checkpoint is, when it was shut down cleanly
    /// (`None` after a crash), from `pg_controldata`.
    pub async fn clean_shutdown_checkpoint(&self) -> Result<Option<String>, PlatformError> {
        let mut command = self.tool("pg_controldata");
        command.arg("-D").arg(&self.data_dir);
        let output = run(command, "pg_controldata").await?;
        let text = String::from_utf8_lossy(&output.stdout);
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim_start_matches(':').trim().to_string())
        };
        let clean = field("Database cluster state")
            .is_some_and(|state| state == "shut down" || state == "shut down in recovery");
        Ok(clean.then(|| field("Latest checkpoint location")).flatten())
    }

    /// Writes the settings Toygres owns; the rest of `postgresql.conf` is left alone.
    pub async fn configure(&self, settings: &ClusterSettings) -> Result<(), PlatformError> {
        let mut conf = String::from("# Written by Toygres; rewritten at every deploy.\n");
        for (name, value) in &settings.tenant {
            conf.push_str(&format!("{name} = {value}\n"));
        }
        conf.push_str(&format!(
            "listen_addresses = '127.0.0.1'\n\
             port = {}\n\
             unix_socket_directories = ''\n\
             password_encryption = 'scram-sha-256'\n",
            settings.port
        ));
        for (name, value) in &settings.extra {
            conf.push_str(&format!("{name} = {value}\n"));
        }
        let conf_path = self.data_dir.join(CONF_FILE);
        write_file(&conf_path, conf.as_bytes()).await?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&conf_path)?;
        }
        let main_conf = self.data_dir.join("postgresql.conf");
        let current = tokio::fs::read_to_string(&main_conf)
            .await
            .map_err(|e| io_error("reading", &main_conf, e))?;
        if !current.lines().any(|line| line.trim() == INCLUDE_LINE) {
            write_file(
                &main_conf,
                format!("{current}\n{INCLUDE_LINE}\n").as_bytes(),
            )
            .await?;
            if let Some(run_as) = &self.run_as {
                run_as.give(&main_conf)?;
            }
        }
        Ok(())
    }

    /// Starts the server unless it already runs. With `wait`, returns once the server
    /// accepts connections, or fails when it does not within that time; without, returns
    /// as soon as the postmaster is launched.
    pub async fn start(
        &self,
        log_file: &Path,
        wait: Option<Duration>,
    ) -> Result<(), PlatformError> {
        if self.running_pid().is_some() {
            return Ok(());
        }
        let mut command = self.tool("pg_ctl");
        command
            .arg("start")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(log_file)
            .arg("-s")
            .process_group(0);
        match wait {
            Some(timeout) => command
                .arg("-w")
                .args(["-t", &timeout.as_secs().max(1).to_string()]),
            None => command.arg("-W"),
        };
        run(command, "pg_ctl start").await.map(|_| ())
    }

    /// Stops the server (`fast`) and starts a new one on the same data; with `wait`,
    /// returns once the new one accepts connections.
    pub async fn restart(&self, log_file: &Path, wait: Duration) -> Result<(), PlatformError> {
        let mut command = self.tool("pg_ctl");
        command
            .arg("restart")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(log_file)
            .args(["-m", "fast", "-w", "-s"])
            .args(["-t", &wait.as_secs().max(1).to_string()])
            .process_group(0);
        run(command, "pg_ctl restart").await.map(|_| ())
    }

    /// Makes the running server read its configuration files again (`pg_ctl reload`).
    pub async fn reload(&self) -> Result<(), PlatformError> {
        let mut command = self.tool("pg_ctl");
        command
            .arg("reload")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-s");
        run(command, "pg_ctl reload").await.map(|_| ())
    }

    /// Stops the server and makes sure the process is gone.
    pub async fn stop(&self, mode: StopMode) -> Result<(), PlatformError> {
        let Some(pid) = self.running_pid() else {
            return Ok(());
        };
        match mode {
            StopMode::Fast => self.stop_with_pg_ctl(pid, mode).await,
            StopMode::Immediate => {
                // pg_ctl only looks every 100 ms whether the server is gone; for a server
                // whose data is about to be removed, signal it and watch it go.
                self.signal_if_ours(pid, nix::sys::signal::Signal::SIGQUIT);
                if !self.exited_within(pid, IMMEDIATE_STOP_WAIT).await {
                    tracing::warn!(pid, "postmaster ignored SIGQUIT; killing it");
                    self.signal_if_ours(pid, nix::sys::signal::Signal::SIGKILL);
                    self.exited_within(pid, IMMEDIATE_STOP_WAIT).await;
                }
                Ok(())
            }
        }
    }

    async fn stop_with_pg_ctl(&self, pid: i32, mode: StopMode) -> Result<(), PlatformError> {
        let mut command = self.tool("pg_ctl");
        command.arg("stop").arg("-D").arg(&self.data_dir).args([
            "-m",
            mode.as_str(),
            "-w",
            "-t",
            "30",
            "-s",
        ]);
        if let Err(stop_error) = run(command, "pg_ctl stop").await {
            if !self.is_ours(pid) {
                return Ok(());
            }
            tracing::warn!(pid, error = %stop_error, "pg_ctl stop failed; killing the postmaster");
            self.signal_if_ours(pid, nix::sys::signal::Signal::SIGKILL);
        }
        Ok(())
    }

    /// Kills the server at once: its postmaster and every process of it, including
    /// backends a postmaster that died left behind (a hung server's backends could still
    /// commit for the clients connected to them, and orphans keep its shared memory, so
    /// it could not start again), and waits until they are gone. Each is proven to be
    /// this server's (see [`is_postmaster_of`]). Nothing running is success.
    pub async fn kill(&self) -> Result<(), PlatformError> {
        let deadline = tokio::time::Instant::now() + IMMEDIATE_STOP_WAIT;
        loop {
            let processes = processes_of(&self.data_dir);
            if processes.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PlatformError::Failed(format!(
                    "processes {processes:?} of {} survived SIGKILL",
                    self.data_dir.display()
                )));
            }
            for pid in processes {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Whether `pid` is still this cluster's postmaster (not exited, not reused).
    fn is_ours(&self, pid: i32) -> bool {
        is_running_postmaster_of(pid, &self.data_dir)
    }

    fn signal_if_ours(&self, pid: i32, signal: nix::sys::signal::Signal) {
        if self.is_ours(pid) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }

    /// Waits for the postmaster `pid` to exit, looking every few milliseconds.
    async fn exited_within(&self, pid: i32, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.is_ours(pid) {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// The postmaster's pid when it is alive. The pid file is not trusted alone: after a
    /// crash or a reboot its pid may belong to any other process, so the process must be
    /// proven to be a postmaster of this data directory (see [`is_postmaster_of`]).
    pub fn running_pid(&self) -> Option<i32> {
        let pid_file = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let pid: i32 = pid_file.lines().next()?.trim().parse().ok()?;
        is_running_postmaster_of(pid, &self.data_dir).then_some(pid)
    }

    /// Whether the server on `port` accepts connections (`pg_isready`).
    pub async fn accepts_connections(&self, port: u16) -> bool {
        let mut command = self.tool("pg_isready");
        command.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "3", "-q"]);
        matches!(command.status().await, Ok(status) if status.success())
    }

    fn tool(&self, name: &str) -> Command {
        self.prepare(Command::new(self.install.tool(name)))
    }

    /// A tool whose work can wait: run at a lower CPU priority (`nice`), so a burst of
    /// `initdb`s does not starve the control plane and the instances already running.
    fn background_tool(&self, name: &str) -> Command {
        match which_nice() {
            Some(nice) => {
                let mut command = Command::new(nice);
                command.args(["-n", "10"]).arg(self.install.tool(name));
                self.prepare(command)
            }
            None => self.tool(name),
        }
    }

    fn prepare(&self, mut command: Command) -> Command {
        command
            .stdin(Stdio::null())
            .current_dir(self.data_dir.parent().unwrap_or(Path::new("/")))
            .env_remove("PGDATA")
            .kill_on_drop(false);
        if let Some(run_as) = &self.run_as {
            run_as.apply(&mut command);
        }
        command
    }
}

/// `nice`, where the system has it.
fn which_nice() -> Option<&'static Path> {
    [Path::new("/usr/bin/nice"), Path::new("/bin/nice")]
        .into_iter()
        .find(|path| path.is_file())
}

/// How long an immediate stop waits for the postmaster (and then for SIGKILL).
const IMMEDIATE_STOP_WAIT: Duration = Duration::from_secs(30);

/// Whether process `pid` is a PostgreSQL server running in `data_dir` (its postmaster, or
/// one of its backends): its program is a `postgres` binary and its working directory is
/// the data directory (a postmaster changes into its data directory at start, which is
/// how PostgreSQL's own lock-file check and `pg_ctl` tell it from a stranger reusing the
/// pid).
pub fn is_postmaster_of(pid: i32, data_dir: &Path) -> bool {
    let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) else {
        return false;
    };
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
        return false;
    };
    let same_dir = std::fs::canonicalize(data_dir).is_ok_and(|dir| dir == cwd);
    same_dir && exe.file_name().is_some_and(|name| name == "postgres")
}

/// The live processes of the server of `data_dir`: `postgres` programs working in it.
fn processes_of(data_dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| is_running_postmaster_of(*pid, data_dir))
        .collect()
}

/// Whether `pid` is a live (not a zombie) postmaster or backend of `data_dir`.
pub fn is_running_postmaster_of(pid: i32, data_dir: &Path) -> bool {
    process_alive(pid) && is_postmaster_of(pid, data_dir)
}

/// A live process that is not a zombie.
fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

async fn run(mut command: Command, what: &str) -> Result<Output, PlatformError> {
    let output = command
        .output()
        .await
        .map_err(|e| PlatformError::Failed(format!("{what}: could not run: {e}")))?;
    if output.status.success() {
        return Ok(output);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let detail = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    Err(PlatformError::Failed(format!(
        "{what} failed ({}): {}",
        output.status,
        tail(detail.trim(), 600)
    )))
}

/// The last `max` bytes of `text`, on a character boundary.
pub(crate) fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

pub(crate) async fn remove_dir_if_present(path: &Path) -> Result<(), PlatformError> {
    match tokio::fs::remove_dir_all(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("removing", path, e)),
    }
}

/// Writes `content` to `path` whole or not at all, the writer's alone (see
/// `private_file`), off the runtime's threads.
pub(crate) async fn write_file(path: &Path, content: &[u8]) -> Result<(), PlatformError> {
    let (path, content) = (path.to_path_buf(), content.to_vec());
    tokio::task::spawn_blocking(move || crate::private_file::write(&path, &content))
        .await
        .map_err(|e| PlatformError::Failed(format!("writing a file: {e}")))?
}

pub(crate) fn io_error(action: &str, path: &Path, error: std::io::Error) -> PlatformError {
    PlatformError::Failed(format!("{action} {}: {error}", path.display()))
}
