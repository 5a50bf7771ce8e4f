//! The read-mostly pages: queues, application timelines, the audit with its CSV export, alerts
//! (acknowledged by administrators) and the operator log. Reports are in [`super::chart`].

use super::html::{self, esc, named, opt_time, query, t, ta, time};
use super::{UiOperator, render};
use crate::actions;
use crate::api::{self, AuditParams, PageParams, SearchParams};
use crate::data::{Paging, alerts, audit, queues, timeline};
use crate::error::ApiError;
use crate::server::AppState;
use ariza_shared::domain::Locale;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use std::fmt::Write as _;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/queues", get(queue_page))
        .route("/timeline", get(search_page))
        .route("/timeline/{id}", get(timeline_page))
        .route("/audit", get(audit_page))
        .route("/audit.csv", get(audit_csv))
        .route("/reports", get(super::chart::reports_page))
        .route("/alerts", get(alerts_page))
        .route("/alerts/{id}/acknowledge", post(acknowledge))
        .route("/operator-log", get(operator_log))
}

fn num(v: Option<u64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"))
}

async fn queue_page(State(state): State<AppState>, who: UiOperator) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let report = api::queue_report(&state).await?;
        let mut body = String::new();
        let source_key = match report.source {
            queues::StatsSource::ManagementApi => "console-queues-from-management",
            queues::StatsSource::PassiveDeclare => "console-queues-from-amqp",
        };
        let _ = write!(body, "<p class=\"hint\" id=\"queue-source\">{}</p>", t(locale, source_key));
        if let Some(why) = &report.management_error {
            let _ = write!(body, "<p class=\"notice warn\">{}: {}</p>", t(locale, "console-queues-management-failed"), esc(why));
        }
        if report.rates_from_workers {
            let _ = write!(body, "<p class=\"hint\" id=\"rates-source\">{}</p>", t(locale, "console-queues-rates-from-workers"));
        }
        if let Some(why) = &report.rates_error {
            let _ = write!(body, "<p class=\"notice warn\">{}: {}</p>", t(locale, "console-queues-rates-failed"), esc(why));
        }
        let _ = write!(
            body,
            "<table class=\"list\" id=\"queues\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-queue-name"),
            t(locale, "console-queue-kind"),
            t(locale, "console-dl-stage"),
            t(locale, "console-queue-depth"),
            t(locale, "console-queue-unacked"),
            t(locale, "console-queue-consumers"),
            t(locale, "console-queue-publish-rate"),
            t(locale, "console-queue-deliver-rate"),
            t(locale, "console-queue-ack-rate"),
        );
        for q in &report.queues {
            let kind = match (q.kind, q.ttl_ms) {
                (queues::QueueKind::Retry, Some(ttl)) => ta(locale, "console-queue-kind-retry", &[("ms", ttl.into())]),
                (kind, _) => named(locale, "console-queue-kind", kind.as_str()),
            };
            let depth = if q.missing { t(locale, "console-queue-missing") } else { num(q.messages) };
            let _ = write!(
                body,
                "<tr data-queue=\"{name}\"><td><code>{name}</code></td><td>{kind}</td><td>{stage}</td><td class=\"depth\">{depth}</td><td>{unacked}</td><td>{consumers}</td><td>{publish}</td><td>{deliver}</td><td>{ack}</td></tr>",
                name = esc(&q.name),
                stage = esc(q.stage.as_deref().unwrap_or("—")),
                unacked = num(q.messages_unacknowledged),
                consumers = num(q.consumers),
                publish = rate(q.publish_rate),
                deliver = rate(q.deliver_rate),
                ack = rate(q.ack_rate),
            );
        }
        body.push_str("</tbody></table>");
        Ok(html::page(locale, Some(&who.operator), "/queues", &t(locale, "console-queues-title"), &body).into_response())
    })
    .await
}

fn search_form(locale: Locale, q: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/timeline\" class=\"filters\" id=\"timeline-search\"><label>{label}<input name=\"q\" id=\"timeline-q\" value=\"{q}\"></label>\
         <button type=\"submit\" id=\"timeline-submit\">{search}</button></form><p class=\"hint\">{hint}</p>",
        label = t(locale, "console-timeline-query"),
        search = t(locale, "console-search"),
        hint = t(locale, "console-timeline-hint"),
        q = esc(q),
    )
}

