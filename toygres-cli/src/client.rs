//! The HTTP API, as typed calls. Error responses become [`CliError`]s by status.

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use toygres_domain::api::{
    Accepted, ConnectionView, CreateInstanceRequest, ErrorBody, InstanceList, InstanceView, PREFIX,
};

use crate::error::CliError;

pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl ApiClient {
    pub fn new(base: &str, token: Option<String>) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
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

    pub async fn list(&self) -> Result<InstanceList, CliError> {
        self.send::<(), _>(Method::GET, "/instances", None).await
    }

    pub async fn get(&self, name: &str) -> Result<InstanceView, CliError> {
        self.send::<(), _>(Method::GET, &format!("/instances/{name}"), None)
            .await
    }

    pub async fn delete(&self, name: &str) -> Result<Accepted, CliError> {
        self.send::<(), _>(Method::DELETE, &format!("/instances/{name}"), None)
            .await
    }

    pub async fn connection(&self, name: &str) -> Result<ConnectionView, CliError> {
        self.send::<(), _>(Method::GET, &format!("/instances/{name}/connection"), None)
            .await
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, CliError> {
        let url = format!("{}{PREFIX}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            CliError::Unreachable(format!(
                "cannot reach the Toygres server at {}: {}",
                self.base,
                root_cause(&e)
            ))
        })?;
        let status = response.status();
        if status.is_success() {
            return response.json().await.map_err(|e| {
                CliError::Failed(format!("unexpected response from the server: {e}"))
            });
        }
        let message = match response.json::<ErrorBody>().await {
            Ok(body) => body.message,
            Err(_) => format!("the server answered {status}"),
        };
        Err(match status {
            StatusCode::UNAUTHORIZED => CliError::Unreachable(format!(
                "unauthorized: {message} (set --token or TOYGRES_TOKEN)"
            )),
            StatusCode::NOT_FOUND => CliError::NotFound(message),
            s if s == StatusCode::BAD_REQUEST || s == StatusCode::PAYLOAD_TOO_LARGE => {
                CliError::Usage(message)
            }
            _ => CliError::Failed(message),
        })
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
