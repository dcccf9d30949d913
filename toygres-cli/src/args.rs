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
        /// Wait until it is running (or failed).
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// List live instances.
    List,
    /// Show one instance.
    Get { name: String },
    /// Delete an instance.
    Delete {
        name: String,
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
    /// Wait until an instance reaches a state.
    Wait {
        name: String,
        #[arg(long = "for", value_enum)]
        target: Target,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Print the instance's connection string (with its password).
    ConnectionString { name: String },
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
