//! The JSON API under `/api`, and the operations the UI shares with it (login, replay, discard,
//! acknowledge), so each is authorised and written to the operator log in one place.
//!
//! Every route but `POST /api/login` needs a bearer token (the operator token, or a session token
//! from login) or the UI's session cookie. Replay, discard and acknowledge need an administrator.

use crate::actions;
use crate::auth::{self, ApiOperator, Operator, OperatorRole};
use crate::data::alerts::{self, Acknowledged};
use crate::data::audit::{self, AuditFilter};
use crate::data::dead_letters::{self, DeadLetterFilter, ReplayOutcome, Selection, SelectionError};
use crate::data::reports::{self, ReportRange};
use crate::data::{Paging, queues, timeline};
use crate::error::ApiError;
use crate::redact::Redactor;
use crate::server::AppState;
use crate::users;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/queues", get(queue_stats))
        .route("/dead-letters", get(dead_letter_list))
        .route("/dead-letters/groups", get(dead_letter_groups))
        .route("/dead-letters/replay", post(replay))
        .route("/dead-letters/discard", post(discard))
        .route("/dead-letters/{id}", get(dead_letter))
        .route("/applications", get(applications))
        .route("/applications/{id}/timeline", get(application_timeline))
        .route("/audit", get(audit_rows))
        .route("/audit.csv", get(audit_csv))
        .route("/reports", get(report))
        .route("/alerts", get(alert_list))
        .route("/alerts/{id}/acknowledge", post(acknowledge))
        .route("/operator-actions", get(operator_actions))
        .fallback(|| async { ApiError::NotFound })
}

/// What the operator may see of phones.
pub fn redactor(operator: &Operator) -> Redactor {
    Redactor::new(operator.is_admin())
}

// ---- operations shared with the UI -------------------------------------------------------------

/// What a login is made with.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Credentials {
    Password { name: String, password: SecretString },
    Token { token: SecretString },
}

/// An opened session.
#[derive(Debug, Serialize)]
pub struct Session {
    pub token: String,
    pub operator: Operator,
    pub expires_at: DateTime<Utc>,
}

/// Checks credentials and opens a session; `None` when they are wrong. Both outcomes are logged,
/// neither with the secret.
pub async fn open_session(state: &AppState, credentials: Credentials) -> Result<Option<Session>, ApiError> {
    use secrecy::ExposeSecret as _;
    // Failed logins are counted per name (the operator token counts as one name).
    let key = match &credentials {
        Credentials::Token { .. } => auth::TOKEN_OPERATOR.to_owned(),
        Credentials::Password { name, .. } => name.clone(),
    };
    if let Some(wait) = state.logins.locked_for(&key) {
        tracing::warn!(user = key.trim(), "console login refused unchecked: too many failed attempts");
        return Err(ApiError::TooManyAttempts { retry_after_secs: wait.as_secs().max(1) });
    }
    let (user_id, operator) = match credentials {
        Credentials::Token { token } => {
            let matches = state
                .settings
                .console
                .operator_token()
                .is_some_and(|configured| auth::constant_time_eq(token.expose_secret().trim().as_bytes(), configured.as_bytes()));
            if !matches {
                tracing::warn!("console login with a wrong operator token");
                state.logins.failed(&key);
                return Ok(None);
            }
            (None, Operator { name: auth::TOKEN_OPERATOR.to_owned(), role: OperatorRole::Administrator })
        }
        Credentials::Password { name, password } => match users::check_login(&state.pool, name.trim(), password).await? {
            Some((id, operator)) => (Some(id), operator),
            None => {
                tracing::warn!(user = name.trim(), "console login refused");
                state.logins.failed(&key);
                return Ok(None);
            }
        },
    };
    state.logins.succeeded(&key);
    let (token, expires_at) = auth::open_session(&state.pool, user_id, &operator, state.settings.console.session_ttl()).await?;
    actions::record(&state.pool, &operator, "login", json!({}), json!({ "expires_at": expires_at })).await?;
    Ok(Some(Session { token, operator, expires_at }))
}

/// Replays the selected dead letters (administrators only), and logs it.
pub async fn do_replay(state: &AppState, operator: &Operator, selection: &Selection) -> Result<ReplayOutcome, ApiError> {
    operator.require_admin()?;
    let ids = selection.resolve(&state.pool).await.map_err(selection_error)?;
    let outcome = if ids.is_empty() {
        ReplayOutcome::default()
    } else {
        let (_conn, publisher) = state.broker.get().await.map_err(|e| ApiError::Unavailable(format!("{e:#}")))?;
        dead_letters::replay(&state.pool, &publisher, &state.topology, &ids).await?
    };
    actions::record(
        &state.pool,
        operator,
        "dead_letters.replay",
        json!({ "ids": selection.ids, "all_matching": selection.all_matching, "filter": selection.filter }),
        json!({ "replayed": outcome.replayed, "skipped": outcome.skipped }),
    )
    .await?;
    Ok(outcome)
}

