//! The durable workflows. Everything in this directory is replayed: it must be
//! deterministic (no clocks, sleeps, randomness or I/O; only `ctx` calls), and a shipped
//! version is never edited — a change is a new version beside it (see
//! `.agents/skills/duroxide-orchestration-versioning`). Tests enforce both.

pub mod create_instance;
pub mod delete_instance;
pub mod instance_actor;
mod retry;
