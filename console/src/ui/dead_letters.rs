//! The dead-letter pages: the list (filters, grouped by reason, paged, with checkboxes), one letter
//! in full, and replay and discard of one, the selected or all matching (discard only after a
//! confirmation page).

use super::html::{self, esc, json_block, named, opt_time, query, t, ta, time};
use super::{UiOperator, render};
use crate::api::{self, DeadLetterParams};
use crate::data::Paging;
use crate::data::dead_letters::{self, DeadLetterFilter, DeadLetterRow, Selection};
use crate::error::ApiError;
use crate::server::AppState;
use ariza_shared::domain::Locale;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::fmt::Write as _;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dead-letters", get(list))
        .route("/dead-letters/replay", post(replay))
        .route("/dead-letters/discard", post(discard))
        .route("/dead-letters/{id}", get(detail))
}

/// The outcome of the last action, shown above the list.
#[derive(Debug, Deserialize, Default)]
struct Done {
    done: Option<String>,
    n: Option<usize>,
    skipped: Option<usize>,
}

fn filter_query(f: &DeadLetterFilter) -> String {
    query(&[("stage", f.stage.clone()), ("reason", f.reason.clone()), ("status", f.status.clone()), ("text", f.text.clone())])
}

fn reason_cell(locale: Locale, reason: &str) -> String {
    format!("{} <code>{}</code>", named(locale, "console-reason", reason), esc(reason))
}

fn filter_form(locale: Locale, f: &DeadLetterFilter, stages: &[String], reasons: &[String]) -> String {
    let stage_opts: Vec<(String, String)> = stages.iter().map(|s| (s.clone(), esc(s))).collect();
    let reason_opts: Vec<(String, String)> = reasons.iter().map(|r| (r.clone(), named(locale, "console-reason", r))).collect();
    let status_opts: Vec<(String, String)> =
        ["dead", "replayed", "discarded", "all"].iter().map(|s| ((*s).to_owned(), named(locale, "console-status", s))).collect();
    format!(
        "<form method=\"get\" action=\"/dead-letters\" class=\"filters\" id=\"dead-letter-filter\">\
           <label>{stage}<select name=\"stage\" id=\"filter-stage\">{stage_opts}</select></label>\
           <label>{reason}<select name=\"reason\" id=\"filter-reason\">{reason_opts}</select></label>\
           <label>{status}<select name=\"status\" id=\"filter-status\">{status_opts}</select></label>\
           <label>{text}<input name=\"text\" id=\"filter-text\" value=\"{text_value}\"></label>\
           <button type=\"submit\" id=\"filter-submit\">{apply}</button></form>",
        stage = t(locale, "console-dl-stage"),
        reason = t(locale, "console-dl-reason"),
        status = t(locale, "console-dl-status"),
        text = t(locale, "console-dl-text"),
        apply = t(locale, "console-filter-apply"),
        stage_opts = html::options(locale, &stage_opts, f.stage.as_deref()),
        reason_opts = html::options(locale, &reason_opts, f.reason.as_deref()),
        status_opts = html::options(locale, &status_opts, Some(f.status.as_deref().unwrap_or("dead"))),
        text_value = esc(f.text.as_deref().unwrap_or("")),
    )
}

/// Hidden fields that carry the filter into an action form.
fn hidden_filter(f: &DeadLetterFilter) -> String {
    let mut out = String::new();
    for (name, value) in [("stage", &f.stage), ("reason", &f.reason), ("status", &f.status), ("text", &f.text)] {
        if let Some(v) = value {
            let _ = write!(out, "<input type=\"hidden\" name=\"{name}\" value=\"{}\">", esc(v));
        }
    }
    out
}

