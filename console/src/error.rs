//! What can go wrong answering a request, and the status each gets. Unexpected errors are logged
//! once, here, with their cause chain; the caller sees only that something failed.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("this needs the administrator role")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// A destructive action asked for without `confirm`: says how much it would touch.
    #[error("confirmation required: this would discard {would_affect} dead letter(s)")]
    ConfirmationRequired { would_affect: usize },
    /// A dependency (the broker) cannot be reached right now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Too many failed logins for this name: wait this many seconds.
    #[error("too many failed logins: try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::ConfirmationRequired { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable code for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::ConfirmationRequired { .. } => "confirmation_required",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Logs what the operator will not see: the cause of an internal error.
    pub fn log(&self) {
        match self {
            ApiError::Internal(e) => tracing::error!(error = format!("{e:#}"), "console request failed"),
            ApiError::Unavailable(why) => tracing::warn!(why, "console request: dependency unavailable"),
            _ => {}
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let message = match &self {
            ApiError::Internal(_) => "internal error (see the console's log)".to_owned(),
            other => other.to_string(),
        };
        let mut body = json!({ "error": self.code(), "message": message });
        if let ApiError::ConfirmationRequired { would_affect } = &self {
            body["would_affect"] = json!(would_affect);
        }
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, ApiError::Unauthenticated) {
            response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}
