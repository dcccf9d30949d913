//! Reading operations out of the duroxide store, a page at a time.
//!
//! duroxide's management API lists instance ids only, all of them, and reads their details
//! one query at a time: thousands of operations would take thousands of queries. This is
//! the one query it lacks: the join its own `get_instance_info` makes (an instance and its
//! current execution), for a filtered page, newest first, continued by a cursor. It reads
//! the tables of the duroxide-pg version the workspace pins (`=0.1.38`); the operations
//! tests run it against that schema.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use toygres_domain::OperationStatus;
use toygres_orchestrations::DUROXIDE_SCHEMA;

use crate::api_token::ApiToken;

/// Lets pages be read newest first without sorting the whole table: duroxide-pg has no
/// index on `instances.created_at`, so this adds one beside its tables, once (several
/// servers may start at once: they take turns on an advisory lock). Dropped with the
/// table if a duroxide-pg migration ever remakes it, and made again at the next start.
pub async fn prepare(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('toygres: operations newest first'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "CREATE INDEX IF NOT EXISTS toygres_operations_newest_first
         ON {DUROXIDE_SCHEMA}.instances (created_at DESC, instance_id DESC)"
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One operation as the store has it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub instance_id: String,
    pub orchestration_name: String,
    pub orchestration_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub parent_instance_id: Option<String>,
    pub custom_status: Option<String>,
    /// The current execution's status (`Running`, `Completed`, `Failed`).
    pub status: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl Row {
    pub fn status(&self) -> OperationStatus {
        match self.status.as_deref() {
            // No execution row yet: duroxide reads that as running too.
            Some("Running") | None => OperationStatus::Running,
            Some("Completed") => OperationStatus::Completed,
            Some("Failed") => OperationStatus::Failed,
            _ => OperationStatus::Unknown,
        }
    }

    /// Where the next page starts after this row.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            created_at: self.created_at,
            instance_id: self.instance_id.clone(),
        }
    }
}

/// A position in the newest-first order: the page continues after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    created_at: DateTime<Utc>,
    instance_id: String,
}

const CURSOR: &str = "operations cursor";

impl Cursor {
    /// `<tag>.<micros>.<instance id>`: the tag proves a server of this deployment wrote it.
    pub fn encode(&self, key: &ApiToken) -> String {
        let position = format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.instance_id
        );
        format!("{}.{position}", key.tag(CURSOR, &position))
    }

    /// `None` for text no cursor of ours produced: garbage, or a well-formed position
    /// without our tag.
    pub fn decode(text: &str, key: &ApiToken) -> Option<Self> {
        let (tag, position) = text.split_once('.')?;
        if !key.tagged(CURSOR, position, tag) {
            return None;
        }
        let (micros, instance_id) = position.split_once('.')?;
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            instance_id: instance_id.to_string(),
        })
    }
}

/// Which operations to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<OperationStatus>,
    /// Only these orchestrations.
    pub orchestrations: Option<Vec<String>>,
    /// Only ids matching one of these `LIKE` patterns.
    pub id_patterns: Option<Vec<String>>,
    /// Only sub-orchestrations of this operation.
    pub parent: Option<String>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// A page of operations, newest first.
pub async fn list(pool: &PgPool, filter: &Filter) -> Result<Vec<Row>, sqlx::Error> {
    let status = filter.status.map(|status| match status {
        OperationStatus::Running => "Running",
        OperationStatus::Completed => "Completed",
        OperationStatus::Failed => "Failed",
        OperationStatus::NotFound | OperationStatus::Unknown => "not a status",
    });
    let (after_time, after_id) = match &filter.after {
        Some(cursor) => (Some(cursor.created_at), Some(cursor.instance_id.as_str())),
        None => (None, None),
    };
    sqlx::query_as(&format!(
        "{SELECT}
         WHERE ($1::text IS NULL OR e.status = $1)
           AND ($2::text[] IS NULL OR i.orchestration_name = ANY($2))
           AND ($3::text[] IS NULL OR i.instance_id LIKE ANY($3))
           AND ($4::text IS NULL OR i.parent_instance_id = $4)
           AND ($5::timestamptz IS NULL OR (i.created_at, i.instance_id) < ($5, $6))
         ORDER BY i.created_at DESC, i.instance_id DESC
         LIMIT $7",
        SELECT = select()
    ))
    .bind(status)
    .bind(&filter.orchestrations)
    .bind(&filter.id_patterns)
    .bind(&filter.parent)
    .bind(after_time)
    .bind(after_id)
    .bind(filter.limit)
    .fetch_all(pool)
    .await
}

/// One operation, if the store has it.
pub async fn get(pool: &PgPool, id: &str) -> Result<Option<Row>, sqlx::Error> {
    sqlx::query_as(&format!("{} WHERE i.instance_id = $1", select()))
        .bind(id)
        .fetch_optional(pool)
        .await
}

fn select() -> String {
    format!(
        "SELECT i.instance_id, i.orchestration_name, i.orchestration_version, i.created_at,
                i.parent_instance_id, i.custom_status, e.status, e.completed_at
         FROM {DUROXIDE_SCHEMA}.instances i
         LEFT JOIN {DUROXIDE_SCHEMA}.executions e
           ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id"
    )
}

/// A `LIKE` pattern matching ids that contain `text`.
pub fn containing(text: &str) -> String {
    format!("%{}%", escape_like(text))
}

/// A `LIKE` pattern matching ids that start with `text`.
pub fn starting_with(text: &str) -> String {
    format!("{}%", escape_like(text))
}

/// A `LIKE` pattern matching `text` alone.
pub fn exactly(text: &str) -> String {
    escape_like(text)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_no_cursor() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_795_647_058_123_456).unwrap(),
            instance_id: "create-shop-1.2::sub::3".into(),
        };
        let key = ApiToken::new("a-token-of-some-length".to_string().into()).unwrap();
        let other = ApiToken::new("another-token-of-some-length".to_string().into()).unwrap();
        let encoded = cursor.encode(&key);
        assert_eq!(Cursor::decode(&encoded, &key), Some(cursor.clone()));
        assert_eq!(
            Cursor::decode(&cursor.encode(&other), &key),
            None,
            "another deployment's"
        );
        let (_, position) = encoded.split_once('.').unwrap();
        for garbage in ["", "soon", "12", "x.create-shop", position, "1.nope"] {
            assert_eq!(Cursor::decode(garbage, &key), None, "{garbage}");
        }
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(containing("a_b%c"), "%a\\_b\\%c%");
        assert_eq!(starting_with("create-shop"), "create-shop%");
    }
}
