//! The durable workflows. Everything in this directory is replayed: it must be
//! deterministic (no clocks, sleeps, randomness or I/O; only `ctx` calls), and a shipped
//! version is never edited — a change is a new version beside it (see
//! `.agents/skills/duroxide-orchestration-versioning`). Tests enforce both.

pub mod create_instance;
pub mod create_instance_v1_1_0;
pub mod delete_instance;
pub mod delete_instance_v1_1_0;
pub mod history_pruner;
pub mod instance_actor;
pub mod instance_actor_v1_1_0;
mod retry;
mod tagged;
pub mod warm_pool;
