//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "toygres-cli",
    version,
    about = "Manage PostgreSQL instances on a Toygres server"
)]
pub struct Args {
    /// Base URL of the Toygres server.
    #[arg(
        long,
        global = true,
        env = "TOYGRES_URL",
        default_value = "http://127.0.0.1:7480"
    )]
    pub server: String,

    /// CA certificate (PEM) to trust for an `https://` server whose certificate is not
    /// signed by a CA the system trusts.
    #[arg(long, global = true, env = "TOYGRES_SERVER_CA")]
    pub server_ca: Option<PathBuf>,

    /// API token. On the command line it is visible to every local user (ps,
    /// /proc/*/cmdline): prefer --token-file or TOYGRES_TOKEN.
    #[arg(
        long,
        global = true,
        env = "TOYGRES_TOKEN",
        hide_env_values = true,
        conflicts_with = "token_file"
    )]
    pub token: Option<String>,

    /// File holding the API token (default: ./.toygres/api-token when it exists).
    #[arg(long, global = true, env = "TOYGRES_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,

    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an instance.
    Create {
        name: String,
        /// PostgreSQL major version (default: the server's).
        #[arg(long)]
        postgres_version: Option<String>,
        /// Storage in GiB (1-1024).
        #[arg(long)]
        storage_gb: Option<u32>,
        /// Restore this backup (an id from `backup list`) as it was taken, instead of
        /// starting empty (with --at: replayed up to that moment).
        #[arg(long, conflicts_with = "from")]
        from_backup: Option<uuid::Uuid>,
        /// Restore this instance (live or deleted) as it is now: its newest backup and all
        /// the WAL archived since (with --at: as it was at that moment).
        #[arg(long)]
        from: Option<String>,
        /// The moment to restore (RFC 3339, e.g. 2026-11-25T19:00:00Z), with --from or
        /// --from-backup.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// The role the application logs in as: owns the database, not a superuser
        /// (default: app; a restore keeps its source's).
        #[arg(long)]
        owner: Option<String>,
        /// The application's database (default: app; a restore keeps its source's).
        #[arg(long)]
        database: Option<String>,
        /// Also give out the superuser's login: whoever has it can read and change
        /// everything in the instance and run programs as its OS account (only where
        /// each instance has an OS account of its own).
        #[arg(long)]
        superuser_access: bool,
        /// Streaming standbys beside the primary (0-4): a failover promotes one when the
        /// primary fails.
        #[arg(long)]
        standbys: Option<u32>,
        /// Commits wait until one standby has them (needs --standbys).
        #[arg(long)]
        sync: bool,
        /// A label, KEY=VALUE (repeat for more).
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Create this many, NAME-1 .. NAME-COUNT, as one batch operation (not with a
        /// restore).
        #[arg(long, conflicts_with_all = ["from", "from_backup", "at"])]
        count: Option<u32>,
        /// Wait until it is running (or failed).
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// List live instances.
    List {
        /// Only those whose labels match: team=web, team!=web, "team in (web,db)",
        /// "team notin (db)", tier, !tier; comma-separated requirements must all hold.
        #[arg(short = 'l', long = "selector")]
        selector: Option<String>,
    },
    /// Add, change or remove labels of an instance: KEY=VALUE sets, KEY- removes.
    Label {
        name: String,
        #[arg(required = true, value_name = "KEY=VALUE|KEY-")]
        changes: Vec<String>,
    },
    /// Show one instance.
    Get { name: String },
    /// Delete an instance; or several (names, or -l SELECTOR) as one batch operation,
    /// after asking (unless --yes).
    Delete {
        #[arg(required_unless_present = "selector", conflicts_with = "selector")]
        names: Vec<String>,
        /// Every live instance whose labels match (as `list -l`).
        #[arg(short = 'l', long = "selector")]
        selector: Option<String>,
        /// Do not ask before deleting several.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Wait until it is deleted.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Stop an instance's server; its data, port and password stay.
    Stop {
        name: String,
        /// Wait until it is stopped.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Start a stopped instance again.
    Start {
        name: String,
        /// Wait until it is running.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Give a running instance a new server process (same data).
    Restart {
        name: String,
        /// Wait until it is running again.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Move the primary role of an instance with standbys to a standby: the primary
    /// stops cleanly, the standby replays all it wrote and is promoted, the former
    /// primary follows it. Clients of the connection string reach the new primary.
    Switchover {
        name: String,
        /// The member to promote, e.g. shop-2 (default: the standby with the least lag).
        #[arg(long)]
        to: Option<String>,
        /// Wait until it is running again.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Back instances up, list backups, schedule them, delete them.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Print a completion script for a shell: `source <(toygres-cli completion bash)`, or
    /// save it where the shell loads completions from.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// See and change an instance's PostgreSQL parameters.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// See and steer operations: every create, delete, health watch, backup, ... the
    /// server runs, with its steps.
    #[command(subcommand)]
    Operations(OperationsCommand),
    /// The instance's own PostgreSQL server log: the last lines, or streamed with --follow
    /// until interrupted.
    Logs {
        name: String,
        /// Keep printing what the server writes, until interrupted.
        #[arg(short = 'f', long)]
        follow: bool,
        /// Only what was written in this last while: 30s, 10m, 2h.
        #[arg(long, value_parser = crate::duration::parse_secs)]
        since: Option<u64>,
        /// How many of the last lines (default 100; with --since, all of that while).
        #[arg(long)]
        tail: Option<u32>,
    },
    /// The state transitions of an instance, oldest first.
    Events { name: String },
    /// The latest health checks of an instance, newest first.
    Health {
        name: String,
        /// How many checks.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Wait until an instance reaches a state.
    Wait {
        name: String,
        #[arg(long = "for", value_enum)]
        target: Target,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Print the instance's connection string (with its password), verifying the server
    /// with the control plane's CA certificate, which it writes to --ca-file.
    ConnectionString {
        name: String,
        /// The superuser's login instead of the owner's (needs superuser access).
        #[arg(long)]
        superuser: bool,
        /// Reach a standby when one answers (else the primary), for reads that may lag.
        #[arg(long)]
        read_only: bool,
        /// Where to write the CA certificate the string's `sslrootcert` names (default:
        /// `~/.toygres/ca-HOST-PORT.crt` for the server at HOST:PORT).
        #[arg(long, env = "TOYGRES_CA_FILE")]
        ca_file: Option<PathBuf>,
    },
    /// Print (or write to --file) the CA certificate that signs every instance's server
    /// certificate, for `sslrootcert=` with `sslmode=verify-full`.
    CaCertificate {
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Turn an instance's superuser login on or off. On: whoever has it can read and
    /// change everything in the instance and run programs as its OS account. Off: it is
    /// taken back, with what a superuser could have handed out, and the server restarts.
    SuperuserAccess {
        name: String,
        #[arg(value_enum)]
        switch: Switch,
        /// Wait until it is done.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The parameters that differ from PostgreSQL's defaults or were asked for: value,
    /// where it comes from, whether a change needs a restart and waits for one.
    Show { name: String },
    /// Set parameters (NAME=VALUE ...), checked against the instance's server first; the
    /// server reloads, and restarts (rolling, with standbys) only when one needs it.
    Set {
        name: String,
        #[arg(required = true, value_name = "NAME=VALUE")]
        parameters: Vec<String>,
        /// Wait until they are applied.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Put parameters back to their defaults.
    Reset {
        name: String,
        #[arg(required = true, value_name = "NAME")]
        parameters: Vec<String>,
        /// Wait until they are applied.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Subcommand)]
pub enum OperationsCommand {
    /// List operations, newest first.
    List {
        /// Only those on this instance (now or before).
        #[arg(long)]
        instance: Option<String>,
        /// Only those that are: running, completed, failed.
        #[arg(long)]
        status: Option<toygres_domain::OperationStatus>,
        /// Only those of a kind: create, delete, actor, stop, start, restart,
        /// superuser_access, switchover, failover, configure, batch, backup, backup_schedule,
        /// delete_backup, system.
        #[arg(long)]
        kind: Option<toygres_domain::OperationKind>,
        /// At most this many (1-500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue after a previous page (its `next:` line).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one: status, step, input and output, error, and its history.
    Show { id: String },
    /// Cancel a running one (where that cannot leave an instance half-made).
    Cancel { id: String },
    /// Run a failed delete, backup or backup removal again, under a new id.
    Retry { id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    Running,
    Stopped,
    Deleted,
}

/// Where the server writes its generated token in embedded mode, relative to where it runs.
pub fn default_token_file() -> PathBuf {
    PathBuf::from(".toygres").join("api-token")
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a full backup of a running instance.
    Create {
        name: String,
        /// Wait until it is done; prints its id, size and time.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// List backups (of one instance name, when given), newest first.
    List { name: Option<String> },
    /// Back an instance up every interval and keep the newest few; or turn it off.
    Schedule {
        name: String,
        /// How often: 30s, 15m, 6h, 1d (or seconds).
        #[arg(long, required_unless_present = "off", value_parser = crate::duration::parse_secs)]
        every: Option<u64>,
        /// How many backups to keep.
        #[arg(long, default_value_t = 7)]
        keep: u32,
        /// Turn the schedule off (its backups stay).
        #[arg(long, conflicts_with = "every")]
        off: bool,
    },
    /// Delete a backup.
    Delete {
        id: uuid::Uuid,
        /// Wait until it is gone.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
}
