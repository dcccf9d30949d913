//! PostgreSQL parameters a tenant may set (`toygres-cli config set shop work_mem=64MB`).
//!
//! A value is checked against the instance's own `pg_settings` row ([`ParameterSetting`],
//! read from the server the change is for) before anything changes, the way PostgreSQL
//! itself parses a configuration file: booleans, integers and reals with their units and
//! ranges, enums by their listed values. The messages are PostgreSQL's own wording, so a
//! user reads what `ALTER SYSTEM` would have said. Strings are checked by the server only
//! (their check hooks live in C): a string the server rejects when it reloads is reported
//! by the operation as not applied.
//!
//! The parameters that wire an instance into the control plane (its port, TLS, archiving,
//! replication, file locations, logging destination, preloaded code) are refused with a
//! sentence: a tenant who could change them could leave the control plane blind or run
//! code as the server. The one exception is `shared_preload_libraries`, with libraries the
//! operator allows by name ([`PreloadAllowList`]).

mod preload;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::InvalidValue;
pub use preload::{PreloadAllowList, SHARED_PRELOAD_LIBRARIES};

/// The longest name PostgreSQL accepts (`NAMEDATALEN - 1`).
const MAX_NAME_LEN: usize = 63;

/// A parameter's name, lowercased as PostgreSQL folds it: letters, digits, `_` and `.`
/// (custom parameters are `extension.name`), starting with a letter or `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ParameterName(String);

impl ParameterName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let name = raw.trim().to_ascii_lowercase();
        let mut chars = name.chars();
        let starts_well = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_well =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.".contains(c));
        if !starts_well || !rest_well || name.len() > MAX_NAME_LEN {
            return Err(InvalidValue(format!(
                "\"{raw}\" is not a parameter name: letters, digits, \"_\" and \".\", starting with a letter, at most {MAX_NAME_LEN} characters"
            )));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Why the control plane keeps this parameter to itself, if it does.
    pub fn owned_by_control_plane(&self) -> Option<&'static str> {
        let name = self.as_str();
        OWNED
            .iter()
            .find(|(owned, _)| match owned.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *owned,
            })
            .map(|(_, why)| *why)
    }
}

/// The parameters the control plane sets itself, and why (a trailing `*` is a prefix).
const OWNED: &[(&str, &str)] = &[
    ("port", "the control plane chooses the instance's port"),
    (
        "listen_addresses",
        "the control plane decides where the instance listens",
    ),
    (
        "unix_socket_*",
        "the control plane owns the instance's private socket",
    ),
    ("ssl*", "the control plane owns the instance's TLS"),
    (
        "hba_file",
        "the control plane owns the instance's login rules",
    ),
    (
        "ident_file",
        "the control plane owns the instance's login rules",
    ),
    (
        "password_encryption",
        "the control plane keeps passwords as SCRAM verifiers",
    ),
    (
        "data_directory",
        "the control plane owns the instance's files",
    ),
    ("config_file", "the control plane owns the instance's files"),
    (
        "external_pid_file",
        "the control plane owns the instance's files",
    ),
    ("archive_*", "the control plane archives WAL for backups"),
    (
        "restore_command",
        "the control plane restores WAL for backups",
    ),
    ("recovery_*", "the control plane runs recovery for restores"),
    (
        "primary_conninfo",
        "the control plane wires standbys to their primary",
    ),
    (
        "primary_slot_name",
        "the control plane wires standbys to their primary",
    ),
    (
        "promote_trigger_file",
        "the control plane promotes standbys",
    ),
    (
        "synchronous_standby_names",
        "the control plane chooses synchronous standbys",
    ),
    (
        "wal_level",
        "backups and standbys need the WAL the control plane chose",
    ),
    ("wal_log_hints", "failover rewinds need hint bits in WAL"),
    ("hot_standby", "standbys serve reads"),
    ("max_wal_senders", "backups and standbys need WAL senders"),
    (
        "shared_preload_libraries",
        "code preloaded into the server runs as the server",
    ),
    (
        "local_preload_libraries",
        "code preloaded into the server runs as the server",
    ),
    (
        "session_preload_libraries",
        "code preloaded into the server runs as the server",
    ),
    (
        "dynamic_library_path",
        "code loaded into the server runs as the server",
    ),
    (
        "jit_provider",
        "code loaded into the server runs as the server",
    ),
    (
        "logging_collector",
        "the control plane reads the instance's log",
    ),
    (
        "log_destination",
        "the control plane reads the instance's log",
    ),
    (
        "log_directory",
        "the control plane reads the instance's log",
    ),
    ("log_filename", "the control plane reads the instance's log"),
    (
        "cluster_name",
        "the control plane names the instance's processes",
    ),
];

impl TryFrom<String> for ParameterName {
    type Error = InvalidValue;

