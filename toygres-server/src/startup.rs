//! Builds the running server from its configuration: database (embedded or external), CMS
//! migrations, duroxide runtime, HTTP API; and takes it down again on SIGINT/SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use duroxide::runtime::Runtime;
use duroxide::{Client, RuntimeOptions};
use duroxide_pg::PostgresProvider;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use toygres_orchestrations::platform::local::binaries::PgBinaries;
use toygres_orchestrations::{DUROXIDE_SCHEMA, Dependencies, cms, registry};

use crate::api::{self, AppState};
use crate::api_token::ApiToken;
use crate::config::Config;
use crate::embedded_database::EmbeddedDatabase;
use crate::reconcile;

pub async fn run(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let embedded = match &config.database_url {
        Some(_) => None,
        None => {
            let binaries = PgBinaries::discover(config.pg_bin.as_deref())?;
            Some(EmbeddedDatabase::start(config.embedded_database_dir(), binaries).await?)
        }
    };
    let token = api_token(&config, embedded.is_some())?;
    let database_url = match (&config.database_url, &embedded) {
        (Some(url), _) => url.clone(),
        (None, Some(db)) => db.url().to_string(),
        (None, None) => unreachable!("embedded is started when there is no URL"),
    };
    let served = serve(&config, &database_url, token, embedded.is_some()).await;
    if let Some(db) = embedded {
        match db.stop().await {
            Ok(()) => tracing::info!("embedded database stopped"),
            Err(error) => tracing::error!("stopping the embedded database: {error:#}"),
        }
    }
    served
}

fn api_token(config: &Config, embedded: bool) -> anyhow::Result<ApiToken> {
    match &config.api_token {
        Some(token) => ApiToken::new(token.clone()),
        None if embedded => {
            let file = config.api_token_file();
            let token = ApiToken::load_or_generate(&file)?;
            tracing::info!(token_file = %file.display(), "API token is in {}", file.display());
            Ok(token)
        }
        None => anyhow::bail!(
            "--api-token (TOYGRES_API_TOKEN) is required with --database-url: every server sharing the database must use the same token"
        ),
    }
}

async fn serve(
    config: &Config,
    database_url: &str,
    token: ApiToken,
    embedded: bool,
) -> anyhow::Result<()> {
    let cms = PgPoolOptions::new()
        .max_connections(10)
        .connect(database_url)
        .await
        .context("connecting to the database")?;
    cms::migrate(&cms)
        .await
        .context("applying CMS migrations")?;
    let provider = Arc::new(
        PostgresProvider::new_with_schema(database_url, Some(DUROXIDE_SCHEMA))
            .await
            .context("starting the duroxide store")?,
    );
    let platform = crate::platform::build(config).await?;
    let deps = Dependencies::new(cms.clone(), platform.clone());
    let runtime = Runtime::start_with_options(
        provider.clone(),
        registry::activity_registry(deps).map_err(anyhow::Error::msg)?,
        registry::orchestration_registry().map_err(anyhow::Error::msg)?,
        runtime_options(config),
    )
    .await;
    let client = Client::new(provider);
    let reconciled = reconcile::run(&cms, &client, config.health_check_interval_secs).await?;
    if reconciled != reconcile::Reconciled::default() {
        tracing::warn!(
            ?reconciled,
            "recovered records left without an orchestration"
        );
    }

    let reconciler = tokio::spawn(reconcile::every(
        std::time::Duration::from_secs(config.reconcile_interval_secs.max(1)),
        cms.clone(),
        client.clone(),
        config.health_check_interval_secs,
    ));

    let state = AppState {
        cms,
        client,
        platform: platform.clone(),
        token,
        health_check_interval_secs: config.health_check_interval_secs,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        platform = platform.kind(),
        database = if embedded { "embedded" } else { "external" },
        data_dir = %config.data_dir.display(),
        "toygres-server serving on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving the API")?;
    reconciler.abort();
    tracing::info!(
        grace_secs = config.shutdown_grace_secs,
        "shutting down: no new requests; finishing in-flight work"
    );
    runtime
        .shutdown(Some(config.shutdown_grace().as_millis() as u64))
        .await;
    Ok(())
}

fn runtime_options(config: &Config) -> RuntimeOptions {
    RuntimeOptions {
        orchestration_concurrency: config.orchestration_dispatchers,
        worker_concurrency: config.worker_dispatchers,
        dispatcher_min_poll_interval: config.poll_interval(),
        ..RuntimeOptions::default()
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("install the SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("install the SIGINT handler");
    let received = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(signal = received, "shutdown requested");
}
