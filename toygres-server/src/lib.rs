//! The Toygres control plane: an HTTP API in front of the duroxide runtime that runs
//! `toygres-orchestrations`.
//!
//! `startup` wires the pieces together from `config`; the API validates requests, starts
//! or signals orchestrations through the duroxide client, and reads from the CMS.

pub mod api;
pub mod api_token;
pub mod config;
pub mod embedded_database;
pub mod engine;
pub mod platform;
pub mod reconcile;
pub mod shutdown;
pub mod startup;
pub mod system_orchestrations;
pub mod telemetry;
