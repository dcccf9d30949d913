//! Reading an instance's server log on Kubernetes: the log of its pod's `postgres`
//! container (the official image's server logs to stderr, which the kubelet keeps), read
//! through the API's `pods/{pod}/log` as `kubectl logs` reads it.
//!
//! Every read is bounded by `limitBytes` (the last [`MAX_TAIL_BYTES`] of a tail, at most
//! [`MAX_CHUNK_BYTES`] per read when following), and only whole lines are handed out.
//! Lines are asked for with the kubelet's timestamps, which are the cursor: a read after a
//! cursor asks from the cursor's second (`sinceTime` has whole seconds) and drops the lines
//! it already handed out. The cursor's `file` is the pod's uid, so a pod that was replaced
//! (a restart, a rescheduling) is read from its start.

use chrono::DateTime;
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use toygres_domain::InstanceName;

use super::KubernetesPlatform;
use super::errors::classify;
use super::objects;
use crate::{LogCursor, LogRead, LogStart, PlatformError};

/// The most a tail reads.
const MAX_TAIL_BYTES: i64 = 4 << 20;
/// The most one read after a cursor reads.
const MAX_CHUNK_BYTES: i64 = 256 << 10;
/// The container whose log is PostgreSQL's.
const CONTAINER: &str = "postgres";
const NANOS_PER_SECOND: u64 = 1_000_000_000;

impl KubernetesPlatform {
    pub(super) async fn read_pod_log(
        &self,
        name: &InstanceName,
        start: LogStart,
    ) -> Result<LogRead, PlatformError> {
        let pods = self.api::<Pod>();
        let pod_name = objects::pod_name(name);
        let pod = pods
            .get_opt(&pod_name)
            .await
            .map_err(|e| classify(e, "reading the pod"))?
            .ok_or_else(|| PlatformError::NotFound(name.to_string()))?;
        let pod = pod_identity(&pod);
        let read_from = match start {
            LogStart::After(cursor) if cursor.file == pod => ReadFrom::After(cursor.offset),
            LogStart::After(_) => ReadFrom::PodStart,
            LogStart::Tail { lines } => ReadFrom::Tail(lines),
        };
        let text = pods
            .logs(&pod_name, &read_from.params())
            .await
            .map_err(|e| classify(e, "reading the pod's log"))?;
        Ok(read_from.lines(&text, pod))
    }
}

/// The first 64 bits of the pod's uid: what tells one pod of a name from the next.
fn pod_identity(pod: &Pod) -> u64 {
    pod.metadata
        .uid
        .as_deref()
        .and_then(|uid| uuid::Uuid::parse_str(uid).ok())
        .map_or(0, |uid| uid.as_u64_pair().0)
}

/// Where one read starts in the pod's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadFrom {
    /// The last lines.
    Tail(usize),
    /// After the line stamped at these nanoseconds since the epoch.
    After(u64),
    /// The start of a pod the cursor did not know.
    PodStart,
}

impl ReadFrom {
    fn params(self) -> LogParams {
        let bounded = LogParams {
            container: Some(CONTAINER.into()),
            timestamps: true,
            limit_bytes: Some(MAX_CHUNK_BYTES),
            ..LogParams::default()
        };
        match self {
            Self::Tail(lines) => LogParams {
                tail_lines: Some(i64::try_from(lines).unwrap_or(i64::MAX)),
                limit_bytes: Some(MAX_TAIL_BYTES),
                ..bounded
            },
            Self::After(nanos) => LogParams {
                since_time: k8s_openapi::jiff::Timestamp::from_second(whole_seconds(nanos)).ok(),
                ..bounded
            },
            Self::PodStart => bounded,
        }
    }

    /// The whole lines of `text` (as the kubelet stamps them: `<RFC 3339 time> <line>`)
    /// that this read has not handed out before, without their stamps, and the cursor
    /// after the last.
    fn lines(self, text: &str, pod: u64) -> LogRead {
        let after = match self {
            Self::After(nanos) => nanos,
            Self::Tail(_) | Self::PodStart => 0,
        };
        let mut last = after;
        let mut out = String::new();
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let (stamp, rest) = line.split_once(' ').unwrap_or(("", line));
            match stamped_nanos(stamp) {
                Some(at) if at <= after => continue,
                Some(at) => last = last.max(at),
                None => {}
            }
            out.push_str(rest);
        }
        let chunk_full = text.len() as u64 >= MAX_CHUNK_BYTES as u64;
        if out.is_empty() && chunk_full && matches!(self, Self::After(_)) {
            // More than a chunk was written within the cursor's second: step past that
            // second rather than read the same chunk for ever.
            last = (whole_seconds(after) as u64 + 1) * NANOS_PER_SECOND;
        }
        LogRead {
            text: out,
            next: LogCursor {
                member: 0,
                file: pod,
                offset: last,
            },
        }
    }
}

fn whole_seconds(nanos: u64) -> i64 {
    i64::try_from(nanos / NANOS_PER_SECOND).unwrap_or(i64::MAX)
}

fn stamped_nanos(stamp: &str) -> Option<u64> {
    let at = DateTime::parse_from_rfc3339(stamp).ok()?;
    u64::try_from(at.timestamp_nanos_opt()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: u64 = 7;

    #[test]
    fn a_tail_hands_out_whole_lines_without_their_stamps() {
        let text = "2026-12-08T01:00:00.100000000Z LOG:  one\n\
                    2026-12-08T01:00:00.200000000Z \tDETAIL:  more\n\
                    2026-12-08T01:00:01.000000000Z LOG:  cut sho";
        let read = ReadFrom::Tail(10).lines(text, POD);
        assert_eq!(read.text, "LOG:  one\n\tDETAIL:  more\n");
        assert_eq!(read.next.file, POD);
        assert_eq!(
            read.next.offset,
            stamped_nanos("2026-12-08T01:00:00.2Z").unwrap()
        );
    }

    #[test]
    fn a_read_after_a_cursor_drops_what_was_handed_out() {
        let cursor = stamped_nanos("2026-12-08T01:00:00.2Z").unwrap();
        let from = ReadFrom::After(cursor);
        assert_eq!(
            from.params().since_time.unwrap().to_string(),
            "2026-12-08T01:00:00Z"
        );
        let text = "2026-12-08T01:00:00.100000000Z old\n\
                    2026-12-08T01:00:00.200000000Z old too\n\
                    2026-12-08T01:00:00.300000000Z new\n";
        let read = from.lines(text, POD);
        assert_eq!(read.text, "new\n");
        assert_eq!(
            read.next.offset,
            stamped_nanos("2026-12-08T01:00:00.3Z").unwrap()
        );
        assert_eq!(from.lines("", POD).next.offset, cursor);
    }

    #[test]
    fn a_full_chunk_of_one_second_is_stepped_past() {
        let cursor = stamped_nanos("2026-12-08T01:00:00.9Z").unwrap();
        let line = "2026-12-08T01:00:00.100000000Z old\n";
        let text = line.repeat(MAX_CHUNK_BYTES as usize / line.len() + 1);
        let read = ReadFrom::After(cursor).lines(&text, POD);
        assert_eq!(read.text, "");
        assert_eq!(
            read.next.offset,
            stamped_nanos("2026-12-08T01:00:01Z").unwrap()
        );
    }
}
