//! The HTTP API, as typed calls. Error responses become [`CliError`]s by status.

use reqwest::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use toygres_domain::api::{
    Accepted, BackupAccepted, BackupList, BackupView, BatchAccepted, BatchCreateRequest,
    BatchDeleteRequest, CaCertificateView, ConfigChangeRequest, ConfigView, ConnectionView,
    CreateInstanceRequest, ErrorBody, HealthHistory, InstanceEvents, InstanceList, InstanceView,
    LabelsRequest, OperationAction, OperationDetail, OperationList, PREFIX, ScheduleRequest,
    ScheduleView, SuperuserAccessRequest, SwitchoverRequest,
};
use toygres_domain::{OperationKind, OperationStatus};
use uuid::Uuid;

use crate::error::CliError;

/// Which operations to list.
pub struct OperationQuery {
    pub instance: Option<String>,
    pub status: Option<OperationStatus>,
    pub kind: Option<OperationKind>,
    pub limit: u32,
    pub cursor: Option<String>,
}

/// `/operations/{id}[/act]`, the id percent-encoded (ids may hold `:`).
fn operation_path(id: &str, act: &str) -> String {
    let id = url_escape(id);
    match act {
        "" => format!("/operations/{id}"),
        act => format!("/operations/{id}/{act}"),
    }
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// An instance as a long-poll returned it, with the tag to send back next time.
pub struct Watched {
    pub instance: InstanceView,
    pub etag: Option<String>,
}

pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl ApiClient {
    /// A client of the server at `base`; `server_ca` (PEM) is trusted for its certificate.
    pub fn new(
        base: &str,
        token: Option<String>,
        server_ca: Option<&std::path::Path>,
    ) -> Result<Self, CliError> {
        let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30));
        if let Some(file) = server_ca {
            let pem = std::fs::read(file).map_err(|e| {
                CliError::Usage(format!("cannot read the server CA {}: {e}", file.display()))
            })?;
            let certificate = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                CliError::Usage(format!("{} is no PEM certificate: {e}", file.display()))
            })?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder
            .build()
            .map_err(|e| CliError::Failed(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub async fn create(&self, request: &CreateInstanceRequest) -> Result<Accepted, CliError> {
        self.send(Method::POST, "/instances", Some(request)).await
    }

    pub async fn batch_create(
        &self,
        request: &BatchCreateRequest,
    ) -> Result<BatchAccepted, CliError> {
        self.send(Method::POST, "/batches/create", Some(request))
            .await
    }

    pub async fn batch_delete(
        &self,
        request: &BatchDeleteRequest,
    ) -> Result<BatchAccepted, CliError> {
        self.send(Method::POST, "/batches/delete", Some(request))
            .await
    }

    /// The instance's server log as it streams in (`follow`: until the server ends it).
    pub async fn logs(&self, name: &str, query: &LogQuery) -> Result<Response, CliError> {
        let mut path = format!("/instances/{name}/logs?follow={}", query.follow);
        if let Some(tail) = query.tail {
            path.push_str(&format!("&tail={tail}"));
        }
        if let Some(since) = query.since_secs {
            path.push_str(&format!("&since_secs={since}"));
        }
        let mut request = self.request(Method::GET, &path);
        if query.follow {
            // The stream lasts until it is interrupted: no overall deadline.
            request = request.timeout(std::time::Duration::from_secs(u32::MAX.into()));
        }
        let response = self.execute(request).await?;
        match response.status().is_success() {
            true => Ok(response),
            false => Err(Self::failure(response).await),
        }
    }

    /// Live instances; with `selector`, those whose labels match it.
    pub async fn list(&self, selector: Option<&str>) -> Result<InstanceList, CliError> {
        let path = match selector {
            Some(selector) => format!("/instances?selector={}", url_escape(selector)),
            None => "/instances".to_string(),
        };
        self.send::<(), _>(Method::GET, &path, None).await
    }

    pub async fn label(
        &self,
        name: &str,
        change: &LabelsRequest,
    ) -> Result<InstanceView, CliError> {
        self.send(
            Method::POST,
            &format!("/instances/{name}/labels"),
            Some(change),
        )
        .await
    }

    pub async fn get(&self, name: &str) -> Result<InstanceView, CliError> {
        self.send::<(), _>(Method::GET, &format!("/instances/{name}"), None)
            .await
    }

    /// A long-poll: the instance once it looks different from `seen` (an ETag from an
    /// earlier answer), or `None` when it did not change within `wait_secs`.
    pub async fn watch(
        &self,
        name: &str,
        seen: Option<&str>,
        wait_secs: u64,
    ) -> Result<Option<Watched>, CliError> {
        let path = format!("/instances/{name}?wait_secs={wait_secs}");
        let mut request = self.request(Method::GET, &path);
        if let Some(tag) = seen {
            request = request.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        let response = self.execute(request).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let instance = Self::decode(response).await?;
        Ok(Some(Watched { instance, etag }))
    }

    /// `POST /instances/{name}/{operation}` (stop, start, restart).
    pub async fn operate(&self, name: &str, operation: &str) -> Result<Accepted, CliError> {
        self.send::<(), _>(
            Method::POST,
            &format!("/instances/{name}/{operation}"),
            None,
        )
        .await
    }

    pub async fn backup_create(&self, name: &str) -> Result<BackupAccepted, CliError> {
        self.send::<(), _>(Method::POST, &format!("/instances/{name}/backups"), None)
            .await
    }

    pub async fn backups(&self, name: Option<&str>) -> Result<BackupList, CliError> {
        let path = match name {
            Some(name) => format!("/backups?instance={name}"),
            None => "/backups".to_string(),
        };
        self.send::<(), _>(Method::GET, &path, None).await
    }

    pub async fn backup(&self, id: Uuid) -> Result<BackupView, CliError> {
        self.send::<(), _>(Method::GET, &format!("/backups/{id}"), None)
            .await
    }

    pub async fn backup_delete(&self, id: Uuid) -> Result<BackupAccepted, CliError> {
        self.send::<(), _>(Method::DELETE, &format!("/backups/{id}"), None)
            .await
    }

    pub async fn schedule(
        &self,
        name: &str,
        request: Option<&ScheduleRequest>,
    ) -> Result<ScheduleView, CliError> {
        let path = format!("/instances/{name}/backup-schedule");
        match request {
            Some(request) => self.send(Method::PUT, &path, Some(request)).await,
            None => self.send::<(), _>(Method::DELETE, &path, None).await,
        }
    }

    pub async fn operations(&self, query: &OperationQuery) -> Result<OperationList, CliError> {
        let mut path = format!("/operations?limit={}", query.limit);
        let optional = [
            ("instance", query.instance.as_deref()),
            ("status", query.status.map(OperationStatus::as_str)),
            ("kind", query.kind.map(OperationKind::as_str)),
            ("cursor", query.cursor.as_deref()),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                path.push_str(&format!("&{key}={}", url_escape(value)));
            }
        }
        self.send::<(), _>(Method::GET, &path, None).await
    }

    pub async fn operation(&self, id: &str) -> Result<OperationDetail, CliError> {
        self.send::<(), _>(Method::GET, &operation_path(id, ""), None)
            .await
    }

    /// `POST /operations/{id}/cancel` or `/retry`.
    pub async fn operation_act(&self, id: &str, act: &str) -> Result<OperationAction, CliError> {
        self.send::<(), _>(Method::POST, &operation_path(id, act), None)
            .await
    }

    pub async fn events(&self, name: &str) -> Result<InstanceEvents, CliError> {
        self.send::<(), _>(Method::GET, &format!("/instances/{name}/events"), None)
            .await
    }

    pub async fn health(&self, name: &str, limit: u32) -> Result<HealthHistory, CliError> {
        let path = format!("/instances/{name}/health?limit={limit}");
        self.send::<(), _>(Method::GET, &path, None).await
    }

    pub async fn delete(&self, name: &str) -> Result<Accepted, CliError> {
        self.send::<(), _>(Method::DELETE, &format!("/instances/{name}"), None)
            .await
    }

    pub async fn connection(
        &self,
        name: &str,
        asked: crate::commands::Asked,
    ) -> Result<ConnectionView, CliError> {
        let mut query = Vec::new();
        if asked.superuser {
            query.push("login=superuser");
        }
        if asked.read_only {
            query.push("route=read_only");
        }
        let query = match query.is_empty() {
            true => String::new(),
            false => format!("?{}", query.join("&")),
        };
        self.send::<(), _>(
            Method::GET,
            &format!("/instances/{name}/connection{query}"),
            None,
        )
        .await
    }

    pub async fn superuser_access(&self, name: &str, enabled: bool) -> Result<Accepted, CliError> {
        self.send(
            Method::POST,
            &format!("/instances/{name}/superuser-access"),
            Some(&SuperuserAccessRequest { enabled }),
        )
        .await
    }

    pub async fn switchover(&self, name: &str, to: Option<&str>) -> Result<Accepted, CliError> {
        self.send(
            Method::POST,
            &format!("/instances/{name}/switchover"),
            Some(&SwitchoverRequest {
                to: to.map(str::to_string),
            }),
        )
        .await
    }

    pub async fn config(&self, name: &str) -> Result<ConfigView, CliError> {
        self.send::<(), _>(Method::GET, &format!("/instances/{name}/config"), None)
            .await
    }

    pub async fn change_config(
        &self,
        name: &str,
        change: &ConfigChangeRequest,
    ) -> Result<Accepted, CliError> {
        self.send(
            Method::POST,
            &format!("/instances/{name}/config"),
            Some(change),
        )
        .await
    }

    pub async fn ca_certificate(&self) -> Result<CaCertificateView, CliError> {
        self.send::<(), _>(Method::GET, "/ca-certificate", None)
            .await
    }

    /// Host and port of the server, for naming files that belong to it.
    pub fn server_label(base: &str) -> String {
        let without_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
        without_scheme
            .trim_end_matches('/')
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, CliError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::decode(self.execute(request).await?).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{PREFIX}{path}", self.base);
        let request = self.http.request(method, &url);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn execute(&self, request: reqwest::RequestBuilder) -> Result<Response, CliError> {
        request.send().await.map_err(|e| {
            CliError::Unreachable(format!(
                "cannot reach the Toygres server at {}: {}",
                self.base,
                root_cause(&e)
            ))
        })
    }

    async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, CliError> {
        if response.status().is_success() {
            return response.json().await.map_err(|e| {
                CliError::Failed(format!("unexpected response from the server: {e}"))
            });
        }
        Err(Self::failure(response).await)
    }

    /// The error an unsuccessful `response` stands for.
    async fn failure(response: Response) -> CliError {
        let status = response.status();
        let message = match response.json::<ErrorBody>().await {
            Ok(body) => body.message,
            Err(_) => format!("the server answered {status}"),
        };
        match status {
            StatusCode::UNAUTHORIZED => CliError::Unreachable(format!(
                "unauthorized: {message} (set --token or TOYGRES_TOKEN)"
            )),
            StatusCode::NOT_FOUND => CliError::NotFound(message),
            s if s == StatusCode::BAD_REQUEST || s == StatusCode::PAYLOAD_TOO_LARGE => {
                CliError::Usage(message)
            }
            _ => CliError::Failed(message),
        }
    }
}

/// The innermost error, which is the one that says what went wrong ("Connection refused").
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// What `logs` asks for.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub tail: Option<u32>,
    pub since_secs: Option<u64>,
    pub follow: bool,
}