/// Discards the selected dead letters (administrators only, and only with `confirm`), and logs it.
/// Without `confirm` it answers how many it would discard and changes nothing.
pub async fn do_discard(state: &AppState, operator: &Operator, selection: &Selection, confirm: bool) -> Result<Vec<i64>, ApiError> {
    operator.require_admin()?;
    let ids = selection.resolve(&state.pool).await.map_err(selection_error)?;
    if !confirm {
        return Err(ApiError::ConfirmationRequired { would_affect: ids.len() });
    }
    let discarded = dead_letters::discard(&state.pool, &ids).await?;
    actions::record(
        &state.pool,
        operator,
        "dead_letters.discard",
        json!({ "ids": selection.ids, "all_matching": selection.all_matching, "filter": selection.filter }),
        json!({ "discarded": discarded }),
    )
    .await?;
    Ok(discarded)
}

/// Acknowledges an alert (administrators only), and logs it.
pub async fn do_acknowledge(state: &AppState, operator: &Operator, id: i64) -> Result<Acknowledged, ApiError> {
    operator.require_admin()?;
    let result = alerts::acknowledge(&state.pool, id, &operator.name).await?;
    if result == Acknowledged::NoSuchAlert {
        return Err(ApiError::NotFound);
    }
    actions::record(&state.pool, operator, "alerts.acknowledge", json!({ "id": id }), json!({ "result": result })).await?;
    Ok(result)
}

fn selection_error(e: SelectionError) -> ApiError {
    match e {
        SelectionError::Bad(why) => ApiError::BadRequest(why),
        SelectionError::Db(e) => e.into(),
    }
}

// ---- query parameters: strings from forms and scripts, parsed once ----------------------------

/// Dead-letter list parameters (no `flatten`: query strings lose their types through it).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DeadLetterParams {
    pub stage: Option<String>,
    pub reason: Option<String>,
    pub status: Option<String>,
    pub text: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl DeadLetterParams {
    pub fn filter(&self) -> Result<DeadLetterFilter, ApiError> {
        DeadLetterFilter { stage: self.stage.clone(), reason: self.reason.clone(), status: self.status.clone(), text: self.text.clone() }
            .normalised()
            .map_err(ApiError::BadRequest)
    }
}

fn parse_date(name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d").map(Some).map_err(|_| ApiError::BadRequest(format!("{name} must be YYYY-MM-DD"))),
    }
}

