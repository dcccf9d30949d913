//! Malformed requests, operations on an instance in the wrong state and impossible
//! restores get the documented 4xx JSON error and change nothing: the CMS and duroxide
//! tables are byte-for-byte the same afterwards.

use std::time::Duration;
use toygres_test_support::eventually;

use reqwest::StatusCode;
use toygres_domain::api::ErrorBody;
use toygres_orchestrations::DUROXIDE_SCHEMA;
use toygres_platform::local::binaries::PgBinaries;
use toygres_test_support::TestDatabase;
use toygres_test_support::server::{ServerOptions, TestServer};

struct Case {
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: String,
    status: StatusCode,
    code: &'static str,
}

fn create(body: serde_json::Value, status: StatusCode, code: &'static str) -> Case {
    raw_create(Some("application/json"), body.to_string(), status, code)
}

fn raw_create(
    content_type: Option<&'static str>,
    body: String,
    status: StatusCode,
    code: &'static str,
) -> Case {
    Case {
        method: "POST",
        path: "/api/v1/instances".into(),
        content_type,
        body,
        status,
        code,
    }
}

fn call(method: &'static str, path: &str, status: StatusCode, code: &'static str) -> Case {
    Case {
        method,
        path: path.into(),
        content_type: None,
        body: String::new(),
        status,
        code,
    }
}

fn with_body(
    method: &'static str,
    path: &str,
    body: serde_json::Value,
    status: StatusCode,
    code: &'static str,
) -> Case {
    Case {
        method,
        path: path.into(),
        content_type: Some("application/json"),
        body: body.to_string(),
        status,
        code,
    }
}

/// Day-2 requests that must be refused: `taken` runs and has one backup (`backup`),
/// `sleeper` is stopped and has none, `gone` is deleted.
fn day_2_cases(backup: &str) -> Vec<Case> {
    use serde_json::json;
    const BAD: StatusCode = StatusCode::BAD_REQUEST;
    const CONFLICT: StatusCode = StatusCode::CONFLICT;
    const MISSING: StatusCode = StatusCode::NOT_FOUND;
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let unknown = uuid::Uuid::new_v4().to_string();
    let restore = |fields: serde_json::Value, status, code| {
        let mut body = json!({ "name": "ok" });
        body.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        create(body, status, code)
    };
    vec![
        call(
            "POST",
            "/api/v1/instances/taken/start",
            CONFLICT,
            "invalid_state",
        ),
        call(
            "POST",
            "/api/v1/instances/sleeper/stop",
            CONFLICT,
            "invalid_state",
        ),
        call(
            "POST",
            "/api/v1/instances/sleeper/restart",
            CONFLICT,
            "invalid_state",
        ),
        call(
            "POST",
            "/api/v1/instances/sleeper/backups",
            CONFLICT,
            "invalid_state",
        ),
        call(
            "POST",
            "/api/v1/instances/unknown/stop",
            MISSING,
            "not_found",
        ),
        call("POST", "/api/v1/instances/gone/start", MISSING, "not_found"),
        call(
            "POST",
            "/api/v1/instances/gone/backups",
            MISSING,
            "not_found",
        ),
        call("POST", "/api/v1/instances/Bad/restart", BAD, "invalid_name"),
        restore(
            json!({ "from_instance": "taken", "at": future }),
            BAD,
            "invalid_restore",
        ),
        restore(
            json!({ "from_instance": "taken", "at": "2000-01-01T00:00:00Z" }),
            BAD,
            "invalid_restore",
        ),
        restore(
            json!({ "from_backup": backup, "at": "2000-01-01T00:00:00Z" }),
            BAD,
            "invalid_restore",
        ),
        restore(
            json!({ "from_backup": backup, "at": future }),
            BAD,
            "invalid_restore",
        ),
        restore(
            json!({ "from_instance": "sleeper" }),
            BAD,
            "invalid_restore",
        ),
        restore(json!({ "from_instance": "nobody" }), BAD, "invalid_restore"),
        restore(json!({ "from_backup": unknown }), BAD, "invalid_restore"),
        restore(
            json!({ "at": "2000-01-01T00:00:00Z" }),
            BAD,
            "invalid_restore",
        ),
        restore(
            json!({ "from_backup": backup, "from_instance": "taken" }),
            BAD,
            "invalid_restore",
        ),
        restore(
            json!({ "from_backup": backup, "postgres_version": "16" }),
            BAD,
            "invalid_restore",
        ),
        restore(
            json!({ "from_backup": "yesterday's" }),
            BAD,
            "invalid_request",
        ),
        restore(
            json!({ "from_instance": "taken", "at": "soon" }),
            BAD,
            "invalid_request",
        ),
        restore(json!({ "from_instance": "Bad" }), BAD, "invalid_name"),
        call("GET", "/api/v1/backups/not-a-uuid", BAD, "invalid_request"),
        call(
            "GET",
            &format!("/api/v1/backups/{unknown}"),
            MISSING,
            "not_found",
        ),
        call(
            "DELETE",
            &format!("/api/v1/backups/{unknown}"),
            MISSING,
            "not_found",
        ),
        call("GET", "/api/v1/backups?bogus=1", BAD, "invalid_request"),
        with_body(
            "PUT",
            "/api/v1/instances/taken/backup-schedule",
            json!({ "every_secs": 0, "keep": 3 }),
            BAD,
            "invalid_request",
        ),
        with_body(
            "PUT",
            "/api/v1/instances/taken/backup-schedule",
            json!({ "every_secs": u64::MAX, "keep": 3 }),
            BAD,
            "invalid_request",
        ),
        with_body(
            "PUT",
            "/api/v1/instances/taken/backup-schedule",
            json!({ "every_secs": 366 * 86_400 + 1, "keep": 3 }),
            BAD,
            "invalid_request",
        ),
        with_body(
            "PUT",
            "/api/v1/instances/taken/backup-schedule",
            json!({ "every_secs": 3600, "keep": 0 }),
            BAD,
            "invalid_request",
        ),
        with_body(
            "PUT",
            "/api/v1/instances/gone/backup-schedule",
            json!({ "every_secs": 3600, "keep": 3 }),
            MISSING,
            "not_found",
        ),
    ]
}

