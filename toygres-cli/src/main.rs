//! `toygres-cli`: create, list, inspect, connect to and delete Toygres instances through
//! the server's HTTP API. Failures print one line on stderr and exit with a code a script
//! can act on (see [`error::CliError`]).

mod args;
mod client;
mod commands;
mod duration;
mod error;
mod output;
mod progress;

use clap::Parser;
use clap::error::ErrorKind;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = match args::Args::try_parse() {
        Ok(args) => args,
        Err(error) => return usage_error(error),
    };
    match commands::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("toygres-cli: {error}");
            std::process::ExitCode::from(error.exit_code())
        }
    }
}

/// Help and version print as clap wants; a usage mistake becomes one line and exit 2.
fn usage_error(error: clap::Error) -> std::process::ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid arguments");
    let message = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("toygres-cli: {message} (see toygres-cli --help)");
    std::process::ExitCode::from(error::CliError::Usage(String::new()).exit_code())
}