fn row_html(locale: Locale, d: &DeadLetterRow, admin: bool) -> String {
    let select = if admin && d.status == "dead" {
        format!("<input type=\"checkbox\" name=\"ids\" value=\"{id}\" id=\"select-{id}\" class=\"select\">", id = d.id)
    } else {
        String::new()
    };
    let action = if admin && d.status == "dead" {
        format!(
            "<button type=\"submit\" name=\"one\" value=\"{id}\" id=\"replay-{id}\" formaction=\"/dead-letters/replay\">{}</button>",
            t(locale, "console-dl-replay-one"),
            id = d.id
        )
    } else {
        String::new()
    };
    let app = d.application_id.map_or_else(
        || "—".to_owned(),
        |a| format!("<a href=\"/timeline/{a}\" class=\"app-link\">{}</a>", &a.to_string()[..8]),
    );
    format!(
        "<tr id=\"dl-{id}\" data-status=\"{status_raw}\"><td>{select}</td><td><a href=\"/dead-letters/{id}\">#{id}</a></td><td>{stage}</td><td>{reason}</td>\
         <td>{attempts}</td><td>{first}</td><td>{last}</td><td class=\"error-text\">{error}</td><td>{app}</td><td class=\"status\">{status}</td><td>{action}</td></tr>",
        id = d.id,
        status_raw = esc(&d.status),
        stage = esc(d.stage.as_deref().unwrap_or("?")),
        reason = reason_cell(locale, &d.reason),
        attempts = d.attempts,
        first = opt_time(d.first_failed_at.as_ref()),
        last = time(&d.last_failed_at),
        error = esc(d.last_error.as_deref().unwrap_or("")),
        status = named(locale, "console-status", &d.status),
    )
}

async fn list(State(state): State<AppState>, who: UiOperator, Query(params): Query<DeadLetterParams>, Query(done): Query<Done>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let admin = who.operator.is_admin();
        let filter = params.filter()?;
        let paging = Paging::new(params.page, params.per_page, state.settings.console.page_size);
        let r = api::redactor(&who.operator);
        let page = dead_letters::list(&state.pool, &filter, paging, &r).await?;
        let groups = dead_letters::group_by_reason(&state.pool, &filter).await?;
        let (stages, reasons) = dead_letters::facets(&state.pool).await?;
        let mut body = String::new();
        match done.done.as_deref() {
            Some("replayed") => body.push_str(&html::notice(
                &ta(locale, "console-notice-replayed", &[("count", done.n.unwrap_or(0).into()), ("skipped", done.skipped.unwrap_or(0).into())]),
                "ok",
            )),
            Some("discarded") => {
                body.push_str(&html::notice(&ta(locale, "console-notice-discarded", &[("count", done.n.unwrap_or(0).into())]), "ok"));
            }
            _ => {}
        }
        body.push_str(&filter_form(locale, &filter, &stages, &reasons));
        // Grouped by reason: each links to the list filtered by it.
        let _ = write!(
            body,
            "<h2>{}</h2><table class=\"groups\" id=\"reason-groups\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-dl-by-reason"),
            t(locale, "console-dl-reason"),
            t(locale, "console-dl-count"),
            t(locale, "console-dl-stages"),
            t(locale, "console-dl-first-failure"),
            t(locale, "console-dl-last-failure"),
        );
        for g in &groups {
            let link = query(&[("reason", Some(g.reason.clone())), ("status", filter.status.clone()), ("stage", filter.stage.clone())]);
            let _ = write!(
                body,
                "<tr data-reason=\"{raw}\"><td><a href=\"/dead-letters?{link}\">{reason}</a></td><td class=\"count\">{count}</td><td>{stages}</td><td>{first}</td><td>{last}</td></tr>",
                raw = esc(&g.reason),
                link = esc(&link),
                reason = reason_cell(locale, &g.reason),
                count = g.count,
                stages = esc(&g.stages.join(", ")),
                first = opt_time(g.first_failed_at.as_ref()),
                last = opt_time(g.last_failed_at.as_ref()),
            );
        }
        body.push_str("</tbody></table>");

        let _ = write!(body, "<h2>{}</h2>", ta(locale, "console-dl-matching", &[("count", page.total.into())]));
        let _ = write!(body, "<form method=\"post\" action=\"/dead-letters/replay\" id=\"dead-letter-actions\">{}", hidden_filter(&filter));
        if admin {
            let _ = write!(
                body,
                "<div class=\"actions\">\
                   <button type=\"submit\" name=\"scope\" value=\"selected\" id=\"replay-selected\">{replay_sel}</button>\
                   <button type=\"submit\" name=\"scope\" value=\"all\" id=\"replay-all\">{replay_all}</button>\
                   <button type=\"submit\" name=\"scope\" value=\"selected\" id=\"discard-selected\" formaction=\"/dead-letters/discard\" class=\"danger\">{discard_sel}</button>\
                   <button type=\"submit\" name=\"scope\" value=\"all\" id=\"discard-all\" formaction=\"/dead-letters/discard\" class=\"danger\">{discard_all}</button></div>",
                replay_sel = t(locale, "console-dl-replay-selected"),
                replay_all = ta(locale, "console-dl-replay-all", &[("count", page.total.into())]),
                discard_sel = t(locale, "console-dl-discard-selected"),
                discard_all = ta(locale, "console-dl-discard-all", &[("count", page.total.into())]),
            );
        } else {
            let _ = write!(body, "<p class=\"hint\">{}</p>", t(locale, "console-read-only"));
        }
        let _ = write!(
            body,
            "<table class=\"list\" id=\"dead-letters\"><thead><tr><th><input type=\"checkbox\" id=\"select-all\" title=\"{all}\"></th><th>#</th>\
             <th>{stage}</th><th>{reason}</th><th>{attempts}</th><th>{first}</th><th>{last}</th><th>{error}</th><th>{app}</th><th>{status}</th><th></th></tr></thead><tbody>",
            all = t(locale, "console-select-all"),
            stage = t(locale, "console-dl-stage"),
            reason = t(locale, "console-dl-reason"),
            attempts = t(locale, "console-dl-attempts"),
            first = t(locale, "console-dl-first-failure"),
            last = t(locale, "console-dl-last-failure"),
            error = t(locale, "console-dl-error"),
            app = t(locale, "console-dl-application"),
            status = t(locale, "console-dl-status"),
        );
        for d in &page.items {
            body.push_str(&row_html(locale, d, admin));
        }
        if page.items.is_empty() {
            let _ = write!(body, "<tr><td colspan=\"11\" class=\"empty\">{}</td></tr>", t(locale, "console-empty"));
        }
        body.push_str("</tbody></table></form>");
        body.push_str(&html::pagination(locale, "/dead-letters", &filter_query(&filter), page.page, page.pages(), page.total));
        Ok(html::page(locale, Some(&who.operator), "/dead-letters", &t(locale, "console-dl-title"), &body).into_response())
    })
    .await
}

