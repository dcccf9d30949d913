//! The libraries a tenant may preload into its server (`shared_preload_libraries`).
//!
//! Preloaded code runs inside the server, as the server's OS account, in every process:
//! a tenant who could name any file could run code of its choosing. So the parameter is
//! the control plane's unless the operator allows libraries by name
//! (`--allow-preload-library`, default `pg_stat_statements` and `auto_explain`, both
//! shipped with PostgreSQL), and a tenant's value may list only those: plain names, never
//! a path, found where the server keeps its own libraries.

use std::fmt;

use crate::InvalidValue;

/// The parameter this list governs.
pub const SHARED_PRELOAD_LIBRARIES: &str = "shared_preload_libraries";

/// The libraries an operator lets tenants preload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreloadAllowList(Vec<String>);

impl PreloadAllowList {
    /// The names given (each a plain library name, as in `shared_preload_libraries`).
    pub fn new<I, S>(names: I) -> Result<Self, InvalidValue>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Vec::new();
        for name in names {
            let name = library_name(name.as_ref())?;
            if !list.contains(&name) {
                list.push(name);
            }
        }
        Ok(Self(list))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks a tenant's `shared_preload_libraries`: a comma-separated list of allowed
    /// names (quoted or not, as PostgreSQL reads it), or nothing.
    pub fn check(&self, value: &str) -> Result<(), InvalidValue> {
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let unquoted = item
                .strip_prefix('"')
                .and_then(|i| i.strip_suffix('"'))
                .unwrap_or(item);
            let allowed = library_name(unquoted)
                .ok()
                .is_some_and(|name| self.0.contains(&name));
            if !allowed {
                return Err(InvalidValue(format!(
                    "library \"{item}\" may not be preloaded: the libraries allowed are {self}"
                )));
            }
        }
        Ok(())
    }
}

impl fmt::Display for PreloadAllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("none"),
            names => f.write_str(&names.join(", ")),
        }
    }
}

/// A library's plain name: letters, digits and `_`, never a path.
fn library_name(raw: &str) -> Result<String, InvalidValue> {
    let name = raw.trim().to_ascii_lowercase();
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match plain {
        true => Ok(name),
        false => Err(InvalidValue(format!(
            "\"{raw}\" is not a library name: letters, digits and \"_\", no path"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> PreloadAllowList {
        PreloadAllowList::new(["pg_stat_statements", "auto_explain"]).unwrap()
    }

    #[test]
    fn only_allowed_names_pass() {
        let list = allowed();
        assert!(list.check("pg_stat_statements").is_ok());
        assert!(list.check("auto_explain, \"pg_stat_statements\"").is_ok());
        assert!(list.check("").is_ok(), "nothing preloaded");
        let refused = list.check("pg_stat_statements,evil").unwrap_err().0;
        assert_eq!(
            refused,
            "library \"evil\" may not be preloaded: the libraries allowed are \
             pg_stat_statements, auto_explain"
        );
        assert!(list.check("/tmp/pg_stat_statements").is_err(), "a path");
        assert!(list.check("$libdir/auto_explain").is_err(), "a path");
        assert!(PreloadAllowList::default().check("auto_explain").is_err());
    }

    #[test]
    fn an_operator_names_plain_libraries() {
        assert!(PreloadAllowList::new(["../x"]).is_err());
        assert_eq!(
            PreloadAllowList::new(["PG_STAT_STATEMENTS", "pg_stat_statements"])
                .unwrap()
                .to_string(),
            "pg_stat_statements"
        );
    }
}