async fn search_page(State(state): State<AppState>, who: UiOperator, Query(params): Query<SearchParams>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let hits = timeline::search(&state.pool, &params.q, &api::redactor(&who.operator)).await?;
        if hits.len() == 1 && uuid::Uuid::parse_str(params.q.trim()).is_ok() {
            return Ok(Redirect::to(&format!("/timeline/{}", hits[0].id)).into_response());
        }
        let mut body = search_form(locale, &params.q);
        if !params.q.trim().is_empty() {
            let _ = write!(
                body,
                "<table class=\"list\" id=\"applications\"><thead><tr><th>№</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
                t(locale, "console-app-kind"),
                t(locale, "console-app-state"),
                t(locale, "console-app-source"),
                t(locale, "console-app-client"),
                t(locale, "console-app-phone"),
                t(locale, "console-app-creator"),
                t(locale, "console-app-at"),
            );
            for h in &hits {
                let _ = write!(
                    body,
                    "<tr><td><a href=\"/timeline/{id}\">{number}</a></td><td>{kind}</td><td>{state}</td><td>{source}</td><td>{client}</td><td>{phone}</td><td>{creator}</td><td>{at}</td></tr>",
                    id = h.id,
                    number = h.number.map_or_else(|| h.id.to_string()[..8].to_owned(), |n| format!("№{n}")),
                    kind = named(locale, "kind", &h.kind),
                    state = named(locale, "state", &h.state),
                    source = named(locale, "console-source", &h.creation_source),
                    client = esc(h.client_name.as_deref().unwrap_or("—")),
                    phone = esc(h.client_phone.as_deref().unwrap_or("—")),
                    creator = esc(&format!("{} ({})", h.creator_name.as_deref().unwrap_or("—"), h.creator_telegram_id)),
                    at = time(&h.at),
                );
            }
            if hits.is_empty() {
                let _ = write!(body, "<tr><td colspan=\"8\" class=\"empty\">{}</td></tr>", t(locale, "console-empty"));
            }
            body.push_str("</tbody></table>");
        }
        Ok(html::page(locale, Some(&who.operator), "/timeline", &t(locale, "console-timeline-title"), &body).into_response())
    })
    .await
}