fn cases(not_installed: u32) -> Vec<Case> {
    use serde_json::json;
    const BAD: StatusCode = StatusCode::BAD_REQUEST;
    let mut cases = vec![];
    for name in [
        "",
        "Shop",
        "1shop",
        "-shop",
        "shop-",
        "sh_op",
        "shop.db",
        "ünï",
        "a b",
        &"a".repeat(41),
    ] {
        cases.push(create(json!({ "name": name }), BAD, "invalid_name"));
    }
    for version in ["9", "99", "latest", "15.2", ""] {
        cases.push(create(
            json!({ "name": "ok", "postgres_version": version }),
            BAD,
            "invalid_postgres_version",
        ));
    }
    cases.extend([
        create(
            json!({ "name": "ok", "postgres_version": not_installed.to_string() }),
            BAD,
            "unsupported_postgres_version",
        ),
        create(
            json!({ "name": "ok", "storage_gb": 0 }),
            BAD,
            "invalid_storage_size",
        ),
        create(
            json!({ "name": "ok", "storage_gb": 1025 }),
            BAD,
            "invalid_storage_size",
        ),
        create(
            json!({ "name": "ok", "storage_gb": -1 }),
            BAD,
            "invalid_request",
        ),
        create(
            json!({ "name": "ok", "storage_gb": "ten" }),
            BAD,
            "invalid_request",
        ),
        create(
            json!({ "name": "ok", "standbys": 5 }),
            BAD,
            "invalid_standbys",
        ),
        create(
            json!({ "name": "ok", "synchronous": true }),
            BAD,
            "invalid_standbys",
        ),
        create(
            json!({ "name": "ok", "standbys": 0, "synchronous": true }),
            BAD,
            "invalid_standbys",
        ),
        create(
            json!({ "name": "ok", "standbys": -1 }),
            BAD,
            "invalid_request",
        ),
        create(json!({ "name": "ok", "size": 3 }), BAD, "invalid_request"),
        create(json!({ "postgres_version": "15" }), BAD, "invalid_request"),
        create(json!({ "name": 42 }), BAD, "invalid_request"),
        create(json!(["ok"]), BAD, "invalid_request"),
        raw_create(
            Some("application/json"),
            "{\"name\": \"ok\"".into(),
            BAD,
            "malformed_json",
        ),
        raw_create(
            Some("application/json"),
            String::new(),
            BAD,
            "malformed_json",
        ),
        raw_create(
            None,
            "{\"name\":\"ok\"}".into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        raw_create(
            Some("text/plain"),
            "{\"name\":\"ok\"}".into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        raw_create(
            Some("application/json"),
            json!({ "name": "ok", "padding": "x".repeat(20_000) }).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        create(
            json!({ "name": "taken" }),
            StatusCode::CONFLICT,
            "already_exists",
        ),
        call("GET", "/api/v1/instances/Bad", BAD, "invalid_name"),
        // Not percent-encoded UTF-8: the JSON error, not the router's plain text.
        call("GET", "/api/v1/instances/%FF", BAD, "invalid_request"),
        call("DELETE", "/api/v1/instances/%C3%28", BAD, "invalid_request"),
        call(
            "GET",
            "/api/v1/instances/%FF/connection",
            BAD,
            "invalid_request",
        ),
        call(
            "GET",
            "/api/v1/instances/ok?wait_secs=soon",
            BAD,
            "invalid_request",
        ),
        call(
            "GET",
            "/api/v1/instances/unknown",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        call(
            "DELETE",
            "/api/v1/instances/unknown",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        call("DELETE", "/api/v1/instances/Bad", BAD, "invalid_name"),
        call(
            "DELETE",
            "/api/v1/instances/gone",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        call(
            "GET",
            "/api/v1/instances/unknown/connection",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        call(
            "GET",
            "/api/v1/instances?include_deleted=maybe",
            BAD,
            "invalid_request",
        ),
        call("GET", "/api/v1/instances?bogus=1", BAD, "invalid_request"),
        call(
            "PUT",
            "/api/v1/instances",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        call(
            "GET",
            "/api/v1/nothing-here",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ]);
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_a_clear_4xx_and_change_nothing() {
    // No warm pool: its refills would change the store while the requests are made.
    let server = TestServer::start(ServerOptions {
        health_check_interval_secs: 3600,
        extra_args: vec!["--warm-pool-size".into(), "0".into()],
        ..ServerOptions::embedded()
    })
    .await;
    server.cli_ok(&["create", "taken", "--wait"]).await;
    server.cli_ok(&["create", "gone", "--wait"]).await;
    server.cli_ok(&["delete", "gone", "--wait"]).await;
    server.cli_ok(&["create", "sleeper", "--wait"]).await;
    server.cli_ok(&["stop", "sleeper", "--wait"]).await;
    let backup: serde_json::Value = serde_json::from_str(
        &server
            .cli_ok(&["-o", "json", "backup", "create", "taken", "--wait"])
            .await,
    )
    .unwrap();
    let backup = backup["id"].as_str().expect("the backup's id").to_string();
    let db = TestDatabase::connect(&server.database_url().await).await;
    // Let the actor of `taken` finish its first probe and settle into its hour-long wait.
    wait_for_first_health_check(&db).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = snapshot(&db).await;

    let binaries = PgBinaries::discover(None).unwrap();
    let not_installed = (13..=18).find(|m| binaries.for_major(*m).is_err()).unwrap();
    let mut cases = cases(not_installed);
    cases.extend(day_2_cases(&backup));
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let http = reqwest::Client::new();
    for case in &cases {
        let mut request = http
            .request(
                case.method.parse().unwrap(),
                format!("{}{}", server.url, case.path),
            )
            .bearer_auth(&server.token)
            .body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header("Content-Type", content_type);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let what = format!("{} {} {:.80}", case.method, case.path, case.body);
        assert_eq!(status, case.status, "{what}: {text}");
        let body: ErrorBody =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {text}: {e}"));
        assert_eq!(body.error.as_str(), case.code, "{what}: {}", body.message);
        assert!(!body.message.is_empty(), "{what}");
    }

    assert_eq!(
        snapshot(&db).await,
        before,
        "a rejected request changed the database"
    );
}

async fn wait_for_first_health_check(db: &TestDatabase) {
    eventually(
        "the first health check",
        Duration::from_secs(10),
        || async {
            let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM toygres_cms.health_checks")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            (rows > 0).then_some(())
        },
    )
    .await;
}

/// Every row of every CMS and duroxide table, hashed per table.
async fn snapshot(db: &TestDatabase) -> Vec<(String, i64, String)> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables
         WHERE table_schema IN ('toygres_cms', $1) AND table_type = 'BASE TABLE'
         ORDER BY 1, 2",
    )
    .bind(DUROXIDE_SCHEMA)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(tables.len() >= 5, "{tables:?}");
    let mut snapshot = Vec::new();
    for (schema, table) in tables {
        let (count, hash): (i64, Option<String>) = sqlx::query_as(&format!(
            "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{schema}\".\"{table}\" t"
        ))
        .fetch_one(&db.pool)
        .await
        .unwrap();
        snapshot.push((format!("{schema}.{table}"), count, hash.unwrap_or_default()));
    }
    snapshot
}
