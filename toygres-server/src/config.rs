//! Server configuration, from flags or environment variables (flags win).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use secrecy::SecretString;
use toygres_platform::local::ports::PortRange;

#[derive(Debug, Clone, Parser)]
#[command(name = "toygres-server", version, about = "The Toygres control plane")]
pub struct Config {
    /// Address the HTTP API listens on.
    #[arg(long, env = "TOYGRES_LISTEN", default_value = "127.0.0.1:7480")]
    pub listen: SocketAddr,

    /// Serve the API over TLS with this certificate (PEM, with its chain), for a server
    /// that listens beyond loopback.
    #[arg(long, env = "TOYGRES_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "TOYGRES_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Also serve `/metrics` on this address, without the API token (for a Prometheus on
    /// a private network). On the API's address it needs the token like every route.
    #[arg(long, env = "TOYGRES_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Where the server keeps its state: the embedded database, local instances, the API token.
    #[arg(long, env = "TOYGRES_DATA_DIR", default_value = "./.toygres")]
    pub data_dir: PathBuf,

    /// PostgreSQL for the CMS and duroxide; without it an embedded cluster in the data
    /// directory is started. Several servers may share one database. It holds a password:
    /// on the command line it is visible to every local user, so prefer the environment.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = secret)]
    pub database_url: Option<SecretString>,

    /// Where instances run.
    #[arg(long, env = "TOYGRES_PLATFORM", value_enum, default_value_t = PlatformKind::Local)]
    pub platform: PlatformKind,

    /// Bearer token the API requires. On the command line it is visible to every local
    /// user (ps, /proc/*/cmdline): prefer --api-token-file or TOYGRES_API_TOKEN. Without
    /// either, in embedded mode, one is generated into `<data-dir>/api-token`; with
    /// --database-url one is required (all servers must share it).
    #[arg(long, env = "TOYGRES_API_TOKEN", hide_env_values = true, value_parser = secret, conflicts_with = "api_token_file")]
    pub api_token: Option<SecretString>,

    /// File holding the bearer token the API requires.
    #[arg(long, env = "TOYGRES_API_TOKEN_FILE")]
    pub api_token_file: Option<PathBuf>,

    /// duroxide orchestration dispatchers in this process.
    #[arg(long, env = "TOYGRES_ORCHESTRATION_DISPATCHERS", default_value_t = 2, value_parser = at_least_one())]
    pub orchestration_dispatchers: usize,

    /// duroxide activity workers for short steps (CMS updates) in this process.
    #[arg(long, env = "TOYGRES_WORKER_DISPATCHERS", default_value_t = 2, value_parser = at_least_one())]
    pub worker_dispatchers: usize,

    /// Workers for long platform work (deploys, deletes, warm-pool refills) in this process.
    #[arg(long, env = "TOYGRES_PLATFORM_WORKERS", default_value_t = 4, value_parser = at_least_one())]
    pub platform_workers: usize,

    /// How many creates or deletes of one batch may be under way at once; the rest wait
    /// their turn, so a large batch never queues ahead of everybody else's work.
    #[arg(long, env = "TOYGRES_BATCH_PARALLELISM", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_parallelism: u32,

    /// Libraries tenants may put in `shared_preload_libraries` (`config set`), by name;
    /// preloaded code runs as the server, so only these, never a path. `--allow-preload-library ''`
    /// allows none.
    #[arg(
        long = "allow-preload-library",
        env = "TOYGRES_ALLOW_PRELOAD_LIBRARIES",
        value_delimiter = ',',
        default_value = "pg_stat_statements,auto_explain",
        value_parser = preload_library
    )]
    pub allowed_preload_libraries: Vec<String>,

    /// Workers for health probes in this process.
    #[arg(long, env = "TOYGRES_HEALTH_WORKERS", default_value_t = 4, value_parser = at_least_one())]
    pub health_workers: usize,

    /// Longest an idle dispatcher waits before it checks the store again, in milliseconds.
    /// Dispatchers wake as soon as work is written (NOTIFY); this only bounds how long a
    /// lost wake-up can delay a step.
    #[arg(long, env = "TOYGRES_POLL_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    pub poll_interval_ms: u64,

    /// How often each instance's actor probes it, in seconds.
    #[arg(long, env = "TOYGRES_HEALTH_CHECK_INTERVAL_SECS", default_value_t = 30)]
    pub health_check_interval_secs: u64,

    /// Log line format.
    #[arg(long, env = "TOYGRES_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Directory of the PostgreSQL server binaries (default: pg_config, then /usr/lib/postgresql/*/bin).
    #[arg(long, env = "TOYGRES_PG_BIN")]
    pub pg_bin: Option<PathBuf>,

    /// How often to look for records left without an orchestration (a create never
    /// started, a health actor that died) and recover them, in seconds.
    #[arg(long, env = "TOYGRES_RECONCILE_INTERVAL_SECS", default_value_t = 60)]
    pub reconcile_interval_secs: u64,

    /// Ports local instances listen on; must lie outside the kernel's ephemeral range.
    #[arg(long, env = "TOYGRES_INSTANCE_PORTS", default_value_t = PortRange::DEFAULT)]
    pub instance_ports: PortRange,

    /// `initdb` runs allowed at once on the local platform (default: one per CPU).
    #[arg(long, env = "TOYGRES_MAX_CONCURRENT_INITDB")]
    pub max_concurrent_initdb: Option<usize>,

    /// Data directories the local platform keeps initialised ahead of creates (0: none).
    #[arg(long, env = "TOYGRES_WARM_POOL_SIZE", default_value_t = 2)]
    pub warm_pool_size: u32,

    /// How often the history pruner runs, in seconds.
    #[arg(long, env = "TOYGRES_PRUNE_INTERVAL_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub prune_interval_secs: u64,

    /// Executions of each running orchestration kept by the pruner (the current one included).
    #[arg(long, env = "TOYGRES_KEEP_EXECUTIONS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_executions: u32,

    /// Finished orchestrations (creates, deletes, ended actors) are deleted after this many seconds.
    #[arg(long, env = "TOYGRES_ORCHESTRATION_RETENTION_SECS", default_value_t = 7 * 24 * 3600)]
    pub orchestration_retention_secs: u64,

    /// Health checks are kept this many seconds.
    #[arg(long, env = "TOYGRES_HEALTH_RETENTION_SECS", default_value_t = 7 * 24 * 3600)]
    pub health_retention_secs: u64,

    /// How long in-flight work may take to finish at shutdown, in seconds.
    #[arg(long, env = "TOYGRES_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    #[command(flatten)]
    pub kubernetes: KubernetesArgs,
}

