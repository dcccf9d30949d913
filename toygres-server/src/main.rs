//! `toygres-server`: see `toygres_server::config::Config` for the flags.

use clap::Parser;
use toygres_server::config::Config;
use toygres_server::shutdown::Shutdown;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    // First, so a stop during start-up is honoured.
    let shutdown = match Shutdown::install() {
        Ok(shutdown) => shutdown,
        Err(error) => {
            eprintln!("toygres-server: could not install signal handlers: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    toygres_server::telemetry::init(config.log_format);
    match toygres_server::startup::run(config, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("toygres-server stopped: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