    fn try_from(raw: String) -> Result<Self, InvalidValue> {
        Self::parse(&raw)
    }
}

impl From<ParameterName> for String {
    fn from(name: ParameterName) -> String {
        name.0
    }
}

impl fmt::Display for ParameterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The parameters a tenant asked for, by name: what the instance's configuration holds
/// beyond the control plane's own.
pub type Settings = BTreeMap<ParameterName, String>;

/// One row of an instance's `pg_settings`: what its server says about a parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterSetting {
    pub name: String,
    /// The value in use, in `unit`.
    pub setting: String,
    #[serde(default)]
    pub unit: Option<String>,
    /// `bool`, `integer`, `real`, `string` or `enum`.
    pub vartype: String,
    /// When a change takes effect: `postmaster` needs a restart, `internal` never changes.
    pub context: String,
    /// Where the value in use came from (`default`, `configuration file`, ...).
    pub source: String,
    #[serde(default)]
    pub min_val: Option<String>,
    #[serde(default)]
    pub max_val: Option<String>,
    #[serde(default)]
    pub enumvals: Option<Vec<String>>,
    /// Changed in the configuration, waiting for a restart.
    pub pending_restart: bool,
}

impl ParameterSetting {
    /// A change needs the server restarted.
    pub fn needs_restart(&self) -> bool {
        self.context == "postmaster"
    }

