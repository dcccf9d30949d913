//! `stop|start|restart NAME [--wait] [--timeout SECS]`: one shape, three operations.

use toygres_domain::InstanceName;

use super::wait;
use crate::args::{Format, Target};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Stop,
    Start,
    Restart,
}

impl Kind {
    /// The API's path segment for it.
    pub fn path(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Start => "start",
            Self::Restart => "restart",
        }
    }

    fn doing(self) -> &'static str {
        match self {
            Self::Stop => "stopping",
            Self::Start => "starting",
            Self::Restart => "restarting",
        }
    }

    fn target(self) -> Target {
        match self {
            Self::Stop => Target::Stopped,
            Self::Start | Self::Restart => Target::Running,
        }
    }
}

pub async fn run(
    client: &ApiClient,
    format: Format,
    name: &InstanceName,
    kind: Kind,
    wait_for_it: bool,
    timeout: u64,
) -> Result<(), CliError> {
    let accepted = client.operate(name.as_str(), kind.path()).await?;
    if !wait_for_it {
        match format {
            Format::Json => output::json(&accepted),
            Format::Table => println!(
                "{} {name} (orchestration {})",
                kind.doing(),
                accepted.orchestration_id
            ),
        }
        return Ok(());
    }
    let instance = wait::until(client, name, kind.target(), timeout).await?;
    wait::report(format, &instance);
    Ok(())
}