/// Audit parameters as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuditParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub source: Option<String>,
    pub role: Option<String>,
    pub creator: Option<String>,
    pub kind: Option<String>,
    pub phone: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl AuditParams {
    pub fn filter(&self) -> Result<AuditFilter, ApiError> {
        let creator = match self.creator.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| ApiError::BadRequest("creator must be a Telegram id".into()))?),
        };
        Ok(AuditFilter {
            from: parse_date("from", self.from.as_deref())?,
            to: parse_date("to", self.to.as_deref())?,
            source: self.source.clone(),
            role: self.role.clone(),
            creator,
            kind: self.kind.clone(),
            phone: self.phone.clone(),
        }
        .normalised())
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RangeParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl RangeParams {
    pub fn range(&self) -> Result<ReportRange, ApiError> {
        Ok(ReportRange { from: parse_date("from", self.from.as_deref())?, to: parse_date("to", self.to.as_deref())? })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageParams {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    /// Alerts: only those not acknowledged.
    #[serde(default)]
    pub open: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    pub q: String,
}

/// A replay or discard request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionBody {
    #[serde(flatten)]
    pub selection: Selection,
    /// Discard only: the explicit confirmation.
    #[serde(default)]
    pub confirm: bool,
}

// ---- handlers ----------------------------------------------------------------------------------

async fn login(State(state): State<AppState>, Json(credentials): Json<Credentials>) -> Result<Json<Session>, ApiError> {
    open_session(&state, credentials).await?.map(Json).ok_or(ApiError::Unauthenticated)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    if let Some(token) = auth::bearer(&headers) {
        auth::close_session(&state.pool, token).await?;
    }
    Ok(Json(json!({ "ok": true })))
}

async fn me(ApiOperator(operator): ApiOperator) -> Json<Operator> {
    Json(operator)
}

async fn queue_stats(State(state): State<AppState>, ApiOperator(_): ApiOperator) -> Result<Json<queues::QueuesReport>, ApiError> {
    Ok(Json(queue_report(&state).await?))
}

/// The queue report, from the management API or the console's broker connection.
pub async fn queue_report(state: &AppState) -> Result<queues::QueuesReport, ApiError> {
    let conn = if state.settings.amqp.management_url().is_some() {
        state.broker.get().await.ok().map(|(c, _)| c)
    } else {
        Some(state.broker.get().await.map_err(|e| ApiError::Unavailable(format!("{e:#}")))?.0)
    };
    queues::report(&state.settings.amqp, &state.topology, conn.as_deref(), &state.rates)
        .await
        .map_err(|e| ApiError::Unavailable(format!("{e:#}")))
}

async fn dead_letter_list(
    State(state): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Query(params): Query<DeadLetterParams>,
) -> Result<Json<crate::data::PageOf<dead_letters::DeadLetterRow>>, ApiError> {
    let paging = Paging::new(params.page, params.per_page, state.settings.console.page_size);
    Ok(Json(dead_letters::list(&state.pool, &params.filter()?, paging, &redactor(&operator)).await?))
}

async fn dead_letter_groups(
    State(state): State<AppState>,
    ApiOperator(_): ApiOperator,
    Query(params): Query<DeadLetterParams>,
) -> Result<Json<Vec<dead_letters::ReasonGroup>>, ApiError> {
    Ok(Json(dead_letters::group_by_reason(&state.pool, &params.filter()?).await?))
}

async fn dead_letter(
    State(state): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Path(id): Path<i64>,
) -> Result<Json<dead_letters::DeadLetterDetail>, ApiError> {
    dead_letters::detail(&state.pool, id, &redactor(&operator)).await?.map(Json).ok_or(ApiError::NotFound)
}

async fn replay(State(state): State<AppState>, ApiOperator(operator): ApiOperator, Json(body): Json<ActionBody>) -> Result<Json<ReplayOutcome>, ApiError> {
    Ok(Json(do_replay(&state, &operator, &body.selection).await?))
}

async fn discard(State(state): State<AppState>, ApiOperator(operator): ApiOperator, Json(body): Json<ActionBody>) -> Result<Json<Value>, ApiError> {
    let discarded = do_discard(&state, &operator, &body.selection, body.confirm).await?;
    Ok(Json(json!({ "discarded": discarded })))
}

async fn applications(
    State(state): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Query(params): Query<SearchParams>,
) -> Result<Json<Vec<timeline::ApplicationHit>>, ApiError> {
    Ok(Json(timeline::search(&state.pool, &params.q, &redactor(&operator)).await?))
}

async fn application_timeline(
    State(state): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<timeline::Timeline>, ApiError> {
    timeline::timeline(&state.pool, id, &redactor(&operator)).await?.map(Json).ok_or(ApiError::NotFound)
}

async fn audit_rows(
    State(state): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Query(params): Query<AuditParams>,
) -> Result<Json<crate::data::PageOf<audit::AuditRow>>, ApiError> {
    let paging = Paging::new(params.page, params.per_page, state.settings.console.page_size);
    Ok(Json(audit::rows(&state.pool, &params.filter()?, Some(paging), &redactor(&operator)).await?))
}

/// The CSV of every audit row the filter matches, phones masked for viewers.
pub async fn audit_csv_response(state: &AppState, operator: &Operator, params: &AuditParams) -> Result<Response, ApiError> {
    let rows = audit::rows(&state.pool, &params.filter()?, None, &redactor(operator)).await?;
    actions::record(&state.pool, operator, "audit.export", json!({ "filter": params }), json!({ "rows": rows.items.len() })).await?;
    let mut response = audit::csv(&rows.items).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"ariza-audit.csv\""));
    Ok(response)
}

async fn audit_csv(State(state): State<AppState>, ApiOperator(operator): ApiOperator, Query(params): Query<AuditParams>) -> Result<Response, ApiError> {
    audit_csv_response(&state, &operator, &params).await
}

async fn report(State(state): State<AppState>, ApiOperator(_): ApiOperator, Query(params): Query<RangeParams>) -> Result<Json<reports::Reports>, ApiError> {
    Ok(Json(reports::reports(&state.pool, params.range()?).await?))
}

async fn alert_list(
    State(state): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Query(params): Query<PageParams>,
) -> Result<Json<alerts::AlertsPage>, ApiError> {
    let paging = Paging::new(params.page, params.per_page, state.settings.console.page_size);
    Ok(Json(alerts::list(&state.pool, params.open.unwrap_or(false), paging, &redactor(&operator)).await?))
}

async fn acknowledge(State(state): State<AppState>, ApiOperator(operator): ApiOperator, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    let result = do_acknowledge(&state, &operator, id).await?;
    Ok(Json(json!({ "id": id, "result": result })))
}

async fn operator_actions(
    State(state): State<AppState>,
    ApiOperator(_): ApiOperator,
    Query(params): Query<PageParams>,
) -> Result<Json<Vec<actions::Action>>, ApiError> {
    let paging = Paging::new(params.page, params.per_page, state.settings.console.page_size);
    Ok(Json(actions::recent(&state.pool, paging.limit(), paging.offset()).await?))
}
