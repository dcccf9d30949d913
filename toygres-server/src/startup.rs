//! Builds the running server from its configuration: database (embedded or external), CMS
//! migrations, the duroxide engine, HTTP API; and takes it down again on SIGINT/SIGTERM,
//! at any moment (see `shutdown`).
//!
//! An external database that is not up yet is waited for, with backoff, rather than
//! treated as fatal: a server started by the same `systemctl start` or `kubectl apply` as
//! its database must not lose the race.

use std::sync::Arc;
use std::time::Duration;
use toygres_domain::parameters::PreloadAllowList;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use toygres_cms as cms;
use toygres_orchestrations::health_sweep::HealthSweep;
use toygres_orchestrations::types::HistoryPrunerInput;
use toygres_orchestrations::{Dependencies, Measures, registry};
use toygres_platform::certificates::CertificateAuthority;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::local::os_user;

use crate::api::{self, AppState};
use crate::api_token::ApiToken;
use crate::config::Config;
use crate::embedded_database::EmbeddedDatabase;
use crate::engine::{self, Engine, PoolSizes, Store};
use crate::reconcile;
use crate::shutdown::Shutdown;
use crate::system_orchestrations::{self, SystemSettings};

/// How long an API request may wait for a database connection before answering 503.
pub const DATABASE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(10);

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    make_private_dir(&config.data_dir)?;
    let ca = CertificateAuthority::load_or_create(&config.ca_dir())?;
    let embedded = match &config.database_url {
        Some(_) => None,
        None => {
            // Not raced against the signal: a half-started postmaster must be stopped,
            // and only a finished start says where it is.
            let binaries = PgBinaries::discover(config.pg_bin.as_deref())?;
            let ca_file = config.ca_dir().join("ca.crt");
            let dir = config.embedded_database_dir();
            Some(EmbeddedDatabase::start(dir, binaries, ca.clone(), &ca_file).await?)
        }
    };
    let served = match (&config.database_url, &embedded) {
        (Some(url), _) => serve(&config, url, embedded.is_some(), &ca, &shutdown).await,
        (None, Some(db)) => serve(&config, db.url(), true, &ca, &shutdown).await,
        (None, None) => unreachable!("embedded is started when there is no URL"),
    };
    if let Some(db) = embedded {
        match db.stop().await {
            Ok(()) => tracing::info!("embedded database stopped"),
            Err(error) => tracing::error!("stopping the embedded database: {error:#}"),
        }
    }
    served
}

/// The data directory: not listable by other local users. As root, the accounts of
/// instances and of the embedded database pass through it to their own directories.
fn make_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mode = if os_user::running_as_root() {
        0o711
    } else {
        0o700
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the permissions of {}", dir.display()))
}

fn api_token(config: &Config, embedded: bool) -> anyhow::Result<ApiToken> {
    match (&config.api_token, &config.api_token_file) {
        (Some(token), _) => ApiToken::new(token.clone()),
        (None, Some(file)) => ApiToken::read(file),
        (None, None) if embedded => {
            let file = config.generated_token_file();
            let token = ApiToken::load_or_generate(&file)?;
            tracing::info!(token_file = %file.display(), "API token is in {}", file.display());
            Ok(token)
        }
        (None, None) => anyhow::bail!(
            "an API token is required with --database-url (--api-token-file, TOYGRES_API_TOKEN_FILE, --api-token or TOYGRES_API_TOKEN): every server sharing the database must use the same token"
        ),
    }
}

/// Connects, retrying with backoff while the database is unreachable; `None` when a stop
/// was asked for first.
async fn connect(
    database_url: &SecretString,
    shutdown: &Shutdown,
) -> anyhow::Result<Option<PgPool>> {
    let mut delay = FIRST_RETRY;
    for attempt in 1.. {
        let connecting = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(DATABASE_ACQUIRE_TIMEOUT)
            .connect(database_url.expose_secret());
        let Some(connected) = shutdown.unless_stopped(connecting).await else {
            return Ok(None);
        };
        match connected {
            Ok(pool) => {
                if attempt > 1 {
                    tracing::info!(attempt, "the database answers; starting");
                }
                return Ok(Some(pool));
            }
            Err(error) if is_unreachable(&error) => {
                tracing::warn!(
                    attempt,
                    retry_in_ms = delay.as_millis() as u64,
                    %error,
                    "waiting for the database"
                );
                if shutdown
                    .unless_stopped(tokio::time::sleep(delay))
                    .await
                    .is_none()
                {
                    return Ok(None);
                }
                delay = (delay * 2).min(MAX_RETRY);
            }
            Err(error) => return Err(error).context("connecting to the database"),
        }
    }
    unreachable!("the loop returns")
}

/// A database that is down or starting, as opposed to a wrong URL or password.
fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        // 57P03: cannot_connect_now (the server is starting up or shutting down).
        sqlx::Error::Database(e) => e.code().is_some_and(|code| code == "57P03"),
        _ => false,
    }
}

