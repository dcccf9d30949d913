//! `toygres-cli`: create, list, inspect, connect to and delete Toygres instances through
//! the server's HTTP API. Failures print one line on stderr and exit with a code a script
//! can act on (see [`error::CliError`]).

mod args;
mod client;
mod commands;
mod error;
mod output;
mod progress;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = args::Args::parse();
    match commands::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("toygres-cli: {error}");
            std::process::ExitCode::from(error.exit_code())
        }
    }
}