async fn timeline_page(State(state): State<AppState>, who: UiOperator, Path(id): Path<uuid::Uuid>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let tl = timeline::timeline(&state.pool, id, &api::redactor(&who.operator)).await?.ok_or(ApiError::NotFound)?;
        let mut body = search_form(locale, "");
        if let Some(s) = &tl.summary {
            let fields = [
                ("console-app-number", format!("№{}", s.number)),
                ("console-app-id", s.id.to_string()),
                ("console-app-kind", named(locale, "kind", &s.kind)),
                ("console-app-state", named(locale, "state", &s.state)),
                ("console-app-source", named(locale, "console-source", &s.creation_source)),
                ("console-app-client", esc(&s.client_name)),
                ("console-app-phone", esc(&s.client_phone)),
                ("console-app-address", esc(&s.address)),
                (
                    "console-app-creator",
                    format!("{} ({}, {})", esc(s.creator_name.as_deref().unwrap_or("—")), s.creator_telegram_id, named(locale, "role", s.creator_role.as_deref().unwrap_or("client"))),
                ),
                ("console-app-submitted", time(&s.submitted_at)),
            ];
            body.push_str("<table class=\"fields\" id=\"application\">");
            for (k, v) in fields {
                let _ = write!(body, "<tr><th>{}</th><td>{v}</td></tr>", t(locale, k));
            }
            body.push_str("</table>");
        }
        if let Some(rej) = &tl.rejection {
            let _ = write!(
                body,
                "<p class=\"notice warn\" id=\"rejection\">{}: {}</p>",
                t(locale, "console-app-rejected"),
                esc(&rej.reason_text)
            );
        }
        // The stages, in pipeline order.
        let _ = write!(
            body,
            "<h2>{}</h2><table class=\"list\" id=\"stages\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-timeline-stages"),
            t(locale, "console-dl-stage"),
            t(locale, "console-dl-status"),
            t(locale, "console-app-at"),
            t(locale, "console-dl-attempts"),
            t(locale, "console-dl-error"),
        );
        for s in &tl.stages {
            let _ = write!(
                body,
                "<tr data-stage=\"{stage}\" data-state=\"{state_raw}\"><td>{stage}</td><td class=\"state\">{state}</td><td>{at}</td><td>{attempts}</td><td class=\"error-text\">{errors}</td></tr>",
                stage = esc(&s.stage),
                state_raw = s.state.as_str(),
                state = named(locale, "console-stage-state", s.state.as_str()),
                at = opt_time(s.at.as_ref()),
                attempts = s.attempts,
                errors = esc(&s.errors.join(" · ")),
            );
        }
        body.push_str("</tbody></table>");
        // Everything that happened, in order.
        let _ = write!(
            body,
            "<h2>{}</h2><table class=\"list\" id=\"events\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
            t(locale, "console-timeline-events"),
            t(locale, "console-app-at"),
            t(locale, "console-dl-stage"),
            t(locale, "console-timeline-event"),
        );
        for e in &tl.events {
            let _ = write!(
                body,
                "<tr data-event=\"{what_raw}\"><td>{at}</td><td>{stage}</td><td>{what}</td><td>{detail}</td></tr>",
                what_raw = esc(&e.what),
                at = time(&e.at),
                stage = esc(e.stage.as_deref().unwrap_or("—")),
                what = named(locale, "console-event", &e.what),
                detail = esc(&e.detail),
            );
        }
        body.push_str("</tbody></table>");
        // Notifications, with what they said.
        let _ = write!(
            body,
            "<h2>{}</h2><table class=\"list\" id=\"notifications\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-timeline-notifications"),
            t(locale, "console-notification-recipient"),
            t(locale, "console-notification-template"),
            t(locale, "console-dl-status"),
            t(locale, "console-dl-attempts"),
            t(locale, "console-notification-sent-at"),
            t(locale, "console-notification-text"),
            t(locale, "console-dl-error"),
        );
        for n in &tl.notifications {
            let _ = write!(
                body,
                "<tr class=\"notification\" data-status=\"{status_raw}\"><td>{kind} {recipient}</td><td><code>{template}</code></td><td>{status}</td><td>{attempts}</td><td>{sent}</td><td>{text}</td><td class=\"error-text\">{error}</td></tr>",
                status_raw = esc(&n.status),
                kind = esc(&n.recipient_kind),
                recipient = n.recipient_id,
                template = esc(&n.template_key),
                status = named(locale, "console-notification-status", &n.status),
                attempts = n.attempts,
                sent = opt_time(n.sent_at.as_ref()),
                text = esc(n.text.as_deref().unwrap_or("")),
                error = esc(n.last_error.as_deref().unwrap_or("")),
            );
        }
        if tl.notifications.is_empty() {
            let _ = write!(body, "<tr><td colspan=\"7\" class=\"empty\">{}</td></tr>", t(locale, "console-empty"));
        }
        body.push_str("</tbody></table>");
        if !tl.dead_letters.is_empty() {
            let _ = write!(body, "<h2>{}</h2><ul id=\"application-dead-letters\">", t(locale, "console-nav-dead-letters"));
            for d in &tl.dead_letters {
                let _ = write!(
                    body,
                    "<li><a href=\"/dead-letters/{id}\">#{id}</a> {stage} · {reason} · {status}</li>",
                    id = d.id,
                    stage = esc(d.stage.as_deref().unwrap_or("?")),
                    reason = named(locale, "console-reason", &d.reason),
                    status = named(locale, "console-status", &d.status),
                );
            }
            body.push_str("</ul>");
        }
        let title = ta(locale, "console-timeline-of", &[("id", tl.application_id.to_string().into())]);
        Ok(html::page(locale, Some(&who.operator), "/timeline", &title, &body).into_response())
    })
    .await
}

fn audit_query(p: &AuditParams) -> String {
    query(&[
        ("from", p.from.clone()),
        ("to", p.to.clone()),
        ("source", p.source.clone()),
        ("role", p.role.clone()),
        ("creator", p.creator.clone()),
        ("kind", p.kind.clone()),
        ("phone", p.phone.clone()),
    ])
}

