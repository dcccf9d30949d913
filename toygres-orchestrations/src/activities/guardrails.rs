//! Guardrails for WAL and disk: what makes a reachable instance `degraded`.
//!
//! The failures users of managed PostgreSQL dread most start quietly: WAL archiving that
//! fails (a full or unwritable repository) keeps every segment on the instance's disk
//! until it fills and the server stops, and no moment after the last archived segment can
//! be restored; a disk that fills for any other reason stops the server too. The health
//! probe reads the archiver and the file system on every check, and this judges them, so
//! the user hears of it while there is time to act.

use chrono::{DateTime, Utc};

use crate::platform::DiskUsage;
use crate::platform::probe::Archiving;

/// A disk at least this full (in percent) is nearly full.
pub const DISK_NEARLY_FULL_PERCENT: f64 = 90.0;
/// This many complete WAL segments waiting to be archived is archiving falling behind
/// (256 MB of 16 MB segments): an archive command that hangs fails no attempt.
pub const WAITING_SEGMENTS_LIMIT: i64 = 16;

/// What the guardrails found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    /// Why the instance is degraded (`None`: it is not).
    pub degraded: Option<String>,
    /// While archiving is stuck: how far the archived WAL reaches (the Unix epoch when
    /// nothing was archived since the server's statistics began: no later than any
    /// backup).
    pub wal_archived_until: Option<DateTime<Utc>>,
}

pub fn judge(archiving: &Archiving, disk: Option<DiskUsage>) -> Verdict {
    let mut reasons = Vec::new();
    let stuck = archiving.failing || archiving.waiting_segments >= WAITING_SEGMENTS_LIMIT;
    if archiving.failing {
        reasons.push(format!(
            "WAL archiving is failing ({} failed attempts, the last for segment {})",
            archiving.failed_count,
            archiving.last_failed_wal.as_deref().unwrap_or("unknown"),
        ));
    }
    if archiving.waiting_segments >= WAITING_SEGMENTS_LIMIT {
        reasons.push(format!(
            "{} WAL segments wait to be archived",
            archiving.waiting_segments
        ));
    }
    if let Some(disk) = disk.filter(|disk| disk.used_percent() >= DISK_NEARLY_FULL_PERCENT) {
        reasons.push(format!(
            "the disk is {:.0}% full ({} MiB free)",
            disk.used_percent(),
            disk.available_bytes / (1 << 20)
        ));
    }
    let wal_archived_until = stuck.then(|| {
        archiving
            .last_archived_at
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    });
    if let Some(until) = wal_archived_until.filter(|until| *until > DateTime::UNIX_EPOCH) {
        reasons.push(format!(
            "nothing after {} can be restored",
            until.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    Verdict {
        degraded: (!reasons.is_empty()).then(|| reasons.join("; ")),
        wal_archived_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(used_percent: u64) -> Option<DiskUsage> {
        Some(DiskUsage {
            total_bytes: 100 << 20,
            available_bytes: (100 - used_percent) << 20,
        })
    }

    #[test]
    fn archiving_that_keeps_up_on_a_roomy_disk_is_healthy() {
        let fine = Archiving {
            failed_count: 2,
            waiting_segments: WAITING_SEGMENTS_LIMIT - 1,
            last_archived_at: Some(Utc::now()),
            ..Archiving::default()
        };
        assert_eq!(judge(&fine, disk(89)), Verdict::default());
        assert_eq!(judge(&fine, None), Verdict::default());
    }

    #[test]
    fn failing_archiving_degrades_and_freezes_what_can_be_restored() {
        let archived = DateTime::from_timestamp(1_796_644_800, 0).unwrap();
        let failing = Archiving {
            failing: true,
            failed_count: 3,
            last_failed_wal: Some("000000010000000000000007".into()),
            last_archived_at: Some(archived),
            waiting_segments: 1,
        };
        let verdict = judge(&failing, disk(10));
        assert_eq!(
            verdict.degraded.as_deref(),
            Some(
                "WAL archiving is failing (3 failed attempts, the last for segment \
                 000000010000000000000007); nothing after 2026-12-07 12:00:00 UTC can be restored"
            )
        );
        assert_eq!(verdict.wal_archived_until, Some(archived));

        let never = Archiving {
            last_archived_at: None,
            ..failing
        };
        assert_eq!(
            judge(&never, None).wal_archived_until,
            Some(DateTime::UNIX_EPOCH)
        );
    }

    #[test]
    fn a_backlog_or_a_full_disk_degrades() {
        let backlog = Archiving {
            waiting_segments: WAITING_SEGMENTS_LIMIT,
            ..Archiving::default()
        };
        let verdict = judge(&backlog, None);
        assert_eq!(
            verdict.degraded.as_deref(),
            Some("16 WAL segments wait to be archived")
        );
        assert!(verdict.wal_archived_until.is_some());

        let full = judge(&Archiving::default(), disk(95));
        assert_eq!(
            full.degraded.as_deref(),
            Some("the disk is 95% full (5 MiB free)")
        );
        assert_eq!(full.wal_archived_until, None);
    }
}
