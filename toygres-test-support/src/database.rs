//! A fresh PostgreSQL database for each test.
//!
//! The server is `TOYGRES_TEST_DATABASE_URL` when set (its user must be allowed to create
//! databases), else one throwaway cluster per test process, started on first use.

use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};
use tokio::sync::OnceCell;

use crate::private_cluster::PrivateCluster;

pub const DATABASE_URL_VAR: &str = "TOYGRES_TEST_DATABASE_URL";

static SERVER: OnceCell<String> = OnceCell::const_new();

pub struct TestDatabase {
    /// Connection URL of this test's own database.
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let server_url = SERVER
            .get_or_init(|| async {
                match std::env::var(DATABASE_URL_VAR) {
                    Ok(url) if !url.is_empty() => url,
                    _ => start_throwaway_cluster().await,
                }
            })
            .await;
        let name = format!("toygres_test_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(server_url)
            .await
            .expect("connect to the test PostgreSQL server");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the test database");
        admin.close().await;
        let url = replace_database(server_url, &name);
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .connect(&url)
            .await
            .expect("connect to the test database");
        Self { url, pool }
    }
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

async fn start_throwaway_cluster() -> String {
    let cluster = PrivateCluster::started().await;
    let url = cluster.url();
    // The watchdog stops it when the process exits.
    std::mem::forget(cluster);
    url
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl TestDatabase {
    /// An existing database (e.g. a server's embedded one), to look into.
    pub async fn connect(url: &str) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(url)
            .await
            .expect("connect to the database");
        Self {
            url: url.to_string(),
            pool,
        }
    }

    /// Tables of `schema` with a row whose text form contains `needle`.
    pub async fn tables_containing(&self, schema: &str, needle: &str) -> Vec<String> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
        )
        .bind(schema)
        .fetch_all(&self.pool)
        .await
        .expect("list tables");
        assert!(!tables.is_empty(), "schema {schema} has no tables");
        let mut hits = Vec::new();
        for table in tables {
            let found: bool = sqlx::query_scalar(&format!(
                "SELECT EXISTS (SELECT 1 FROM \"{schema}\".\"{table}\" t WHERE strpos(t::text, $1) > 0)"
            ))
            .bind(needle)
            .fetch_one(&self.pool)
            .await
            .expect("search a table");
            if found {
                hits.push(table);
            }
        }
        hits
    }
}

/// Waits until a session of this database waits for a lock (a transition queued behind a
/// row lock a test holds, say).
pub async fn someone_waits_for_a_lock(pool: &sqlx::PgPool) {
    crate::eventually(
        "a session to wait for a lock",
        std::time::Duration::from_secs(20),
        || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            (waiting > 0).then_some(())
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replaces_only_the_database() {
        assert_eq!(
            replace_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            replace_database("postgres://u@h:1", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/d?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