/// Settings of `--platform kubernetes` (the cluster comes from KUBECONFIG, ~/.kube/config
/// or the in-cluster service account).
#[derive(Debug, Clone, clap::Args)]
pub struct KubernetesArgs {
    /// Namespace instances are created in.
    #[arg(long, env = "TOYGRES_KUBE_NAMESPACE", default_value = "toygres")]
    pub kube_namespace: String,

    /// Prefix of the `postgres:<major>` image (a registry mirror, with trailing slash).
    #[arg(
        long,
        env = "TOYGRES_KUBE_IMAGE_REGISTRY",
        default_value = "docker.io/library/"
    )]
    pub kube_image_registry: String,

    /// StorageClass of the data volumes (default: the cluster's default class).
    #[arg(long, env = "TOYGRES_KUBE_STORAGE_CLASS")]
    pub kube_storage_class: Option<String>,

    /// Service type of each instance.
    #[arg(long, env = "TOYGRES_KUBE_SERVICE_TYPE", value_enum, default_value_t = KubeServiceType::ClusterIp)]
    pub kube_service_type: KubeServiceType,

    /// Service port of each instance.
    #[arg(long, env = "TOYGRES_KUBE_SERVICE_PORT", default_value_t = 5432)]
    pub kube_service_port: u16,

    /// How clients reach instances: the Service's cluster DNS name (control plane in the
    /// cluster) or the LoadBalancer's address.
    #[arg(long, env = "TOYGRES_KUBE_ENDPOINT", value_enum, default_value_t = KubeEndpoint::ClusterDns)]
    pub kube_endpoint: KubeEndpoint,

    /// Cluster DNS domain for `cluster-dns` endpoints.
    #[arg(
        long,
        env = "TOYGRES_KUBE_CLUSTER_DOMAIN",
        default_value = "cluster.local"
    )]
    pub kube_cluster_domain: String,

    /// HOST:PORT that reaches every instance (a port-forward); overrides --kube-endpoint.
    #[arg(long, env = "TOYGRES_KUBE_ENDPOINT_ADDRESS")]
    pub kube_endpoint_address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KubeServiceType {
    ClusterIp,
    LoadBalancer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KubeEndpoint {
    ClusterDns,
    LoadBalancer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlatformKind {
    /// PostgreSQL server processes on this machine.
    Local,
    /// Secret + StatefulSet + Service per instance on a Kubernetes cluster.
    Kubernetes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A value that must never be printed.
fn secret(value: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(value.to_string()))
}

fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

impl Config {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn instances_dir(&self) -> PathBuf {
        self.data_dir.join("instances")
    }

    /// The control plane's certificate authority (`ca.crt`, and `ca.key` mode 0600).
    pub fn ca_dir(&self) -> PathBuf {
        self.data_dir.join("ca")
    }

    pub fn embedded_database_dir(&self) -> PathBuf {
        self.data_dir.join("control-plane")
    }

    /// Where a generated API token is kept (embedded mode).
    pub fn generated_token_file(&self) -> PathBuf {
        self.data_dir.join("api-token")
    }
}

/// A library tenants may preload: a plain name (an empty one allows nothing).
fn preload_library(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    toygres_domain::parameters::PreloadAllowList::new([raw])
        .map(|_| raw.to_ascii_lowercase())
        .map_err(|invalid| invalid.0)
}