async fn detail(State(state): State<AppState>, who: UiOperator, Path(id): Path<i64>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let d = dead_letters::detail(&state.pool, id, &api::redactor(&who.operator)).await?.ok_or(ApiError::NotFound)?;
        let row = &d.row;
        let mut body = String::new();
        let fields: Vec<(&str, String)> = vec![
            ("console-dl-status", named(locale, "console-status", &row.status)),
            ("console-dl-stage", esc(row.stage.as_deref().unwrap_or("?"))),
            ("console-dl-reason", reason_cell(locale, &row.reason)),
            ("console-dl-attempts", row.attempts.to_string()),
            ("console-dl-first-failure", opt_time(row.first_failed_at.as_ref())),
            ("console-dl-last-failure", time(&row.last_failed_at)),
            ("console-dl-error", esc(row.last_error.as_deref().unwrap_or(""))),
            (
                "console-dl-application",
                row.application_id.map_or_else(|| "—".to_owned(), |a| format!("<a href=\"/timeline/{a}\" id=\"timeline-link\">{a}</a>")),
            ),
            ("console-dl-source-queue", esc(d.source_queue.as_deref().unwrap_or("—"))),
            ("console-dl-correlation", esc(d.correlation_id.as_deref().unwrap_or("—"))),
            ("console-dl-message-id", esc(d.message_id.as_deref().unwrap_or("—"))),
            ("console-dl-archived", time(&d.archived_at)),
            ("console-dl-replayed", format!("{} ({})", opt_time(row.replayed_at.as_ref()), row.replay_count)),
            ("console-dl-discarded", opt_time(row.discarded_at.as_ref())),
        ];
        body.push_str("<table class=\"fields\" id=\"dead-letter\">");
        for (key, value) in fields {
            let _ = write!(body, "<tr><th>{}</th><td>{value}</td></tr>", t(locale, key));
        }
        body.push_str("</table>");
        if who.operator.is_admin() && row.status == "dead" {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/dead-letters/replay\" class=\"actions\"><input type=\"hidden\" name=\"ids\" value=\"{id}\">\
                   <button type=\"submit\" name=\"scope\" value=\"selected\" id=\"replay-this\">{replay}</button>\
                   <button type=\"submit\" name=\"scope\" value=\"selected\" formaction=\"/dead-letters/discard\" class=\"danger\" id=\"discard-this\">{discard}</button></form>",
                id = row.id,
                replay = t(locale, "console-dl-replay-one"),
                discard = t(locale, "console-dl-discard-one"),
            );
        }
        let _ = write!(body, "<h2>{}</h2>", t(locale, "console-dl-payload"));
        match &d.payload_json {
            Some(json) => body.push_str(&json_block(json)),
            None => {
                let _ = write!(body, "<pre id=\"payload\">{}</pre>", esc(&d.payload));
            }
        }
        let _ = write!(body, "<h2>{}</h2>{}", t(locale, "console-dl-headers"), json_block(&d.headers));
        let _ = write!(body, "<h2>{}</h2>{}", t(locale, "console-dl-deaths"), json_block(&d.death_history));
        let title = ta(locale, "console-dl-detail-title", &[("id", row.id.into())]);
        Ok(html::page(locale, Some(&who.operator), "/dead-letters", &title, &body).into_response())
    })
    .await
}

