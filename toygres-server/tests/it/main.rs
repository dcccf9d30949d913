//! The server's integration tests, one binary: the real `toygres-server` and `toygres-cli`
//! binaries as child processes, against real PostgreSQL.

mod auth;
mod backup_guard;
mod bad_input;
mod config;
mod console;
mod crash;
mod end_to_end;
mod failed_delete;
mod failover;
mod fences;
mod fleets;
mod instance_logs;
mod kubernetes;
mod logs;
mod metrics;
mod operations;
mod restart;
mod scale_out;
mod standbys;
mod superuser_access;
mod supervision;
mod tenants;
mod tls;
mod upgrade;
mod uptime;
