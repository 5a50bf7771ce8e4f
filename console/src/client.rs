//! The API's client, for `ariza console ...` and for scripts written in Rust: a base URL and a
//! bearer token (the operator token, or a session from [`ConsoleClient::login`]). Errors carry the
//! API's code and message, never the token.

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the console answered {status}: {message}")]
    Api { status: StatusCode, code: String, message: String, body: Value },
    #[error("cannot reach the console at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("unexpected answer from the console: {0}")]
    Decode(String),
}

impl ClientError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConsoleClient {
    base: String,
    http: reqwest::Client,
    token: Option<SecretString>,
}

impl ConsoleClient {
    /// A client of the console at `base` (`http://127.0.0.1:8090`), with an optional bearer token.
    pub fn new(base: &str, token: Option<SecretString>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| ClientError::Unreachable { url: base.to_owned(), reason: e.to_string() })?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), http, token })
    }

    /// Logs in as a console user; later calls use the session.
    pub async fn login(&mut self, name: &str, password: &SecretString) -> Result<Value, ClientError> {
        let session: Value = self.post("/api/login", &json!({ "name": name, "password": password.expose_secret() })).await?;
        let token = session["token"].as_str().ok_or_else(|| ClientError::Decode("no token in the login answer".into()))?;
        self.token = Some(SecretString::from(token.to_owned()));
        Ok(session["operator"].clone())
    }

    /// Ends the session opened by [`login`](Self::login).
    pub async fn logout(&self) -> Result<(), ClientError> {
        let _: Value = self.post("/api/logout", &json!({})).await?;
        Ok(())
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<reqwest::Response, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose_secret());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Unreachable { url: self.base.clone(), reason: e.without_url().to_string() })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        Err(ClientError::Api {
            status,
            code: body["error"].as_str().unwrap_or("").to_owned(),
            message: body["message"].as_str().unwrap_or(status.canonical_reason().unwrap_or("")).to_owned(),
            body,
        })
    }

    /// `GET path` (with its query), decoded from JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(Method::GET, path, None).await?.json().await.map_err(|e| ClientError::Decode(e.without_url().to_string()))
    }

    /// `GET path` as text (the CSV export).
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        self.send(Method::GET, path, None).await?.text().await.map_err(|e| ClientError::Decode(e.without_url().to_string()))
    }

    /// `POST path` with a JSON body, decoded from JSON.
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        let body = serde_json::to_value(body).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.send(Method::POST, path, Some(&body)).await?.json().await.map_err(|e| ClientError::Decode(e.without_url().to_string()))
    }
}
