//! The vocabulary every Toygres crate shares.
//!
//! Validated values ([`InstanceName`], [`PostgresVersion`], [`StorageSize`], [`RoleName`],
//! [`DatabaseName`], [`Standbys`]) can only be constructed through a checking constructor, also used by
//! serde, so code that holds one never has to ask whether it is valid: "parse, don't
//! validate". The API, the CLI and the
//! orchestrations all use these, so a name the CLI accepts is a name the server accepts.
//! [`api`] holds the JSON shapes of the HTTP API, shared by the server and the CLI, with
//! typed states ([`InstanceState`], [`HealthStatus`], [`OperationStatus`]) and error codes
//! ([`ErrorCode`]) in them.

pub mod api;
mod error_code;
mod instance_name;
mod labels;
mod member;
pub mod parameters;
mod postgres_version;
mod sql_name;
mod standbys;
mod state;
mod storage_size;

pub use error_code::ErrorCode;
pub use instance_name::InstanceName;
pub use labels::{Labels, Selector, check_label, check_labels};
pub use member::{MemberRole, MemberState};
pub use postgres_version::PostgresVersion;
pub use sql_name::{DatabaseName, RoleName};
pub use standbys::{MAX_STANDBYS, Standbys};
pub use state::{
    BackupState, HealthStatus, InstanceState, OperationKind, OperationStatus, UnknownText,
};
pub use storage_size::StorageSize;

/// Why a value was rejected; the message is meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);
