//! `stop|start|restart NAME`, `superuser-access NAME on|off` and `switchover NAME [--to
//! MEMBER]` and `config set|reset NAME ...`, `[--wait] [--timeout SECS]`: one shape, six
//! operations.

use toygres_domain::InstanceName;
use toygres_domain::api::{Accepted, ConfigChangeRequest};

use super::wait;
use crate::args::{Format, Target};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

#[derive(Debug, Clone)]
pub enum Kind {
    Stop,
    Start,
    Restart,
    SuperuserAccess { enabled: bool },
    Switchover { to: Option<String> },
    Configure { change: ConfigChangeRequest },
}

impl Kind {
    fn doing(&self) -> &'static str {
        match self {
            Self::Stop => "stopping",
            Self::Start => "starting",
            Self::Restart => "restarting",
            Self::SuperuserAccess { enabled: true } => "turning on superuser access of",
            Self::SuperuserAccess { enabled: false } => "turning off superuser access of",
            Self::Switchover { .. } => "switching over",
            Self::Configure { .. } => "changing the parameters of",
        }
    }

    fn target(&self) -> Target {
        match self {
            Self::Stop => Target::Stopped,
            Self::Start
            | Self::Restart
            | Self::SuperuserAccess { .. }
            | Self::Switchover { .. }
            | Self::Configure { .. } => Target::Running,
        }
    }

    async fn ask(&self, client: &ApiClient, name: &InstanceName) -> Result<Accepted, CliError> {
        let name = name.as_str();
        match self {
            Self::Stop => client.operate(name, "stop").await,
            Self::Start => client.operate(name, "start").await,
            Self::Restart => client.operate(name, "restart").await,
            Self::SuperuserAccess { enabled } => client.superuser_access(name, *enabled).await,
            Self::Switchover { to } => client.switchover(name, to.as_deref()).await,
            Self::Configure { change } => client.change_config(name, change).await,
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
    let accepted = kind.ask(client, name).await?;
    if !wait_for_it {
        match format {
            Format::Json => output::json(&accepted),
            Format::Table => crate::output::say!(
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
