//! Toygres' durable workflows: creating, watching and deleting PostgreSQL instances.
//!
//! This crate knows nothing about HTTP or the CLI. It provides the duroxide registries
//! ([`registry`]), the platforms instances run on ([`platform`]), and the metadata store
//! ([`cms`]) the control plane reads. Orchestrations are deterministic and replayed;
//! activities are idempotent and receive their dependencies explicitly.

pub mod activities;
pub mod activity_types;
pub mod cms;
pub mod dependencies;
pub mod names;
pub mod orchestrations;
pub mod platform;
pub mod probe;
pub mod registry;
pub mod types;

pub use dependencies::Dependencies;

/// The schema duroxide-pg keeps its tables in, apart from the CMS (`toygres_cms`).
pub const DUROXIDE_SCHEMA: &str = "toygres_duroxide";
/// Validated values shared with the API and the CLI.
pub use toygres_domain as domain;
