//! The durable workflows. Everything in this directory is replayed: it must be
//! deterministic (no clocks, sleeps, randomness or I/O; only `ctx` calls), and a shipped
//! version is never edited — a change is a new version beside it (see
//! `.agents/skills/duroxide-orchestration-versioning`).
//!
//! The lints below make reaching the CMS, the platform, processes, clocks or randomness
//! from here a compile error under `cargo clippy` (the list is in `clippy.toml`);
//! `tests/it/determinism.rs` freezes the shipped versions.

#![deny(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

pub mod backup_instance;
pub mod backup_schedule;
pub mod batch;
pub mod configure_instance;
pub mod create_instance;
pub mod create_instance_v1_1_0;
pub mod create_instance_v1_2_0;
pub mod delete_backup;
pub mod delete_instance;
pub mod delete_instance_v1_1_0;
pub mod failover_instance;
pub mod failover_instance_v1_1_0;
pub mod history_pruner;
pub mod instance_actor;
pub mod instance_actor_v1_1_0;
pub mod instance_actor_v1_2_0;
mod operation;
pub mod restart_instance;
mod retry;
pub mod set_superuser_access;
pub mod start_instance;
pub mod stop_instance;
pub mod switchover_instance;
mod tagged;
pub mod warm_pool;
