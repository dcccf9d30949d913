//! `/api/v1/instances`: one file per operation, plus how a record is shown.

pub mod connection;
pub mod create;
pub mod delete;
pub mod get;
pub mod list;
mod view;

use toygres_domain::ErrorCode;
use toygres_domain::InstanceName;

use super::ApiError;

/// A name from the URL, checked like a name in a request body.
fn parse_name(raw: String) -> Result<InstanceName, ApiError> {
    InstanceName::parse(raw).map_err(|e| ApiError::new(ErrorCode::InvalidName, e.0))
}
