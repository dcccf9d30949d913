//! A real connection to an instance: log in with its credentials and run one query.
//!
//! Used both by create-instance's connection test (with the owner's login, what a user
//! gets: [`select_one`]) and by the instance actor's health probe (with the monitor's:
//! [`vitals`], which also reads how WAL archiving goes), so "healthy" means what a user's
//! first query needs: a TLS connection to the server the CA vouches for, a password login,
//! a query. A server that names its host in its certificate is probed by `wire` (cheap
//! TLS); any other (one started before instances had certificates, or one behind a load
//! balancer) through sqlx.

mod archiving;
mod wire;

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};

pub use archiving::Archiving;

use crate::{Credentials, Endpoint, Tls};
use toygres_domain::parameters::ParameterSetting;

/// What one health probe found.
#[derive(Debug, Clone, PartialEq)]
pub struct Vitals {
    /// How long the login and the query took.
    pub latency: Duration,
    pub archiving: Archiving,
}

/// Logs in and runs `SELECT 1`; how long that took.
pub async fn select_one(
    endpoint: &Endpoint,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<Duration, String> {
    let (row, latency) = query_row(endpoint, credentials, "SELECT 1::text", timeout).await?;
    match row.as_slice() {
        [Some(one)] if one == "1" => Ok(latency),
        other => Err(format!("SELECT 1 returned {other:?}")),
    }
}

/// Logs in as a login with `pg_monitor` and reads the WAL archiver's state.
pub async fn vitals(
    endpoint: &Endpoint,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<Vitals, String> {
    let (row, latency) = query_row(endpoint, credentials, archiving::QUERY, timeout).await?;
    Ok(Vitals {
        latency,
        archiving: Archiving::from_row(&row)?,
    })
}

/// Every row of the server's `pg_settings`, in one JSON value so one text row carries it.
const PARAMETERS: &str = "SELECT json_agg(json_build_object(
        'name', name, 'setting', setting, 'unit', unit, 'vartype', vartype,
        'context', context, 'source', source, 'min_val', min_val, 'max_val', max_val,
        'enumvals', enumvals, 'pending_restart', pending_restart) ORDER BY name)::text
    FROM pg_settings";

/// Logs in (the monitor's login reads every setting: `pg_monitor`) and reads what the
/// server says about each of its parameters.
pub async fn parameters(
    endpoint: &Endpoint,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<Vec<ParameterSetting>, String> {
    let (row, _) = query_row(endpoint, credentials, PARAMETERS, timeout).await?;
    match row.as_slice() {
        [Some(json)] => serde_json::from_str(json).map_err(|e| format!("reading pg_settings: {e}")),
        other => Err(format!("pg_settings returned {other:?}")),
    }
}

/// Runs `sql` (text columns only) and returns its row and how long the login and query
/// took.
async fn query_row(
    endpoint: &Endpoint,
    credentials: &Credentials,
    sql: &str,
    timeout: Duration,
) -> Result<(Vec<Option<String>>, Duration), String> {
    let failed = |e: String| {
        format!(
            "connecting to {}:{} as {}: {e}",
            endpoint.host, endpoint.port, credentials.user
        )
    };
    if let (Tls::VerifyFull, Some(ca)) = (endpoint.tls, &credentials.root_certificate) {
        let login = wire::Login {
            host: &endpoint.host,
            port: endpoint.port,
            user: &credentials.user,
            password: credentials.password(),
            database: &credentials.database,
        };
        let started = Instant::now();
        return wire::query_row(&login, ca, sql, timeout)
            .await
            .map(|row| (row, started.elapsed()))
            .map_err(failed);
    }
    let options = credentials
        .connect_options(endpoint)
        .application_name("toygres-probe");
    let started = Instant::now();
    let attempt = async {
        let mut connection = PgConnection::connect_with(&options).await?;
        let row = sqlx::query(sql).fetch_one(&mut connection).await?;
        let values = (0..row.len())
            .map(|i| row.try_get::<Option<String>, _>(i))
            .collect::<Result<Vec<_>, _>>()?;
        connection.close().await?;
        Ok::<_, sqlx::Error>(values)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(row)) => Ok((row, started.elapsed())),
        Ok(Err(e)) => Err(failed(e.to_string())),
        Err(_) => Err(format!(
            "connecting to {}:{} timed out after {}s",
            endpoint.host,
            endpoint.port,
            timeout.as_secs()
        )),
    }
}
