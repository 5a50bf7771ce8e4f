//! Who is asking: an [`Operator`] with a [`OperatorRole`], from a bearer token (the configured
//! operator token, or a session token from `POST /api/login`) or from the UI's session cookie.
//!
//! Only the SHA-256 of a session token is stored, so the sessions table gives no usable session.
//! The operator token is compared in constant time and is never stored or logged.

use crate::error::ApiError;
use crate::server::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use std::fmt;
use std::str::FromStr;

/// The session cookie of the web UI.
pub const SESSION_COOKIE: &str = "ariza_console_session";
/// The name the configured operator token acts under, in the operator log.
pub const TOKEN_OPERATOR: &str = "operator-token";

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    /// Sees everything, full phone numbers included; replays, discards, acknowledges alerts.
    Administrator,
    /// Read-only, with phone numbers masked.
    Viewer,
}

impl OperatorRole {
    pub const fn as_str(self) -> &'static str {
        match self {
            OperatorRole::Administrator => "administrator",
            OperatorRole::Viewer => "viewer",
        }
    }
}

impl fmt::Display for OperatorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OperatorRole {
    type Err = ariza_shared::domain::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "admin" | "administrator" => Ok(OperatorRole::Administrator),
            "viewer" | "read-only" | "readonly" => Ok(OperatorRole::Viewer),
            other => Err(ariza_shared::domain::UnknownValue { what: "console role", value: other.to_owned() }),
        }
    }
}

/// An authenticated operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub name: String,
    pub role: OperatorRole,
}

impl Operator {
    pub fn is_admin(&self) -> bool {
        self.role == OperatorRole::Administrator
    }

    /// Refuses anyone but an administrator.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() { Ok(()) } else { Err(ApiError::Forbidden) }
    }
}

/// A new session token (256 random bits, hex) and its hash as stored.
pub fn new_session_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let token = hex(&bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// The SHA-256 of a token, hex.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Compares two secrets without leaking, through timing, how much of them matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Hashing first makes the comparison independent of the lengths too.
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Opens a session for `operator`; returns the token to hand out and when it expires.
pub async fn open_session(
    pool: &PgPool,
    user_id: Option<i64>,
    operator: &Operator,
    ttl: std::time::Duration,
) -> Result<(String, DateTime<Utc>), sqlx::Error> {
    let (token, hash) = new_session_token();
    let ttl = chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::hours(8));
    let expires_at = Utc::now() + ttl;
    sqlx::query("DELETE FROM console_sessions WHERE expires_at < now()").execute(pool).await?;
    sqlx::query("INSERT INTO console_sessions (token_hash, user_id, operator, role, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&hash)
        .bind(user_id)
        .bind(&operator.name)
        .bind(operator.role.as_str())
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok((token, expires_at))
}

/// Ends the session of `token`, if there is one.
pub async fn close_session(pool: &PgPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1").bind(token_hash(token)).execute(pool).await?;
    Ok(())
}

/// The operator of a live session. A deactivated user's sessions end with the deactivation.
async fn session_operator(pool: &PgPool, token: &str) -> Result<Option<Operator>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT s.operator, s.role FROM console_sessions s LEFT JOIN console_users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > now() AND (s.user_id IS NULL OR u.active)",
    )
    .bind(token_hash(token))
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(name, role)| Some(Operator { name, role: role.parse().ok()? })))
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The value of a cookie, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// How a request was authenticated: the cookie needs a same-origin check on changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Cookie,
}

/// Authenticates a request from its headers.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Option<(Operator, Via)>, ApiError> {
    if let Some(token) = bearer(headers) {
        if let Some(configured) = state.settings.console.operator_token()
            && constant_time_eq(token.as_bytes(), configured.as_bytes())
        {
            return Ok(Some((Operator { name: TOKEN_OPERATOR.to_owned(), role: OperatorRole::Administrator }, Via::Bearer)));
        }
        return Ok(session_operator(&state.pool, token).await?.map(|o| (o, Via::Bearer)));
    }
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        return Ok(session_operator(&state.pool, token).await?.map(|o| (o, Via::Cookie)));
    }
    Ok(None)
}

/// A change made with the session cookie must come from the console's own pages: a form on
/// another site cannot carry the cookie (SameSite=Strict), and an `Origin` naming another host is
/// refused as well.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    origin.split_once("://").is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

/// An operator of the API: 401 without credentials.
#[derive(Debug, Clone)]
pub struct ApiOperator(pub Operator);

impl FromRequestParts<AppState> for ApiOperator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match authenticate(state, &parts.headers).await? {
            Some((operator, via)) => {
                if via == Via::Cookie && !parts.method.is_safe() && !same_origin(&parts.headers) {
                    return Err(ApiError::Forbidden);
                }
                Ok(ApiOperator(operator))
            }
            None => Err(ApiError::Unauthenticated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn roles_parse_from_the_names_operators_type() {
        assert_eq!("admin".parse::<OperatorRole>().ok(), Some(OperatorRole::Administrator));
        assert_eq!("administrator".parse::<OperatorRole>().ok(), Some(OperatorRole::Administrator));
        assert_eq!("viewer".parse::<OperatorRole>().ok(), Some(OperatorRole::Viewer));
        assert!("root".parse::<OperatorRole>().is_err());
    }

    #[test]
    fn session_tokens_are_random_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_session_token();
        let (b, _) = new_session_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), hash_a);
        assert_ne!(hash_a, a);
    }

    #[test]
    fn tokens_compare_equal_only_when_equal() {
        assert!(constant_time_eq(b"secret-token-123456", b"secret-token-123456"));
        assert!(!constant_time_eq(b"secret-token-123456", b"secret-token-123457"));
        assert!(!constant_time_eq(b"short", b"secret-token-123456"));
    }

    #[test]
    fn bearer_and_cookie_are_read_from_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; ariza_console_session=xyz; b=2"));
        assert_eq!(bearer(&headers), Some("abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn a_cross_site_origin_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8090"));
        assert!(same_origin(&headers), "no Origin header: a same-site form or a script");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8090"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
    }
}
