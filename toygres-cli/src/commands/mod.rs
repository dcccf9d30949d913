//! One file per subcommand; this one resolves the token and dispatches.

mod backup;
mod batch;
mod completion;
mod config;
mod connection_string;
mod create;
mod delete;
mod get;
mod history;
mod label;
mod list;
mod logs;
mod operation;
mod operations;
mod wait;

pub use connection_string::Asked;

use toygres_domain::InstanceName;

use crate::args::{Args, Command, Switch, default_token_file};
use crate::client::ApiClient;
use crate::error::CliError;

pub async fn run(args: Args) -> Result<(), CliError> {
    if let Command::Completion { shell } = args.command {
        completion::print(shell);
        return Ok(());
    }
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.clone()),
        (None, Some(file)) => Some(read_token(file)?.ok_or_else(|| {
            CliError::Usage(format!("the token file {} is empty", file.display()))
        })?),
        (None, None) => read_token(&default_token_file()).ok().flatten(),
    };
    let client = ApiClient::new(&args.server, token, args.server_ca.as_deref())?;
    let format = args.output;
    match args.command {
        Command::Create {
            name,
            postgres_version,
            storage_gb,
            from_backup,
            from,
            at,
            owner,
            database,
            superuser_access,
            standbys,
            sync,
            labels,
            count,
            wait,
            timeout,
        } => {
            let request = create::Request {
                name,
                postgres_version,
                storage_gb,
                from_backup,
                from,
                at,
                owner,
                database,
                superuser_access,
                standbys,
                sync,
                labels,
                count,
                wait,
                timeout,
            };
            create::run(&client, format, request).await
        }
        Command::Backup(command) => backup::run(&client, format, command).await,
        Command::Completion { .. } => Ok(()),
        Command::Config(command) => config::run(&client, format, command).await,
        Command::Operations(command) => operations::run(&client, format, command).await,
        Command::Logs {
            name,
            follow,
            since,
            tail,
        } => {
            let query = crate::client::LogQuery {
                tail,
                since_secs: since,
                follow,
            };
            logs::run(&client, &parse_name(&name)?, &query).await
        }
        Command::Events { name } => history::events(&client, format, &parse_name(&name)?).await,
        Command::Health { name, limit } => {
            history::health(&client, format, &parse_name(&name)?, limit).await
        }
        Command::List { selector } => list::run(&client, format, selector.as_deref()).await,
        Command::Label { name, changes } => {
            label::run(&client, format, &parse_name(&name)?, &changes).await
        }
        Command::Get { name } => get::run(&client, format, &parse_name(&name)?).await,
        Command::Delete {
            names,
            selector,
            yes,
            wait,
            timeout,
        } => match (names.as_slice(), selector) {
            ([name], None) => delete::run(&client, format, &parse_name(name)?, wait, timeout).await,
            (_, selector) => {
                let chosen = batch::Chosen { names, selector };
                batch::delete(&client, format, chosen, yes, wait, timeout).await
            }
        },
        Command::Stop {
            name,
            wait,
            timeout,
        } => {
            let name = parse_name(&name)?;
            operation::run(&client, format, &name, operation::Kind::Stop, wait, timeout).await
        }
        Command::Start {
            name,
            wait,
            timeout,
        } => {
            let name = parse_name(&name)?;
            operation::run(
                &client,
                format,
                &name,
                operation::Kind::Start,
                wait,
                timeout,
            )
            .await
        }
        Command::Restart {
            name,
            wait,
            timeout,
        } => {
            let name = parse_name(&name)?;
            let kind = operation::Kind::Restart;
            operation::run(&client, format, &name, kind, wait, timeout).await
        }
        Command::Switchover {
            name,
            to,
            wait,
            timeout,
        } => {
            let name = parse_name(&name)?;
            let kind = operation::Kind::Switchover { to };
            operation::run(&client, format, &name, kind, wait, timeout).await
        }
        Command::Wait {
            name,
            target,
            timeout,
        } => {
            let name = parse_name(&name)?;
            let instance = wait::until(&client, &name, target, timeout).await?;
            wait::report(format, &instance);
            Ok(())
        }
        Command::ConnectionString {
            name,
            superuser,
            read_only,
            ca_file,
        } => {
            let ca_file = match ca_file {
                Some(file) => file,
                None => connection_string::default_ca_file(&args.server)?,
            };
            let asked = connection_string::Asked {
                superuser,
                read_only,
            };
            connection_string::run(&client, &parse_name(&name)?, asked, &ca_file).await
        }
        Command::CaCertificate { file } => connection_string::ca(&client, file.as_deref()).await,
        Command::SuperuserAccess {
            name,
            switch,
            wait,
            timeout,
        } => {
            let name = parse_name(&name)?;
            let kind = operation::Kind::SuperuserAccess {
                enabled: switch == Switch::On,
            };
            operation::run(&client, format, &name, kind, wait, timeout).await
        }
    }
}

/// Checked here too, so a typo fails fast with the same message the server would give.
fn parse_name(raw: &str) -> Result<InstanceName, CliError> {
    InstanceName::parse(raw).map_err(|e| CliError::Usage(e.0))
}

/// The token in `file` (`None` when the file is empty).
fn read_token(file: &std::path::Path) -> Result<Option<String>, CliError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        CliError::Usage(format!(
            "cannot read the token file {}: {e}",
            file.display()
        ))
    })?;
    let token = text.trim();
    Ok((!token.is_empty()).then(|| token.to_string()))
}
