//! HTML building blocks: escaping, translated texts, the page layout with its navigation and
//! language switch, tables, pagination and dates. Everything a person reads comes from
//! `locales/{uz,ru}/console.ftl`; everything from the database goes through [`esc`].

use crate::auth::Operator;
use ariza_shared::domain::Locale;
use ariza_shared::errors::MessageArgs;
use ariza_shared::i18n;
use axum::response::Html;
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// A query string from pairs, blank values left out.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.trim().is_empty()).map(|v| format!("{k}={}", url_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// The translated, escaped text of a console key.
pub fn t(locale: Locale, key: &str) -> String {
    esc(&i18n::plain(locale, key))
}

/// The translated, escaped text of a key with arguments.
pub fn ta(locale: Locale, key: &str, args: &[(&str, serde_json::Value)]) -> String {
    let args: MessageArgs = args.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    esc(&i18n::text(locale, key, &args))
}

/// A value from a closed set shown in words (`role-manager`, `state-new`, ...), or as it is when
/// this build has no text for it.
pub fn named(locale: Locale, prefix: &str, value: &str) -> String {
    let key = format!("{prefix}-{}", value.replace('_', "-"));
    esc(&i18n::try_text(locale, &key, &MessageArgs::new()).unwrap_or_else(|| value.to_owned()))
}

/// A time as operators read it (UTC).
pub fn time(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn opt_time(at: Option<&DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_else(|| "—".to_owned())
}

/// The navigation: (path, key).
const NAV: &[(&str, &str)] = &[
    ("/queues", "console-nav-queues"),
    ("/dead-letters", "console-nav-dead-letters"),
    ("/timeline", "console-nav-timeline"),
    ("/audit", "console-nav-audit"),
    ("/reports", "console-nav-reports"),
    ("/alerts", "console-nav-alerts"),
    ("/operator-log", "console-nav-operator-log"),
];

/// A whole page. `current` is the path of the navigation entry to highlight; `back` is where the
/// language switch returns to.
pub fn page(locale: Locale, operator: Option<&Operator>, current: &str, title: &str, body: &str) -> Html<String> {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · {brand}</title><link rel=\"stylesheet\" href=\"/static/console.css\"><script src=\"/static/console.js\" defer></script></head><body>\
         <header><span class=\"brand\">{brand}</span>",
        lang = locale.as_str(),
        brand = t(locale, "console-brand"),
    );
    if let Some(op) = operator {
        out.push_str("<nav>");
        for (path, key) in NAV {
            let class = if *path == current { " class=\"current\"" } else { "" };
            let _ = write!(out, "<a href=\"{path}\"{class}>{}</a>", t(locale, key));
        }
        out.push_str("</nav>");
        let _ = write!(
            out,
            "<span class=\"who\" id=\"operator\">{} · {}</span>\
             <form method=\"post\" action=\"/logout\" class=\"inline\"><button type=\"submit\" id=\"logout\">{}</button></form>",
            esc(&op.name),
            named(locale, "console-role", op.role.as_str()),
            t(locale, "console-logout"),
        );
    }
    let back = url_encode(current);
    let _ = write!(
        out,
        "<span class=\"lang\"><a href=\"/lang/uz?next={back}\" id=\"lang-uz\">O‘zbekcha</a> · <a href=\"/lang/ru?next={back}\" id=\"lang-ru\">Русский</a></span></header>\
         <main><h1>{title}</h1>{body}</main></body></html>"
    );
    Html(out)
}

/// A notice line (after an action).
pub fn notice(text: &str, kind: &str) -> String {
    format!("<p class=\"notice {kind}\" id=\"notice\">{text}</p>")
}

/// Links to the pages of a list, keeping `base_query`.
pub fn pagination(locale: Locale, path: &str, base_query: &str, page: u32, pages: u32, total: i64) -> String {
    let link = |p: u32| {
        let sep = if base_query.is_empty() { "" } else { "&" };
        format!("{path}?{base_query}{sep}page={p}")
    };
    let mut out = format!(
        "<p class=\"pages\">{}",
        ta(locale, "console-page-of", &[("page", page.into()), ("pages", pages.into()), ("total", total.into())])
    );
    if page > 1 {
        let _ = write!(out, " <a href=\"{}\" id=\"prev-page\">{}</a>", esc(&link(page - 1)), t(locale, "console-page-prev"));
    }
    if page < pages {
        let _ = write!(out, " <a href=\"{}\" id=\"next-page\">{}</a>", esc(&link(page + 1)), t(locale, "console-page-next"));
    }
    out.push_str("</p>");
    out
}

/// `<option>`s for a select, with the current value selected and an "any" first entry.
pub fn options(locale: Locale, values: &[(String, String)], current: Option<&str>) -> String {
    let mut out = format!("<option value=\"\">{}</option>", t(locale, "console-any"));
    for (value, label) in values {
        let selected = if current == Some(value.as_str()) { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{selected}>{}</option>", esc(value), label);
    }
    out
}

/// A JSON value, pretty-printed and escaped.
pub fn json_block(value: &serde_json::Value) -> String {
    format!("<pre>{}</pre>", esc(&serde_json::to_string_pretty(value).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_data_is_escaped() {
        assert_eq!(esc("<script>alert('x')</script>&\""), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
    }

    #[test]
    fn query_strings_leave_blanks_out_and_encode_values() {
        assert_eq!(query(&[("stage", Some("validation".into())), ("reason", Some(" ".into())), ("text", Some("a b&c".into()))]), "stage=validation&text=a%20b%26c");
    }
}
