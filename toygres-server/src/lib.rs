//! The Toygres control plane: an HTTP API in front of the duroxide runtime that runs
//! `toygres-orchestrations`.
//!
//! `startup` wires the pieces together from `config`; the API validates requests, starts
//! or signals orchestrations through the duroxide client, and reads from the CMS.

pub(crate) mod api;
pub(crate) mod api_token;
pub(crate) mod backup_closing;
pub mod config;
pub(crate) mod console;
pub(crate) mod embedded_database;
pub mod engine;
pub(crate) mod ensure_running;
pub(crate) mod failover_watch;
pub(crate) mod fence_pool;
pub(crate) mod instance_operation;
pub(crate) mod metrics;
pub(crate) mod operations;
pub(crate) mod platform;
pub(crate) mod reconcile;
pub mod shutdown;
pub(crate) mod standby_watch;
pub mod startup;
pub(crate) mod system_orchestrations;
pub mod telemetry;
pub(crate) mod tls;
