//! The reports page, with its chart: staff-created against client-created applications per day
//! as stacked bars, drawn server-side as inline SVG (no script, nothing to load).

use super::html::{self, esc, named, t, ta};
use super::{UiOperator, render};
use crate::api::RangeParams;
use crate::data::reports::{self, DayRow};
use crate::server::AppState;
use ariza_shared::domain::Locale;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use std::fmt::Write as _;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const MARGIN_LEFT: f64 = 36.0;
const MARGIN_BOTTOM: f64 = 24.0;

/// Stacked bars per day (staff below, client on top), with a y axis at the maximum.
pub fn day_chart(locale: Locale, days: &[DayRow]) -> String {
    let max = days.iter().map(|d| d.staff + d.client).max().unwrap_or(0).max(1);
    let plot_w = WIDTH - MARGIN_LEFT;
    let plot_h = HEIGHT - MARGIN_BOTTOM;
    let slot = plot_w / f64::from(u32::try_from(days.len().max(1)).unwrap_or(u32::MAX));
    let bar = (slot * 0.7).max(1.0);
    let scale = |n: i64| plot_h * (n as f64) / (max as f64);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" class=\"chart\" id=\"day-chart\" role=\"img\" aria-label=\"{label}\">\
         <title>{label}</title>\
         <line x1=\"{MARGIN_LEFT}\" y1=\"0\" x2=\"{MARGIN_LEFT}\" y2=\"{plot_h}\" stroke=\"#888\"/>\
         <line x1=\"{MARGIN_LEFT}\" y1=\"{plot_h}\" x2=\"{WIDTH}\" y2=\"{plot_h}\" stroke=\"#888\"/>\
         <text x=\"{tx}\" y=\"10\" font-size=\"10\" text-anchor=\"end\">{max}</text>\
         <text x=\"{tx}\" y=\"{plot_h}\" font-size=\"10\" text-anchor=\"end\">0</text>",
        label = t(locale, "console-reports-chart"),
        tx = MARGIN_LEFT - 4.0,
    );
    let label_every = (days.len() / 8).max(1);
    for (i, d) in days.iter().enumerate() {
        let x = MARGIN_LEFT + slot * (i as f64) + (slot - bar) / 2.0;
        let staff_h = scale(d.staff);
        let client_h = scale(d.client);
        let tooltip = ta(locale, "console-reports-day-tooltip", &[("day", d.day.to_string().into()), ("staff", d.staff.into()), ("client", d.client.into())]);
        let _ = write!(
            svg,
            "<g class=\"day\" data-day=\"{day}\" data-staff=\"{staff}\" data-client=\"{client}\"><title>{tooltip}</title>\
             <rect x=\"{x:.1}\" y=\"{ys:.1}\" width=\"{bar:.1}\" height=\"{staff_h:.1}\" fill=\"#2f6fb0\"/>\
             <rect x=\"{x:.1}\" y=\"{yc:.1}\" width=\"{bar:.1}\" height=\"{client_h:.1}\" fill=\"#e39b2d\"/></g>",
            day = d.day,
            staff = d.staff,
            client = d.client,
            ys = plot_h - staff_h,
            yc = plot_h - staff_h - client_h,
        );
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{cx:.1}\" y=\"{ly}\" font-size=\"9\" text-anchor=\"middle\">{label}</text>",
                cx = x + bar / 2.0,
                ly = HEIGHT - 8.0,
                label = d.day.format("%m-%d"),
            );
        }
    }
    svg.push_str("</svg>");
    let legend = format!(
        "<p class=\"legend\"><span class=\"swatch staff\"></span>{} <span class=\"swatch client\"></span>{}</p>",
        t(locale, "console-reports-staff-created"),
        t(locale, "console-reports-client-created")
    );
    svg + &legend
}

pub async fn reports_page(State(state): State<AppState>, who: UiOperator, Query(params): Query<RangeParams>) -> impl IntoResponse {
    render(&who, async {
        let locale = who.locale;
        let r = reports::reports(&state.pool, params.range()?).await?;
        let mut body = format!(
            "<form method=\"get\" action=\"/reports\" class=\"filters\" id=\"reports-range\">\
               <label>{from_l}<input type=\"date\" name=\"from\" value=\"{from}\"></label>\
               <label>{to_l}<input type=\"date\" name=\"to\" value=\"{to}\"></label>\
               <button type=\"submit\">{apply}</button></form>\
             <p id=\"report-totals\">{totals}</p>",
            from_l = t(locale, "console-from"),
            to_l = t(locale, "console-to"),
            apply = t(locale, "console-filter-apply"),
            from = r.from,
            to = r.to,
            totals = ta(
                locale,
                "console-reports-totals",
                &[("staff", r.staff_created.into()), ("client", r.client_created.into()), ("rejected", r.rejected.into())]
            ),
        );
        let _ = write!(body, "<h2>{}</h2>{}", t(locale, "console-reports-per-day"), day_chart(locale, &r.per_day));
        let _ = write!(
            body,
            "<h2>{}</h2><table class=\"list\" id=\"per-role\"><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-reports-per-role"),
            t(locale, "console-audit-role"),
            t(locale, "console-dl-count"),
        );
        for row in &r.per_role {
            let _ = write!(body, "<tr data-role=\"{raw}\"><td>{}</td><td class=\"count\">{}</td></tr>", named(locale, "role", &row.role), row.count, raw = esc(&row.role));
        }
        body.push_str("</tbody></table>");
        let _ = write!(
            body,
            "<h2>{}</h2><table class=\"list\" id=\"per-staff\"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-reports-per-staff"),
            t(locale, "console-app-creator"),
            t(locale, "console-audit-role"),
            t(locale, "console-dl-count"),
        );
        for row in &r.per_staff {
            let _ = write!(
                body,
                "<tr data-telegram-id=\"{tg}\"><td>{name} ({tg})</td><td>{role}</td><td class=\"count\">{count}</td></tr>",
                tg = row.telegram_id,
                name = esc(&row.name),
                role = named(locale, "role", &row.role),
                count = row.count,
            );
        }
        body.push_str("</tbody></table>");
        let _ = write!(
            body,
            "<h2>{}</h2><table class=\"list\" id=\"rejections\"><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t(locale, "console-reports-rejections"),
            t(locale, "console-dl-reason"),
            t(locale, "console-dl-count"),
            t(locale, "console-reports-example"),
        );
        for row in &r.rejections {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td class=\"count\">{}</td><td>{}</td></tr>",
                esc(&row.reason_key),
                row.count,
                esc(&row.example)
            );
        }
        if r.rejections.is_empty() {
            let _ = write!(body, "<tr><td colspan=\"3\" class=\"empty\">{}</td></tr>", t(locale, "console-empty"));
        }
        body.push_str("</tbody></table>");
        Ok(html::page(locale, Some(&who.operator), "/reports", &t(locale, "console-reports-title"), &body).into_response())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_chart_has_one_bar_group_per_day_scaled_to_the_busiest() {
        let day = |d: u32, staff, client| DayRow { day: NaiveDate::from_ymd_opt(2026, 11, d).expect("date"), staff, client };
        let svg = day_chart(Locale::Ru, &[day(1, 2, 1), day(2, 0, 0), day(3, 4, 2)]);
        assert_eq!(svg.matches("<g class=\"day\"").count(), 3);
        assert!(svg.contains("data-day=\"2026-11-03\" data-staff=\"4\" data-client=\"2\""));
        // The busiest day fills the plot: 196 px for 6 applications.
        assert!(svg.contains("height=\"130.7\""), "staff part of the busiest day: {svg}");
        assert!(!svg.contains("NaN"));
    }
}