async fn audit_page(State(state): State<AppState>, who: UiOperator, Query(params): Query<AuditParams>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let filter = params.filter()?;
        let paging = Paging::new(params.page, params.per_page, state.settings.console.page_size);
        let rows = audit::rows(&state.pool, &filter, Some(paging), &api::redactor(&who.operator)).await?;
        let roles: Vec<(String, String)> =
            ariza_shared::domain::Role::ALL.iter().map(|r| (r.as_str().to_owned(), named(locale, "role", r.as_str()))).collect();
        let sources: Vec<(String, String)> =
            ["staff", "client"].iter().map(|s| ((*s).to_owned(), named(locale, "console-source", s))).collect();
        let kinds: Vec<(String, String)> =
            ariza_shared::domain::ApplicationKind::ALL.iter().map(|k| (k.as_str().to_owned(), named(locale, "kind", k.as_str()))).collect();
        let v = |o: &Option<String>| esc(o.as_deref().unwrap_or(""));
        let mut body = format!(
            "<form method=\"get\" action=\"/audit\" class=\"filters\" id=\"audit-filter\">\
               <label>{from_l}<input type=\"date\" name=\"from\" value=\"{from}\"></label>\
               <label>{to_l}<input type=\"date\" name=\"to\" value=\"{to}\"></label>\
               <label>{source_l}<select name=\"source\" id=\"audit-source\">{sources}</select></label>\
               <label>{role_l}<select name=\"role\" id=\"audit-role\">{roles}</select></label>\
               <label>{kind_l}<select name=\"kind\">{kinds}</select></label>\
               <label>{creator_l}<input name=\"creator\" value=\"{creator}\"></label>\
               <label>{phone_l}<input name=\"phone\" value=\"{phone}\"></label>\
               <button type=\"submit\" id=\"audit-submit\">{apply}</button></form>\
             <p><a href=\"/audit.csv?{q}\" id=\"audit-csv\" download>{csv}</a></p>",
            from_l = t(locale, "console-from"),
            to_l = t(locale, "console-to"),
            source_l = t(locale, "console-app-source"),
            role_l = t(locale, "console-audit-role"),
            kind_l = t(locale, "console-app-kind"),
            creator_l = t(locale, "console-audit-creator"),
            phone_l = t(locale, "console-app-phone"),
            apply = t(locale, "console-filter-apply"),
            csv = t(locale, "console-audit-csv"),
            from = v(&params.from),
            to = v(&params.to),
            creator = v(&params.creator),
            phone = v(&params.phone),
            sources = html::options(locale, &sources, filter.source.as_deref()),
            roles = html::options(locale, &roles, filter.role.as_deref()),
            kinds = html::options(locale, &kinds, filter.kind.as_deref()),
            q = esc(&audit_query(&params)),
        );
        let _ = write!(
            body,
            "<table class=\"list\" id=\"audit\"><thead><tr><th>{}</th><th>№</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-app-at"),
            t(locale, "console-app-kind"),
            t(locale, "console-app-source"),
            t(locale, "console-app-creator"),
            t(locale, "console-audit-role"),
            t(locale, "console-app-client"),
            t(locale, "console-app-phone"),
        );
        for r in &rows.items {
            let _ = write!(
                body,
                "<tr><td>{at}</td><td><a href=\"/timeline/{id}\">№{number}</a></td><td>{kind}</td><td>{source}</td><td>{creator}</td><td>{role}</td><td>{client}</td><td class=\"phone\">{phone}</td></tr>",
                at = time(&r.created_at),
                id = r.application_id,
                number = r.number,
                kind = named(locale, "kind", &r.kind),
                source = named(locale, "console-source", &r.creation_source),
                creator = esc(&format!("{} ({})", r.creator_name.as_deref().unwrap_or("—"), r.creator_telegram_id)),
                role = named(locale, "role", &r.creator_role),
                client = esc(&r.client_name),
                phone = esc(&r.client_phone),
            );
        }
        if rows.items.is_empty() {
            let _ = write!(body, "<tr><td colspan=\"8\" class=\"empty\">{}</td></tr>", t(locale, "console-empty"));
        }
        body.push_str("</tbody></table>");
        body.push_str(&html::pagination(locale, "/audit", &audit_query(&params), rows.page, rows.pages(), rows.total));
        Ok(html::page(locale, Some(&who.operator), "/audit", &t(locale, "console-audit-title"), &body).into_response())
    })
    .await
}

async fn audit_csv(State(state): State<AppState>, who: UiOperator, Query(params): Query<AuditParams>) -> impl IntoResponse {
    render(&who, async { api::audit_csv_response(&state, &who.operator, &params).await }).await
}

