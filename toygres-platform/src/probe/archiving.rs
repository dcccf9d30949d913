//! How an instance's WAL archiving goes, as its server tells it: `pg_stat_archiver` and
//! the segments waiting in `pg_wal/archive_status` (`pg_ls_archive_statusdir()`, which
//! `pg_monitor` may call).
//!
//! Archiving that fails is silent until it hurts: the server keeps every segment it could
//! not archive, so its disk fills, and no moment after the last archived segment can be
//! restored. The health probe reads this on every check so the control plane can say so
//! long before.

use chrono::{DateTime, Utc};

/// One row of text columns: failures so far, whether the last attempt failed (a failure
/// newer than the last success), the segment that failed, when the last segment was
/// archived (epoch seconds) and how many segments wait.
/// Schema-qualified, so a tenant's objects on the monitor's search path are not read.
pub(super) const QUERY: &str = "SELECT failed_count::text,
        (last_failed_time > coalesce(last_archived_time, '-infinity'))::text,
        last_failed_wal,
        extract(epoch FROM last_archived_time)::text,
        (SELECT count(*) FROM pg_catalog.pg_ls_archive_statusdir()
         WHERE name LIKE '%.ready')::text
    FROM pg_catalog.pg_stat_archiver";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Archiving {
    /// The archiver's last attempt failed.
    pub failing: bool,
    /// Failed attempts since the statistics were reset.
    pub failed_count: i64,
    /// The segment whose archiving failed last.
    pub last_failed_wal: Option<String>,
    /// When a segment was last archived.
    pub last_archived_at: Option<DateTime<Utc>>,
    /// Complete segments not archived yet.
    pub waiting_segments: i64,
}

impl Archiving {
    /// Reads the row [`QUERY`] returns. The server may be under a hostile tenant's control:
    /// anything malformed is an error, never a panic.
    pub(super) fn from_row(row: &[Option<String>]) -> Result<Self, String> {
        let [failed, failing, wal, archived_at, waiting] = row else {
            return Err(format!(
                "the archiver's state has {} columns, not 5",
                row.len()
            ));
        };
        let number = |value: &Option<String>, what: &str| {
            value
                .as_deref()
                .unwrap_or("0")
                .parse::<i64>()
                .map_err(|e| format!("the archiver's {what}: {e}"))
        };
        let last_archived_at = match archived_at {
            None => None,
            Some(epoch) => Some(
                epoch
                    .parse::<f64>()
                    .ok()
                    .and_then(|seconds| {
                        DateTime::from_timestamp_micros((seconds * 1_000_000.0) as i64)
                    })
                    .ok_or_else(|| format!("the archiver's last success: {epoch:?}"))?,
            ),
        };
        Ok(Self {
            failing: failing.as_deref() == Some("true"),
            failed_count: number(failed, "failure count")?,
            last_failed_wal: wal.clone().filter(|wal| is_wal_file_name(wal)),
            last_archived_at,
            waiting_segments: number(waiting, "waiting segments")?,
        })
    }
}

/// A WAL segment's file name (24 hexadecimal digits, upper case): anything else the server
/// says is not repeated to the user (a tenant's superuser could make it say anything).
fn is_wal_file_name(text: &str) -> bool {
    text.len() == 24
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: [Option<&str>; 5]) -> Vec<Option<String>> {
        values.iter().map(|v| v.map(String::from)).collect()
    }

    #[test]
    fn reads_the_archivers_row() {
        let failing = Archiving::from_row(&row([
            Some("3"),
            Some("true"),
            Some("000000010000000000000007"),
            Some("1796644800.25"),
            Some("2"),
        ]))
        .unwrap();
        assert!(failing.failing);
        assert_eq!(failing.failed_count, 3);
        assert_eq!(
            failing.last_archived_at.unwrap().to_rfc3339(),
            "2026-12-07T12:00:00.250+00:00"
        );
        assert_eq!(failing.waiting_segments, 2);

        let forged = "x".repeat(10_000);
        let odd = Archiving::from_row(&row([
            Some("1"),
            Some("true"),
            Some(&forged),
            None,
            Some("0"),
        ]))
        .unwrap();
        assert_eq!(
            odd.last_failed_wal, None,
            "not a WAL file name: not repeated"
        );

        let never = Archiving::from_row(&row([Some("0"), None, None, None, Some("0")])).unwrap();
        assert_eq!(never, Archiving::default());
    }

    #[test]
    fn refuses_what_is_malformed() {
        assert!(Archiving::from_row(&row([Some("x"), None, None, None, None])).is_err());
        assert!(Archiving::from_row(&row([None, None, None, Some("soon"), None])).is_err());
        assert!(Archiving::from_row(&[None]).is_err());
    }
}
