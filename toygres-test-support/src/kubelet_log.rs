//! The kubelet's part of `pods/{pod}/log`, which the test API server cannot serve (it has
//! no kubelet): a loopback proxy in front of that server. It answers a pod's log from the
//! file the fake pod's PostgreSQL writes, stamping each line when it first reads it (as a
//! container runtime stamps what a container writes), and honours the query the API
//! documents (`container`, `tailLines`, `sinceTime`, `timestamps`, `limitBytes`). Every
//! other request goes on to the API server as it came (whole bodies, no watches: what the
//! platform asks for).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::json;

/// The container whose log a fake pod has.
const CONTAINER: &str = "postgres";

/// Stops serving when dropped.
pub struct KubeletLogProxy {
    client: kube::Client,
    logs: PodLogs,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    logs: PodLogs,
}

/// The logs served, by namespace and pod.
#[derive(Clone, Default)]
struct PodLogs(Arc<Mutex<HashMap<(String, String), ContainerLog>>>);

/// One container's log as the runtime keeps it: each line with the time it was read.
struct ContainerLog {
    file: PathBuf,
    read: usize,
    lines: Vec<(DateTime<Utc>, String)>,
}

impl ContainerLog {
    /// Takes in the whole lines the file gained since the last look, stamped now.
    fn catch_up(&mut self) {
        let Ok(bytes) = std::fs::read(&self.file) else {
            return;
        };
        let new = &bytes[self.read.min(bytes.len())..];
        let whole = new.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let now = Utc::now();
        for line in String::from_utf8_lossy(&new[..whole]).split_inclusive('\n') {
            self.lines.push((now, line.to_string()));
        }
        self.read += whole;
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogQuery {
    container: Option<String>,
    tail_lines: Option<usize>,
    since_time: Option<DateTime<Utc>>,
    #[serde(default)]
    timestamps: bool,
    limit_bytes: Option<usize>,
}

impl KubeletLogProxy {
    /// Listens on a free loopback port in front of `KUBECONFIG`'s API server.
    pub async fn start() -> Self {
        let inferred = kube::Config::infer()
            .await
            .expect("a Kubernetes configuration from KUBECONFIG");
        let upstream = inferred.cluster_url.to_string();
        let logs = PodLogs::default();
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            logs: logs.clone(),
        };
        let app = Router::new()
            .route(
                "/api/v1/namespaces/{namespace}/pods/{pod}/log",
                axum::routing::get(pod_log),
            )
            .fallback(forward)
            .with_state(proxy);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the kubelet log proxy");
        let address = listener.local_addr().expect("the proxy's address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the kubelet log proxy serves");
        });
        let mut config = inferred;
        config.cluster_url = format!("http://{address}/")
            .parse()
            .expect("the proxy's URL");
        let client = kube::Client::try_from(config).expect("a client of the proxy");
        Self {
            client,
            logs,
            server,
        }
    }

    /// A client whose requests go through the proxy.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// Serves `file` as the log of `pod` in `namespace` from now on, from its start.
    pub fn serve(&self, namespace: &str, pod: &str, file: PathBuf) {
        let log = ContainerLog {
            file,
            read: 0,
            lines: Vec::new(),
        };
        self.logs
            .0
            .lock()
            .expect("the logs")
            .insert((namespace.to_string(), pod.to_string()), log);
    }
}

impl Drop for KubeletLogProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn pod_log(
    State(proxy): State<Proxy>,
    Path((namespace, pod)): Path<(String, String)>,
    Query(query): Query<LogQuery>,
) -> Response {
    if query.container.as_deref().is_some_and(|c| c != CONTAINER) {
        let message = format!("container {:?} is not valid for pod {pod}", query.container);
        return status(StatusCode::BAD_REQUEST, "BadRequest", &message);
    }
    let mut logs = proxy.logs.0.lock().expect("the logs");
    let Some(log) = logs.get_mut(&(namespace, pod.clone())) else {
        let message = format!("pods \"{pod}\" not found");
        return status(StatusCode::NOT_FOUND, "NotFound", &message);
    };
    log.catch_up();
    let since: Vec<&(DateTime<Utc>, String)> = log
        .lines
        .iter()
        .filter(|(at, _)| query.since_time.is_none_or(|since| *at >= since))
        .collect();
    let skip = query
        .tail_lines
        .map_or(0, |lines| since.len().saturating_sub(lines));
    let mut text = String::new();
    for (at, line) in &since[skip..] {
        if query.timestamps {
            text.push_str(&at.to_rfc3339_opts(SecondsFormat::Nanos, true));
            text.push(' ');
        }
        text.push_str(line);
    }
    if let Some(limit) = query.limit_bytes {
        text.truncate(text.floor_char_boundary(limit));
    }
    text.into_response()
}

/// A Kubernetes `Status` answer, as the API server gives for an error.
fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the request's body");
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = proxy
        .http
        .request(parts.method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.expect("the API server answers");
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != header::TRANSFER_ENCODING && name != header::CONTENT_LENGTH {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await.expect("the API server's body");
    response
        .body(Body::from(body))
        .expect("a response of the proxy")
}
