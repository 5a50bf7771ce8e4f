//! The web UI: server-rendered HTML pages over the same data and operations as the API, with a
//! session cookie (HttpOnly, SameSite=Strict). A small script (select all) and a stylesheet are
//! compiled in; there is no build step.

mod chart;
mod dead_letters;
mod html;
mod pages;

use crate::api::{self, Credentials};
use crate::auth::{self, Operator, SESSION_COOKIE, Via};
use crate::error::ApiError;
use crate::server::AppState;
use ariza_shared::domain::Locale;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use secrecy::SecretString;
use serde::Deserialize;

pub use html::esc;

const LANG_COOKIE: &str = "ariza_console_lang";
const CSS: &str = include_str!("../../static/console.css");
const JS: &str = include_str!("../../static/console.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dead-letters") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(switch_language))
        .route("/static/console.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS) }))
        .route("/static/console.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS) }))
        .merge(dead_letters::routes())
        .merge(pages::routes())
        .fallback(not_found)
}

/// The language of the UI: the cookie set by the switch, Uzbek by default.
pub fn locale_of(headers: &HeaderMap) -> Locale {
    auth::cookie(headers, LANG_COOKIE).and_then(|l| l.parse().ok()).unwrap_or_default()
}

/// A logged-in operator of the UI, with their language. Without a session: a redirect to the
/// login page; a change from another origin: 403.
#[derive(Debug, Clone)]
pub struct UiOperator {
    pub operator: Operator,
    pub locale: Locale,
}

impl FromRequestParts<AppState> for UiOperator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let locale = locale_of(&parts.headers);
        match auth::authenticate(state, &parts.headers).await {
            Ok(Some((operator, via))) => {
                if via == Via::Cookie && !parts.method.is_safe() && !auth::same_origin(&parts.headers) {
                    return Err(error_page(locale, None, &ApiError::Forbidden));
                }
                Ok(UiOperator { operator, locale })
            }
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(error_page(locale, None, &e)),
        }
    }
}

/// An error as a page in the operator's language.
pub fn error_page(locale: Locale, operator: Option<&Operator>, error: &ApiError) -> Response {
    error.log();
    let key = match error {
        ApiError::Unauthenticated => "console-error-unauthenticated",
        ApiError::Forbidden => "console-error-forbidden",
        ApiError::NotFound => "console-error-not-found",
        ApiError::BadRequest(_) | ApiError::ConfirmationRequired { .. } => "console-error-bad-request",
        ApiError::Unavailable(_) => "console-error-unavailable",
        ApiError::TooManyAttempts { .. } => "console-login-locked",
        ApiError::Internal(_) => "console-error-internal",
    };
    let detail = match error {
        ApiError::BadRequest(why) => format!("<p>{}</p>", esc(why)),
        _ => String::new(),
    };
    let body = format!("<p class=\"notice error\" id=\"error\">{}</p>{detail}", html::t(locale, key));
    (error.status(), html::page(locale, operator, "", &html::t(locale, "console-error-title"), &body)).into_response()
}

/// A page handler's result: the page, or the error as a page.
#[derive(Debug)]
pub struct UiResult(pub Result<Response, (Locale, Option<Operator>, ApiError)>);

impl IntoResponse for UiResult {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(r) => r,
            Err((locale, operator, e)) => error_page(locale, operator.as_ref(), &e),
        }
    }
}

/// Runs a page body, turning its error into an error page.
pub async fn render<F>(who: &UiOperator, f: F) -> UiResult
where
    F: Future<Output = Result<Response, ApiError>>,
{
    UiResult(f.await.map_err(|e| (who.locale, Some(who.operator.clone()), e)))
}

async fn not_found(headers: HeaderMap) -> Response {
    error_page(locale_of(&headers), None, &ApiError::NotFound)
}

#[derive(Debug, Deserialize, Default)]
struct LoginQuery {
    #[serde(default)]
    failed: Option<String>,
}

fn login_form(locale: Locale, failed: Option<&str>) -> Html<String> {
    let t = |k| html::t(locale, k);
    let warning = match failed {
        Some("locked") => html::notice(&t("console-login-locked"), "error"),
        Some(_) => html::notice(&t("console-login-failed"), "error"),
        None => String::new(),
    };
    let body = format!(
        "{warning}<form method=\"post\" action=\"/login\" class=\"login\" id=\"login-form\">\
           <label>{name}<input name=\"name\" id=\"login-name\" autocomplete=\"username\"></label>\
           <label>{password}<input name=\"password\" id=\"login-password\" type=\"password\" autocomplete=\"current-password\"></label>\
           <button type=\"submit\" id=\"login-submit\">{submit}</button></form>\
         <form method=\"post\" action=\"/login\" class=\"login\" id=\"token-form\">\
           <label>{token}<input name=\"token\" id=\"login-token\" type=\"password\" autocomplete=\"off\"></label>\
           <button type=\"submit\" id=\"token-submit\">{submit}</button></form>",
        name = t("console-login-name"),
        password = t("console-login-password"),
        token = t("console-login-token"),
        submit = t("console-login-submit"),
    );
    html::page(locale, None, "/login", &t("console-login-title"), &body)
}