/// An action form: the checked ids (or the one row's button), the scope and the filter.
struct ActionForm {
    selection: Selection,
    confirm: bool,
    filter_query: String,
}

fn parse_action(fields: &[(String, String)]) -> Result<ActionForm, ApiError> {
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let filter = DeadLetterFilter { stage: get("stage"), reason: get("reason"), status: get("status"), text: get("text") }
        .normalised()
        .map_err(ApiError::BadRequest)?;
    let parse_id = |v: &String| v.trim().parse::<i64>().map_err(|_| ApiError::BadRequest(format!("not a dead letter id: {v:?}")));
    let ids: Vec<i64> = match get("one") {
        Some(one) => vec![parse_id(&one)?],
        None => fields.iter().filter(|(k, _)| k == "ids").map(|(_, v)| parse_id(v)).collect::<Result<_, _>>()?,
    };
    let all_matching = get("one").is_none() && get("scope").as_deref() == Some("all");
    if ids.is_empty() && !all_matching {
        return Err(ApiError::BadRequest("nothing selected".into()));
    }
    Ok(ActionForm {
        filter_query: filter_query(&filter),
        selection: Selection { ids: if all_matching { Vec::new() } else { ids }, all_matching, filter },
        confirm: get("confirm").as_deref() == Some("yes"),
    })
}

fn back_to_list(filter_query: &str, outcome: &str) -> Response {
    let sep = if filter_query.is_empty() { "" } else { "&" };
    Redirect::to(&format!("/dead-letters?{filter_query}{sep}{outcome}")).into_response()
}

async fn replay(State(state): State<AppState>, who: UiOperator, Form(fields): Form<Vec<(String, String)>>) -> impl IntoResponse {
    render(&who, async {
        let form = parse_action(&fields)?;
        let outcome = api::do_replay(&state, &who.operator, &form.selection).await?;
        Ok(back_to_list(&form.filter_query, &format!("done=replayed&n={}&skipped={}", outcome.replayed.len(), outcome.skipped.len())))
    })
    .await
}

async fn discard(State(state): State<AppState>, who: UiOperator, Form(fields): Form<Vec<(String, String)>>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let form = parse_action(&fields)?;
        match api::do_discard(&state, &who.operator, &form.selection, form.confirm).await {
            Ok(discarded) => Ok(back_to_list(&form.filter_query, &format!("done=discarded&n={}", discarded.len()))),
            Err(ApiError::ConfirmationRequired { would_affect }) => {
                // Ask once more, carrying the same selection.
                let mut hidden = hidden_filter(&form.selection.filter);
                for id in &form.selection.ids {
                    let _ = write!(hidden, "<input type=\"hidden\" name=\"ids\" value=\"{id}\">");
                }
                let scope = if form.selection.all_matching { "all" } else { "selected" };
                let body = format!(
                    "<p class=\"notice warn\" id=\"confirm-text\">{question}</p>\
                     <form method=\"post\" action=\"/dead-letters/discard\" id=\"confirm-form\">{hidden}\
                       <input type=\"hidden\" name=\"scope\" value=\"{scope}\"><input type=\"hidden\" name=\"confirm\" value=\"yes\">\
                       <button type=\"submit\" class=\"danger\" id=\"confirm-discard\">{yes}</button>\
                       <a href=\"/dead-letters?{back}\" id=\"cancel-discard\">{cancel}</a></form>",
                    question = ta(locale, "console-discard-question", &[("count", would_affect.into())]),
                    yes = ta(locale, "console-discard-yes", &[("count", would_affect.into())]),
                    cancel = t(locale, "console-cancel"),
                    back = esc(&form.filter_query),
                );
                Ok(html::page(locale, Some(&who.operator), "/dead-letters", &t(locale, "console-discard-title"), &body).into_response())
            }
            Err(e) => Err(e),
        }
    })
    .await
}