async fn alerts_page(State(state): State<AppState>, who: UiOperator, Query(params): Query<PageParams>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let open = params.open.unwrap_or(false);
        let paging = Paging::new(params.page, params.per_page, state.settings.console.page_size);
        let list = alerts::list(&state.pool, open, paging, &api::redactor(&who.operator)).await?;
        let mut body = String::new();
        if !list.available {
            let _ = write!(body, "<p class=\"notice warn\" id=\"alerts-unavailable\">{}</p>", t(locale, "console-alerts-unavailable"));
            return Ok(html::page(locale, Some(&who.operator), "/alerts", &t(locale, "console-alerts-title"), &body).into_response());
        }
        let _ = write!(
            body,
            "<p><a href=\"/alerts?open=true\">{}</a> · <a href=\"/alerts\">{}</a></p>\
             <table class=\"list\" id=\"alerts\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>",
            t(locale, "console-alerts-open"),
            t(locale, "console-alerts-all"),
            t(locale, "console-alert-fired"),
            t(locale, "console-alert-rule"),
            t(locale, "console-alert-subject"),
            t(locale, "console-alert-count"),
            t(locale, "console-alert-window"),
            t(locale, "console-alert-notified"),
            t(locale, "console-alert-acknowledged"),
        );
        for a in &list.page.items {
            let ack = match (&a.acknowledged_at, who.operator.is_admin()) {
                (Some(at), _) => format!("{} · {}", time(at), esc(a.acknowledged_by.as_deref().unwrap_or(""))),
                (None, true) => format!(
                    "<form method=\"post\" action=\"/alerts/{id}/acknowledge\" class=\"inline\"><button type=\"submit\" id=\"ack-{id}\">{}</button></form>",
                    t(locale, "console-alert-acknowledge"),
                    id = a.id
                ),
                (None, false) => "—".to_owned(),
            };
            let _ = write!(
                body,
                "<tr id=\"alert-{id}\"><td>{fired}</td><td><code>{rule}</code></td><td>{subject}</td><td>{count}</td><td>{from} – {to}</td><td>{notified}</td><td>{ack}</td><td>{details}</td></tr>",
                id = a.id,
                fired = time(&a.fired_at),
                rule = esc(&a.rule),
                subject = esc(&a.subject),
                count = a.count.map_or_else(|| "—".to_owned(), |c| c.to_string()),
                from = opt_time(a.window_start.as_ref()),
                to = opt_time(a.window_end.as_ref()),
                notified = if a.notified.unwrap_or(false) { t(locale, "console-yes") } else { t(locale, "console-no") },
                details = esc(&a.details.to_string()),
            );
        }
        if list.page.items.is_empty() {
            let _ = write!(body, "<tr><td colspan=\"8\" class=\"empty\">{}</td></tr>", t(locale, "console-empty"));
        }
        body.push_str("</tbody></table>");
        let q = if open { "open=true" } else { "" };
        body.push_str(&html::pagination(locale, "/alerts", q, list.page.page, list.page.pages(), list.page.total));
        Ok(html::page(locale, Some(&who.operator), "/alerts", &t(locale, "console-alerts-title"), &body).into_response())
    })
    .await
}

async fn acknowledge(State(state): State<AppState>, who: UiOperator, Path(id): Path<i64>) -> impl IntoResponse {
    render(&who, async {
        api::do_acknowledge(&state, &who.operator, id).await?;
        Ok(Redirect::to("/alerts").into_response())
    })
    .await
}

async fn operator_log(State(state): State<AppState>, who: UiOperator, Query(params): Query<PageParams>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let paging = Paging::new(params.page, params.per_page, state.settings.console.page_size);
        let rows = actions::recent(&state.pool, paging.limit(), paging.offset()).await?;
        let r = api::redactor(&who.operator);
        let mut body = format!(
            "<table class=\"list\" id=\"operator-actions\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-app-at"),
            t(locale, "console-log-operator"),
            t(locale, "console-log-action"),
            t(locale, "console-log-target"),
            t(locale, "console-log-outcome"),
        );
        for a in &rows {
            let _ = write!(
                body,
                "<tr><td>{at}</td><td>{who} ({role})</td><td><code>{action}</code></td><td><code>{target}</code></td><td><code>{outcome}</code></td></tr>",
                at = time(&a.created_at),
                who = esc(&a.operator),
                role = named(locale, "console-role", &a.role),
                action = esc(&a.action),
                target = esc(&r.json(a.target.clone()).to_string()),
                outcome = esc(&r.json(a.outcome.clone()).to_string()),
            );
        }
        body.push_str("</tbody></table>");
        let next = paging.page + 1;
        if i64::try_from(rows.len()).unwrap_or(0) == paging.limit() {
            let _ = write!(body, "<p><a href=\"/operator-log?page={next}\">{}</a></p>", t(locale, "console-page-next"));
        }
        Ok(html::page(locale, Some(&who.operator), "/operator-log", &t(locale, "console-log-title"), &body).into_response())
    })
    .await
}
