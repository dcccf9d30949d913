//! The web console: a few static files compiled into the binary and served under
//! `/console/`, so running it needs nothing but the server. The pages hold no data: they
//! call the same `/api/v1` as the CLI with the token the operator signs in with, which the
//! browser keeps in its session storage. The files themselves need no token.
//!
//! Every answer forbids framing and inline script (a strict Content-Security-Policy), and
//! says `no-cache` so a new server version's console is picked up at once.

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::api::{ApiError, AppState};

/// Where the console lives.
pub const ROOT: &str = "/console/";

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_str!(concat!("../console/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("js/main.js", JS),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/poll.js", JS),
    asset!("js/instances.js", JS),
    asset!("js/instance.js", JS),
    asset!("js/health_chart.js", JS),
    asset!("js/operation_table.js", JS),
    asset!("js/operations.js", JS),
    asset!("js/operation.js", JS),
    asset!("js/labels.js", JS),
    asset!("js/label_editor.js", JS),
    asset!("js/backups.js", JS),
    asset!("js/backup_schedule.js", JS),
    asset!("js/restore.js", JS),
    asset!("js/parameters.js", JS),
    asset!("js/server_log.js", JS),
];

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to(ROOT) }))
        .route("/console", get(|| async { Redirect::to(ROOT) }))
        .route("/console/", get(|| async { serve("index.html") }))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>| async move { serve(&path) }),
        )
}

fn serve(path: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.path == path) else {
        return ApiError::not_found(format!("the console has no file {path}")).into_response();
    };
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                HeaderName::from_static("content-security-policy"),
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
            (
                HeaderName::from_static("referrer-policy"),
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_pages_import_is_served() {
        for asset in ASSETS.iter().filter(|asset| asset.path.ends_with(".js")) {
            for line in asset
                .body
                .lines()
                .filter(|line| line.contains(" from \"./"))
            {
                let imported = line.split('"').nth(1).unwrap().trim_start_matches("./");
                let path = format!("js/{imported}");
                assert!(
                    ASSETS.iter().any(|other| other.path == path),
                    "{} imports {path}, which is not embedded",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn the_page_loads_only_embedded_files() {
        let index = ASSETS.iter().find(|a| a.path == "index.html").unwrap();
        for reference in index.body.split(['"']).filter(|s| s.starts_with(ROOT)) {
            let path = reference.trim_start_matches(ROOT);
            assert!(
                ASSETS.iter().any(|a| a.path == path),
                "{reference} is not embedded"
            );
        }
    }
}