    /// Checks `value` as PostgreSQL would; the error is PostgreSQL's sentence.
    pub fn check(&self, value: &str) -> Result<(), InvalidValue> {
        let name = &self.name;
        let invalid = || {
            InvalidValue(format!(
                "invalid value for parameter \"{name}\": \"{value}\""
            ))
        };
        match self.context.as_str() {
            "internal" => {
                return Err(InvalidValue(format!(
                    "parameter \"{name}\" cannot be changed"
                )));
            }
            _ if self.vartype == "bool" => {
                return parse_bool(value).map(|_| ()).ok_or_else(|| {
                    InvalidValue(format!("parameter \"{name}\" requires a Boolean value"))
                });
            }
            _ => {}
        }
        match self.vartype.as_str() {
            "integer" | "real" => self.check_number(value).ok_or_else(invalid)?,
            "enum" => {
                let known = self.enumvals.as_deref().unwrap_or_default();
                if !known.iter().any(|v| v.eq_ignore_ascii_case(value.trim())) {
                    return Err(InvalidValue(format!(
                        "invalid value for parameter \"{name}\": \"{value}\" (available values: {})",
                        known.join(", ")
                    )));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `None` when `value` is no number; `Some(Err)` when it is one out of range.
    fn check_number(&self, value: &str) -> Option<Result<(), InvalidValue>> {
        let (number, unit) = split_number(value)?;
        let base = match unit {
            "" => number,
            unit => number * unit_factor(unit, self.unit.as_deref())?,
        };
        let base = if self.vartype == "integer" {
            base.round()
        } else {
            base
        };
        let min: f64 = self.min_val.as_deref()?.parse().ok()?;
        let max: f64 = self.max_val.as_deref()?.parse().ok()?;
        if base.is_nan() || base < min || base > max {
            let unit = self
                .unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            return Some(Err(InvalidValue(format!(
                "{base}{unit} is outside the valid range for parameter \"{}\" ({min} .. {max})",
                self.name
            ))));
        }
        Some(Ok(()))
    }
}

/// PostgreSQL's booleans: `on`/`off`, `1`/`0`, and `true`, `false`, `yes`, `no` or a
/// prefix of one (`of` at least for `off`).
fn parse_bool(value: &str) -> Option<bool> {
    let value = value.trim().to_ascii_lowercase();
    let prefix_of = |word: &str| !value.is_empty() && word.starts_with(value.as_str());
    match value.as_str() {
        "1" | "on" => Some(true),
        "0" | "of" | "off" => Some(false),
        _ if prefix_of("true") || prefix_of("yes") => Some(true),
        _ if prefix_of("false") || prefix_of("no") => Some(false),
        _ => None,
    }
}

/// A number and the unit written after it (`"64MB"` → 64, `"MB"`).
fn split_number(value: &str) -> Option<(f64, &str)> {
    let value = value.trim();
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(end);
    // An exponent's `e` followed by no digit belongs to no number.
    let number: f64 = number.parse().ok()?;
    Some((number, unit.trim()))
}

/// How many of the parameter's `base` units one `unit` is: memory in bytes, time in
/// microseconds, as PostgreSQL's unit tables say (`None`: not a unit of that kind).
fn unit_factor(unit: &str, base: Option<&str>) -> Option<f64> {
    let base = base?;
    let (written, of_base) = match (memory_bytes(unit), memory_bytes(base)) {
        (Some(written), Some(of_base)) => (written, of_base),
        _ => (time_micros(unit)?, time_micros(base)?),
    };
    Some(written / of_base)
}

fn memory_bytes(unit: &str) -> Option<f64> {
    let kb = 1024.0;
    Some(match unit {
        "B" => 1.0,
        "kB" => kb,
        "8kB" => 8.0 * kb,
        "16MB" => 16.0 * kb * kb,
        "MB" => kb * kb,
        "GB" => kb * kb * kb,
        "TB" => kb * kb * kb * kb,
        _ => return None,
    })
}

fn time_micros(unit: &str) -> Option<f64> {
    Some(match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "min" => 60e6,
        "h" => 3600e6,
        "d" => 86_400e6,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(
        name: &str,
        vartype: &str,
        unit: Option<&str>,
        range: (&str, &str),
    ) -> ParameterSetting {
        ParameterSetting {
            name: name.into(),
            setting: "0".into(),
            unit: unit.map(Into::into),
            vartype: vartype.into(),
            context: "user".into(),
            source: "default".into(),
            min_val: Some(range.0.into()),
            max_val: Some(range.1.into()),
            enumvals: None,
            pending_restart: false,
        }
    }

    #[test]
    fn names_are_folded_and_checked() {
        assert_eq!(
            ParameterName::parse(" Work_Mem ").unwrap().as_str(),
            "work_mem"
        );
        assert_eq!(
            ParameterName::parse("pg_stat_statements.max")
                .unwrap()
                .as_str(),
            "pg_stat_statements.max"
        );
        for bad in ["", "1abc", "work-mem", "a;b", &"x".repeat(64)] {
            assert!(ParameterName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_control_plane_keeps_its_own() {
        for owned in [
            "port",
            "ssl",
            "ssl_cert_file",
            "archive_command",
            "shared_preload_libraries",
            "unix_socket_directories",
        ] {
            assert!(
                ParameterName::parse(owned)
                    .unwrap()
                    .owned_by_control_plane()
                    .is_some(),
                "{owned}"
            );
        }
        for free in [
            "work_mem",
            "max_connections",
            "statement_timeout",
            "log_min_duration_statement",
        ] {
            assert!(
                ParameterName::parse(free)
                    .unwrap()
                    .owned_by_control_plane()
                    .is_none(),
                "{free}"
            );
        }
    }

    #[test]
    fn memory_values_are_read_with_their_units_and_range() {
        let work_mem = setting("work_mem", "integer", Some("kB"), ("64", "2147483647"));
        for good in ["64MB", "4096", "1GB", " 1.5GB", "64kB"] {
            work_mem.check(good).unwrap();
        }
        assert_eq!(
            work_mem.check("abc").unwrap_err().0,
            "invalid value for parameter \"work_mem\": \"abc\""
        );
        assert_eq!(
            work_mem.check("64 parsecs").unwrap_err().0,
            "invalid value for parameter \"work_mem\": \"64 parsecs\""
        );
        assert_eq!(
            work_mem.check("1kB").unwrap_err().0,
            "1 kB is outside the valid range for parameter \"work_mem\" (64 .. 2147483647)"
        );
        let shared_buffers = setting(
            "shared_buffers",
            "integer",
            Some("8kB"),
            ("16", "1073741823"),
        );
        shared_buffers.check("128MB").unwrap();
        assert!(shared_buffers.check("64kB").is_err());
    }

    #[test]
    fn time_values_are_read_with_their_units() {
        let timeout = setting(
            "statement_timeout",
            "integer",
            Some("ms"),
            ("0", "2147483647"),
        );
        for good in ["5s", "250ms", "2min", "1h", "0"] {
            timeout.check(good).unwrap();
        }
        assert!(timeout.check("5MB").is_err());
        assert!(timeout.check("-1").is_err());
    }

    #[test]
    fn booleans_enums_and_internals_speak_postgres() {
        let jit = ParameterSetting {
            vartype: "bool".into(),
            ..setting("jit", "bool", None, ("", ""))
        };
        for good in ["on", "OFF", "t", "yes", "0", "fal"] {
            jit.check(good).unwrap();
        }
        assert_eq!(
            jit.check("maybe").unwrap_err().0,
            "parameter \"jit\" requires a Boolean value"
        );
        let level = ParameterSetting {
            enumvals: Some(vec!["debug".into(), "info".into(), "warning".into()]),
            ..setting("client_min_messages", "enum", None, ("", ""))
        };
        level.check("WARNING").unwrap();
        assert!(
            level
                .check("loud")
                .unwrap_err()
                .0
                .contains("available values: debug, info, warning")
        );
        let internal = ParameterSetting {
            context: "internal".into(),
            ..setting("block_size", "integer", None, ("8192", "8192"))
        };
        assert_eq!(
            internal.check("8192").unwrap_err().0,
            "parameter \"block_size\" cannot be changed"
        );
    }
}
