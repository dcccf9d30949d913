//! A real connection to an instance: log in with its credentials and run `SELECT 1`.
//!
//! Used both by create-instance's connection test (with the owner's login, what a user
//! gets) and by the instance actor's health probe (with the monitor's), so "healthy" means
//! what a user's first query needs: a TLS connection to the server the CA vouches for, a
//! password login, a query. A server that names its host in its certificate is probed by
//! `wire` (cheap TLS); any other (one started before instances had certificates, or one
//! behind a load balancer) through sqlx.

mod wire;

use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::{Credentials, Endpoint, Tls};

/// Returns how long the login and query took.
pub async fn select_one(
    endpoint: &Endpoint,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<Duration, String> {
    if let (Tls::VerifyFull, Some(ca)) = (endpoint.tls, &credentials.root_certificate) {
        let login = wire::Login {
            host: &endpoint.host,
            port: endpoint.port,
            user: &credentials.user,
            password: credentials.password(),
            database: &credentials.database,
        };
        let started = Instant::now();
        return wire::select_one(&login, ca, timeout)
            .await
            .map(|()| started.elapsed())
            .map_err(|e| {
                format!(
                    "connecting to {}:{} as {}: {e}",
                    endpoint.host, endpoint.port, credentials.user
                )
            });
    }
    let options = credentials
        .connect_options(endpoint)
        .application_name("toygres-probe");
    let started = Instant::now();
    let attempt = async {
        let mut connection = PgConnection::connect_with(&options).await?;
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut connection)
            .await?;
        connection.close().await?;
        Ok::<i32, sqlx::Error>(one)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(1)) => Ok(started.elapsed()),
        Ok(Ok(other)) => Err(format!("SELECT 1 returned {other}")),
        Ok(Err(e)) => Err(format!(
            "connecting to {}:{} as {}: {e}",
            endpoint.host, endpoint.port, credentials.user
        )),
        Err(_) => Err(format!(
            "connecting to {}:{} timed out after {}s",
            endpoint.host,
            endpoint.port,
            timeout.as_secs()
        )),
    }
}
