//! Validated domain values shared by the orchestrations, the API and the CLI.
//!
//! Each type can only be constructed through a checking constructor (also used by serde),
//! so code that holds one never has to ask whether it is valid: "parse, don't validate".

mod instance_name;
mod postgres_version;
mod storage_size;

pub use instance_name::InstanceName;
pub use postgres_version::PostgresVersion;
pub use storage_size::StorageSize;

/// Why a value was rejected; the message is meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);