async fn serve(
    config: &Config,
    database_url: &SecretString,
    embedded: bool,
    ca: &CertificateAuthority,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let token = api_token(config, embedded)?;
    // Before anything records: duroxide's runtime and the activities' measures.
    let exporter = crate::metrics::install()?;
    let Some(cms) = connect(database_url, shutdown).await? else {
        return Ok(());
    };
    let Some(started) = shutdown
        .unless_stopped(start_engine(config, database_url, &cms, ca))
        .await
    else {
        return Ok(());
    };
    let (store, engine, platform) = started?;
    let client = store.client();
    let reconcile_settings = reconcile::Settings {
        platform: platform.clone(),
        health_check_interval_secs: config.health_check_interval_secs,
        system: system_settings(config, platform.has_warm_pool()),
    };
    system_orchestrations::publish(&cms, &reconcile_settings.system).await?;
    let reconciled = shutdown
        .unless_stopped(reconcile::run(&cms, &client, &reconcile_settings))
        .await;
    match reconciled {
        Some(Ok(done)) if done.creates_started + done.actors_restarted > 0 => {
            tracing::warn!(?done, "recovered records left without an orchestration");
        }
        Some(result) => {
            result?;
        }
        None => {}
    }
    let reconciler = tokio::spawn(reconcile::every(
        Duration::from_secs(config.reconcile_interval_secs.max(1)),
        cms.clone(),
        client.clone(),
        reconcile_settings,
    ));
    let failure_detection = tokio::spawn(crate::failover_watch::every(
        cms.clone(),
        client.clone(),
        platform.clone(),
        config.health_check_interval_secs,
    ));
    let standby_repair = tokio::spawn(crate::standby_watch::every(
        cms.clone(),
        client.clone(),
        platform.clone(),
    ));
    let state = AppState {
        cms,
        client,
        changes: store.changes(),
        platform: platform.clone(),
        token,
        health_check_interval_secs: config.health_check_interval_secs,
        batch_parallelism: config.batch_parallelism,
        preload: PreloadAllowList::new(
            config
                .allowed_preload_libraries
                .iter()
                .filter(|name| !name.is_empty()),
        )?,
        exporter,
        refusals: Arc::default(),
    };
    let metrics_server = match config.metrics_listen {
        Some(address) => Some(serve_metrics(address, state.clone(), shutdown).await?),
        None => None,
    };
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(certificate), Some(key)) => Some(crate::tls::server_config(certificate, key)?),
        _ => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    if !shutdown.requested() {
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(
            listen = %listener.local_addr()?,
            platform = platform.kind(),
            database = if embedded { "embedded" } else { "external" },
            data_dir = %config.data_dir.display(),
            "toygres-server serving on {scheme}://{}",
            listener.local_addr()?
        );
        let app = api::router(state).into_make_service_with_connect_info::<api::PeerAddress>();
        let stopped = shutdown.clone().wait_owned();
        match tls {
            Some(tls) => {
                let listener = crate::tls::TlsListener::new(listener, tls)?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
            }
            None => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
            }
        }
        .context("serving the API")?;
    }
    reconciler.abort();
    failure_detection.abort();
    standby_repair.abort();
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    tracing::info!(
        grace_secs = config.shutdown_grace_secs,
        "shutting down: no new requests; finishing in-flight work"
    );
    engine.shutdown(config.shutdown_grace()).await;
    Ok(())
}

/// Serves `/metrics` without the token on `address` until shutdown.
async fn serve_metrics(
    address: std::net::SocketAddr,
    state: AppState,
    shutdown: &Shutdown,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for metrics on {address}"))?;
    tracing::info!(listen = %listener.local_addr()?, "serving /metrics without the API token");
    let stopped = shutdown.clone().wait_owned();
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, api::metrics_router(state))
            .with_graceful_shutdown(stopped)
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "serving /metrics");
        }
    }))
}

type Started = (Store, Engine, Arc<dyn toygres_platform::Platform>);

async fn start_engine(
    config: &Config,
    database_url: &SecretString,
    cms: &PgPool,
    ca: &CertificateAuthority,
) -> anyhow::Result<Started> {
    cms::migrate(cms).await.context("applying CMS migrations")?;
    let store = Store::open(database_url.expose_secret()).await?;
    crate::operations::store::prepare(cms)
        .await
        .context("indexing operations for listing")?;
    let platform = crate::platform::build(config, ca).await?;
    let fences = crate::fence_pool::open(cms, config.platform_workers).await?;
    let deps = Dependencies::with_fence_pool(
        cms.clone(),
        fences,
        platform.clone(),
        Measures::registered(),
    );
    let mut engine = Engine::start(
        &store,
        registry::activity_registry(deps.clone()).map_err(anyhow::Error::msg)?,
        registry::orchestration_registry().map_err(anyhow::Error::msg)?,
        pool_sizes(config),
        engine::runtime_options(config.poll_interval()),
    )
    .await;
    engine.watch_health(HealthSweep::new(
        deps,
        store.client(),
        Duration::from_secs(config.health_check_interval_secs),
    ));
    Ok((store, engine, platform))
}

fn pool_sizes(config: &Config) -> PoolSizes {
    PoolSizes {
        orchestrations: config.orchestration_dispatchers,
        workers: config.worker_dispatchers,
        platform_workers: config.platform_workers,
        health_workers: config.health_workers,
    }
}

fn system_settings(config: &Config, platform_has_warm_pool: bool) -> SystemSettings {
    SystemSettings {
        pruner: HistoryPrunerInput {
            interval_secs: config.prune_interval_secs,
            keep_executions: config.keep_executions,
            orchestration_retention_secs: config.orchestration_retention_secs,
            health_retention_secs: config.health_retention_secs,
            cycle: 0,
        },
        warm_pool_size: (platform_has_warm_pool && config.warm_pool_size > 0)
            .then_some(config.warm_pool_size),
    }
}
