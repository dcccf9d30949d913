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
    eprintln!("toygres-cli: {}", one_line(&error.render().to_string()));
    std::process::ExitCode::from(error::CliError::Usage(String::new()).exit_code())
}

/// clap's message on one line: its first paragraph (with what it lists: the missing
/// arguments, the possible values) and its usage line.
fn one_line(rendered: &str) -> String {
    let first = rendered
        .split("\n\n")
        .map(str::trim)
        .find(|paragraph| !paragraph.is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let message = first.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    match rendered
        .lines()
        .find_map(|line| line.strip_prefix("Usage: "))
    {
        Some(usage) => format!("{message} (usage: {usage}; see toygres-cli --help)"),
        None => format!("{message} (see toygres-cli --help)"),
    }
}
