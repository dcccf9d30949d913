//! The workflows' integration tests, one binary: real PostgreSQL, real instance processes
//! and duroxide on duroxide-pg, plus a scripted platform for failure branches and the
//! Kubernetes test API server when one is configured.

mod actor_signal;
mod backups;
mod cms_events;
mod crash;
mod create_branches;
mod day2;
mod determinism;
mod disk_guardrail;
mod failure;
mod fleet;
mod health_sweep;
mod idempotency;
mod idempotency_day2;
mod kubernetes;
mod lifecycle;
mod primary_moves;
mod registry;
mod serde_round_trip;
mod upgrade;
mod upgrade_failover;
