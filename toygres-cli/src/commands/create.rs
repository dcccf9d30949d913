//! `create NAME [--postgres-version V] [--storage-gb N] [--owner ROLE] [--database DB]
//! [--superuser-access] [--standbys N [--sync]] [--from-backup ID | --from SRC [--at TIME]]
//! [--wait] [--timeout SECS]`

use toygres_domain::api::{BatchCreateRequest, CreateInstanceRequest, VersionField};
use toygres_domain::{DatabaseName, PostgresVersion, RoleName, Standbys, StorageSize};

use super::{parse_name, wait};
use crate::args::{Format, Target};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::output;

pub struct Request {
    pub name: String,
    pub postgres_version: Option<String>,
    pub storage_gb: Option<u32>,
    pub from_backup: Option<uuid::Uuid>,
    pub from: Option<String>,
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    pub owner: Option<String>,
    pub database: Option<String>,
    pub superuser_access: bool,
    pub standbys: Option<u32>,
    pub sync: bool,
    pub labels: Vec<String>,
    pub count: Option<u32>,
    pub wait: bool,
    pub timeout: u64,
}

pub async fn run(client: &ApiClient, format: Format, request: Request) -> Result<(), CliError> {
    let name = parse_name(&request.name)?;
    if let Some(version) = &request.postgres_version {
        PostgresVersion::parse(version).map_err(|e| CliError::Usage(e.0))?;
    }
    if let Some(gib) = request.storage_gb {
        StorageSize::from_gib(gib).map_err(|e| CliError::Usage(e.0))?;
    }
    if let Some(owner) = &request.owner {
        RoleName::parse(owner.as_str()).map_err(|e| CliError::Usage(e.0))?;
    }
    if let Some(database) = &request.database {
        DatabaseName::parse(database.as_str()).map_err(|e| CliError::Usage(e.0))?;
    }
    Standbys::new(request.standbys.unwrap_or(0), request.sync).map_err(|e| CliError::Usage(e.0))?;
    let template = CreateInstanceRequest {
        name: name.to_string(),
        postgres_version: request.postgres_version.map(VersionField::Text),
        storage_gb: request.storage_gb,
        from_backup: request.from_backup,
        from_instance: request.from,
        at: request.at,
        owner: request.owner,
        database: request.database,
        superuser_access: request.superuser_access.then_some(true),
        standbys: request.standbys,
        synchronous: request.sync.then_some(true),
        labels: super::label::pairs(&request.labels)?,
    };
    if let Some(count) = request.count {
        let batch = BatchCreateRequest { count, template };
        return super::batch::create(client, format, &batch, request.wait, request.timeout).await;
    }
    let accepted = client.create(&template).await?;
    if !request.wait {
        match format {
            Format::Json => output::json(&accepted),
            Format::Table => crate::output::say!(
                "creating {name} (orchestration {}); follow it with: toygres-cli wait {name} --for running",
                accepted.orchestration_id
            ),
        }
        return Ok(());
    }
    let instance = wait::until(client, &name, Target::Running, request.timeout).await?;
    wait::report(format, &instance);
    Ok(())
}
