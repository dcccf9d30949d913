//! Activities: the only code that touches the world (platform, CMS, other orchestrations).
//!
//! One file per activity, each with its `NAME` and a `run` function that takes the shared
//! [`Dependencies`](crate::Dependencies) explicitly. Each one is idempotent:
//! it checks what is already done before doing anything, because duroxide runs activities
//! at least once.

pub mod apply_settings;
pub mod batch_progress;
pub mod check_health;
pub mod cms;
pub mod delete_instance_resources;
pub mod dependencies;
pub mod deploy_instance;
pub mod destroy_instance;
pub mod expire_backups;
pub mod fill_warm_pool;
pub mod get_instance_endpoint;
pub mod get_instance_status;
mod guardrails;
pub mod instance_names;
pub mod measures;
pub mod move_primary;
pub mod operate_instance;
pub mod probe_health;
pub mod provision_instance;
pub mod prune_history;
mod readiness;
pub mod rejoin_standbys;
pub mod remove_backup;
pub mod restore_instance;
pub mod signal_instance_deleted;
pub mod start_batch_children;
pub mod take_backup;
pub mod test_connection;
pub mod watch_instance;
mod while_state;
