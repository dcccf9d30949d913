//! The API's error codes: each with the HTTP status it is sent with. A program matches
//! the code; `docs/api.md` lists them all (a test holds the table to this enum).

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($(#[$meta:meta])* $variant:ident = ($status:literal, $text:literal),)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$meta])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The HTTP status this error is answered with.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

error_codes! {
    /// The body is not JSON.
    MalformedJson = (400, "malformed_json"),
    /// JSON of the wrong shape, a bad query parameter or path.
    InvalidRequest = (400, "invalid_request"),
    InvalidName = (400, "invalid_name"),
    InvalidPostgresVersion = (400, "invalid_postgres_version"),
    UnsupportedPostgresVersion = (400, "unsupported_postgres_version"),
    InvalidStorageSize = (400, "invalid_storage_size"),
    /// An owner role name that is not a plain identifier, or is reserved.
    InvalidOwner = (400, "invalid_owner"),
    /// A database name that is not a plain identifier, or is reserved.
    InvalidDatabase = (400, "invalid_database"),
    /// A restore that cannot be done as asked (no such backup, a moment outside what the
    /// backups cover, a different PostgreSQL version).
    InvalidRestore = (400, "invalid_restore"),
    /// A number of standbys outside 0–4, or synchronous commit without a standby.
    InvalidStandbys = (400, "invalid_standbys"),
    /// A PostgreSQL parameter the instance does not have, a value it would refuse, or
    /// one the control plane keeps to itself.
    InvalidParameter = (400, "invalid_parameter"),
    /// A label key or value outside Kubernetes' rules, or a label selector that does not
    /// parse.
    InvalidLabels = (400, "invalid_labels"),
    /// The platform cannot do this (backups and restores on Kubernetes, for now).
    UnsupportedOnPlatform = (400, "unsupported_on_platform"),
    Unauthorized = (401, "unauthorized"),
    NotFound = (404, "not_found"),
    MethodNotAllowed = (405, "method_not_allowed"),
    AlreadyExists = (409, "already_exists"),
    NotRunning = (409, "not_running"),
    /// The instance is not in a state the operation starts from.
    InvalidState = (409, "invalid_state"),
    /// A backup of the instance runs; the operation must wait for it.
    BackupRunning = (409, "backup_running"),
    /// The superuser's login was asked for, but the instance has no superuser access.
    SuperuserAccessOff = (409, "superuser_access_off"),
    /// An operation that must not be cancelled or retried (the message says what to do
    /// instead).
    OperationRefused = (409, "operation_refused"),
    PayloadTooLarge = (413, "payload_too_large"),
    UnsupportedMediaType = (415, "unsupported_media_type"),
    /// Details are in the server log only.
    Internal = (500, "internal"),
    /// The control database did not answer in time.
    Unavailable = (503, "unavailable"),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_text() {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_string(code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
            assert!((400..600).contains(&code.status()), "{code}");
        }
    }

    /// `docs/api.md`'s error table lists exactly these codes, each with its status.
    #[test]
    fn the_api_reference_lists_every_code_with_its_status() {
        let reference = include_str!("../../docs/api.md");
        let mut documented: Vec<(u16, String)> = reference
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let status = cells.get(1)?.parse::<u16>().ok()?;
                let code = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((status, code.to_string()))
            })
            .collect();
        let mut declared: Vec<(u16, String)> = ErrorCode::ALL
            .iter()
            .map(|code| (code.status(), code.as_str().to_string()))
            .collect();
        documented.sort();
        declared.sort();
        assert_eq!(documented, declared);
    }
}
