//! `toygres-server`: see `toygres_server::config::Config` for the flags.

use clap::Parser;
use toygres_server::config::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    toygres_server::telemetry::init(config.log_format);
    match toygres_server::startup::run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("toygres-server stopped: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
