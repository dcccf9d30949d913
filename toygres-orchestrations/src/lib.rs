//! Toygres' durable workflows: creating, watching and deleting PostgreSQL instances.
//!
//! ```text
//! names.rs            every durable name, in one place
//! types.rs            orchestration inputs and outputs (recorded in history)
//! activity_types.rs   activity inputs and outputs (recorded in history)
//! registry.rs         the duroxide registries: every activity and orchestration version
//! health_sweep.rs     probes the running fleet every interval; history keeps the changes
//! log_fields.rs       the instance and orchestration id on every log line, as fields
//! orchestrations/     the workflows: deterministic, replayed, no I/O
//! activities/         the steps that touch the world, idempotent, one per file
//! activities/cms/     the activities that write the metadata store (`toygres-cms`)
//! ```
//!
//! This crate knows nothing about HTTP or the CLI, nothing about how instances run
//! (`toygres-platform`) and holds no SQL of the CMS (`toygres-cms`, a layer of its own).
//! Orchestrations reach the platform and the CMS only through activities; clippy's
//! `disallowed_*` lints, denied in `orchestrations/`, hold them to it. What other crates
//! use is exported here: [`registry`], [`names`], the types, [`Dependencies`] and the
//! [`Measures`] activities record.

pub(crate) mod activities;
pub mod activity_types;
pub mod health_sweep;
pub(crate) mod log_fields;
pub mod names;
pub(crate) mod orchestrations;
pub mod registry;
pub mod types;

/// The name the shipped orchestrations import the record's states by
/// (`crate::cms::InstanceState`): a shipped file is never edited, so the name stays, for
/// the domain's type.
mod cms {
    pub(crate) use toygres_domain::InstanceState;
}

pub use activities::dependencies::Dependencies;
pub use activities::measures::{self, Measures};
/// Validated values and typed states shared with the API and the CLI.
pub use toygres_domain as domain;
/// Where instances run.
pub use toygres_platform as platform;

/// The schema duroxide-pg keeps its tables in, apart from the CMS (`toygres_cms`).
pub const DUROXIDE_SCHEMA: &str = "toygres_duroxide";