async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Html<String> {
    login_form(locale_of(&headers), q.failed.as_deref())
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

async fn login(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let locale = locale_of(&headers);
    if !auth::same_origin(&headers) {
        return error_page(locale, None, &ApiError::Forbidden);
    }
    let credentials = if form.token.trim().is_empty() {
        Credentials::Password { name: form.name, password: SecretString::from(form.password) }
    } else {
        Credentials::Token { token: SecretString::from(form.token) }
    };
    match api::open_session(&state, credentials).await {
        Ok(Some(session)) => {
            let secure = if state.settings.console.secure_cookie { "; Secure" } else { "" };
            let max_age = state.settings.console.session_ttl().as_secs();
            let cookie = format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}", session.token);
            let mut response = Redirect::to("/dead-letters").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Ok(None) => Redirect::to("/login?failed=1").into_response(),
        Err(ApiError::TooManyAttempts { .. }) => Redirect::to("/login?failed=locked").into_response(),
        Err(e) => error_page(locale, None, &e),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if auth::same_origin(&headers)
        && let Some(token) = auth::cookie(&headers, SESSION_COOKIE)
        && let Err(e) = auth::close_session(&state.pool, token).await
    {
        return error_page(locale_of(&headers), None, &e.into());
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("ariza_console_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"));
    response
}

#[derive(Debug, Deserialize, Default)]
struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

async fn switch_language(Path(code): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let Ok(locale) = code.parse::<Locale>() else { return StatusCode::NOT_FOUND.into_response() };
    // Only a local path: the switch must not become an open redirect.
    let next = q.next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\')).unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&next).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", locale.as_str())) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use ariza_shared::envelope::DeadReason;
    use ariza_shared::i18n::defined_keys;
    use std::path::Path;

    /// Prefixes of keys built at run time with [`super::html::named`], and the values they take.
    const NAMED: &[(&str, &[&str])] = &[
        ("console-role", &["administrator", "viewer"]),
        ("console-status", &["dead", "replayed", "discarded", "all"]),
        ("console-queue-kind", &["work", "dead"]),
        ("console-source", &["staff", "client"]),
        ("console-stage-state", &["done", "rejected", "dead_lettered", "pending"]),
        (
            "console-event",
            &["submitted", "stored", "audited", "rejected", "dead_lettered", "replayed", "discarded", "transition", "notification_queued", "notification_sent"],
        ),
        ("console-notification-status", &["pending", "sent", "waiting_link", "blocked", "failed"]),
    ];

    fn sources(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).expect("source dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).expect("source"));
            }
        }
    }

    /// Every `"console-..."` literal of this crate, and every key `named` can build.
    fn used_keys() -> Vec<String> {
        let mut code = String::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut code);
        let prefixes: Vec<&str> = NAMED.iter().map(|(p, _)| *p).chain(["console-reason"]).collect();
        let mut keys: Vec<String> = code
            .split('"')
            .filter(|s| s.starts_with("console-") && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .filter(|s| !prefixes.contains(s) && !s.ends_with('-'))
            .map(str::to_owned)
            .collect();
        for (prefix, values) in NAMED {
            keys.extend(values.iter().map(|v| format!("{prefix}-{}", v.replace('_', "-"))));
        }
        keys.extend(DeadReason::ALL.iter().map(|r| format!("console-reason-{}", r.as_str().replace('_', "-"))));
        keys.sort();
        keys.dedup();
        keys
    }

    #[test]
    fn every_console_text_exists_in_uzbek_and_russian() {
        let uz = defined_keys("uz".parse().expect("uz"));
        let ru = defined_keys("ru".parse().expect("ru"));
        let keys = used_keys();
        assert!(keys.len() > 100, "the scan found the console's keys: {keys:?}");
        let missing: Vec<_> = keys.iter().filter(|k| !uz.contains(*k) || !ru.contains(*k)).collect();
        assert!(missing.is_empty(), "console keys missing in uz or ru: {missing:?}");
    }

    #[test]
    fn the_login_page_is_translated_into_both_languages() {
        let uz = super::login_form("uz".parse().expect("uz"), Some("1")).0;
        let ru = super::login_form("ru".parse().expect("ru"), Some("1")).0;
        assert!(uz.contains("Konsolga kirish") && uz.contains("lang=\"uz\""), "{uz}");
        assert!(ru.contains("Вход в консоль") && ru.contains("Неверное имя"), "{ru}");
        assert!(!uz.contains("console-"), "no raw key on the page: {uz}");
    }
}
