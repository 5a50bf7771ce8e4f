//! The monitoring files against the code: every metric (and every label of a selector or a
//! `by (...)`) that deploy/prometheus/alerts.yml and the Grafana dashboard use is one the processes
//! export (`ariza_shared::metrics::CATALOGUE`; that the running pipeline exports every entry of the
//! catalogue is checked by tests/pipeline/metrics.rs), and docs/monitoring.md explains every metric
//! and every alert.

use crate::support::read_repo_file;
use ariza_shared::metrics::{CATALOGUE, lookup};

/// A metric used in an expression, with the labels the expression names for it.
#[derive(Debug)]
struct Use {
    metric: String,
    labels: Vec<String>,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// Every `ariza_...` name in `text`, with the label names of a selector right after it.
fn metric_uses(text: &str) -> Vec<Use> {
    let mut uses = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("ariza_") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let len = tail.find(|c: char| !is_name_char(c)).unwrap_or(tail.len());
        let metric = &tail[..len];
        rest = &tail[len..];
        // Part of another word, a path, or a Rust path (`ariza_shared::...`): not a metric.
        if before.is_some_and(|c| is_name_char(c) || c == '-' || c == '/') || rest.starts_with("::") {
            continue;
        }
        let mut labels = Vec::new();
        if let Some(selector) = rest.strip_prefix('{').and_then(|s| s.split_once('}')).map(|(inside, _)| inside) {
            for matcher in selector.split(',').filter(|m| !m.trim().is_empty()) {
                let key: String = matcher.trim().chars().take_while(|c| is_name_char(*c)).collect();
                labels.push(key);
            }
        }
        uses.push(Use { metric: metric.to_owned(), labels });
    }
    uses
}

/// The label names of every `by (...)` in an expression.
fn grouping_labels(expr: &str) -> Vec<String> {
    expr.split("by (")
        .skip(1)
        .filter_map(|s| s.split_once(')'))
        .flat_map(|(inside, _)| inside.split(',').map(|l| l.trim().to_owned()).collect::<Vec<_>>())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Checks one expression: its metrics exist, its selectors and groupings name their labels.
fn check_expression(source: &str, expr: &str) -> usize {
    let uses = metric_uses(expr);
    let mut known_labels: Vec<&str> = vec!["le"];
    for u in &uses {
        let def = lookup(&u.metric).unwrap_or_else(|| panic!("{source}: {} is not a metric ariza exports", u.metric));
        known_labels.extend(def.labels);
        for label in &u.labels {
            assert!(
                def.labels.contains(&label.as_str()) || (label == "le" && u.metric.ends_with("_bucket")),
                "{source}: {} has no label {label} (it has {:?})",
                u.metric,
                def.labels
            );
        }
    }
    for label in grouping_labels(expr) {
        assert!(known_labels.contains(&label.as_str()), "{source}: `by ({label})` in {expr:?}: no metric there has that label");
    }
    uses.len()
}

/// The `expr:` values of the rules file (single-line or `|` blocks), with their alert names.
fn rule_expressions(yaml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut alert = String::new();
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("- alert: ") {
            alert = name.trim().to_owned();
        } else if let Some(value) = trimmed.strip_prefix("expr: ") {
            let value = value.trim();
            if value == "|" {
                let indent = line.len() - trimmed.len();
                let mut block = String::new();
                while let Some(next) = lines.peek() {
                    if !next.trim().is_empty() && next.len() - next.trim_start().len() <= indent {
                        break;
                    }
                    block.push_str(next.trim());
                    block.push(' ');
                    lines.next();
                }
                out.push((alert.clone(), block));
            } else {
                out.push((alert.clone(), value.to_owned()));
            }
        }
    }
    out
}

#[test]
fn every_metric_the_alert_rules_use_is_exported() {
    let yaml = read_repo_file("deploy/prometheus/alerts.yml");
    let rules = rule_expressions(&yaml);
    assert!(rules.len() >= 10, "the rules are read: {rules:?}");
    for (alert, expr) in &rules {
        assert!(!alert.is_empty(), "an expression outside an alert: {expr}");
        assert!(check_expression(&format!("alerts.yml {alert}"), expr) > 0, "{alert} uses no ariza metric: {expr}");
    }
    // Anything else in the file that looks like a metric (descriptions) must exist too.
    for u in metric_uses(&yaml) {
        assert!(lookup(&u.metric).is_some(), "alerts.yml mentions {}, which ariza does not export", u.metric);
    }
    // What issue 7 asks the rules to watch.
    for needed in ["ariza_queue_messages", "ariza_dead_letters_archived_total", "ariza_queue_consumers", "ariza_stage_retried_total", "ariza_breaker_open"] {
        assert!(rules.iter().any(|(_, e)| e.contains(needed)), "no alert rule watches {needed}");
    }
    assert!(rules.iter().any(|(a, _)| a == "ArizaNotificationBacklog"), "a notification backlog alert");
}

#[test]
fn every_metric_the_dashboard_uses_is_exported() {
    let dashboard: serde_json::Value = serde_json::from_str(&read_repo_file("deploy/grafana/ariza-dashboard.json")).expect("dashboard JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10);
    let mut used = std::collections::BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().expect("a panel title");
        let targets = panel["targets"].as_array().unwrap_or_else(|| panic!("{title}: no targets"));
        assert!(!targets.is_empty(), "{title}: no targets");
        for target in targets {
            let expr = target["expr"].as_str().unwrap_or_else(|| panic!("{title}: a target without expr"));
            assert!(check_expression(&format!("dashboard {title:?}"), expr) > 0, "{title}: {expr}");
            used.extend(metric_uses(expr).into_iter().filter_map(|u| lookup(&u.metric)).map(|d| d.name));
        }
    }
    let unused: Vec<_> = CATALOGUE.iter().map(|m| m.name).filter(|n| !used.contains(n)).collect();
    assert!(unused.is_empty(), "metrics no dashboard panel shows: {unused:?}");
}

#[test]
fn the_monitoring_page_explains_every_metric_and_every_alert() {
    let doc = read_repo_file("docs/monitoring.md");
    for metric in CATALOGUE {
        assert!(doc.contains(&format!("`{}`", metric.name)), "docs/monitoring.md does not explain {}", metric.name);
    }
    for (alert, _) in rule_expressions(&read_repo_file("deploy/prometheus/alerts.yml")) {
        assert!(doc.contains(&format!("### {alert}")), "docs/monitoring.md has no section ### {alert}");
    }
    for u in metric_uses(&doc) {
        assert!(lookup(&u.metric).is_some(), "docs/monitoring.md mentions {}, which ariza does not export", u.metric);
    }
}

#[test]
fn the_expression_reader_sees_selectors_and_groupings() {
    let uses = metric_uses(r#"sum by (stage) (rate(ariza_stage_retried_total{stage="workflow", tier_ms=~"5.*"}[5m])) / ariza_x"#);
    assert_eq!(uses.len(), 2);
    assert_eq!(uses[0].metric, "ariza_stage_retried_total");
    assert_eq!(uses[0].labels, ["stage", "tier_ms"]);
    assert_eq!(grouping_labels("max by (queue, stage) (x) + sum by (le) (y)"), ["queue", "stage", "le"]);
    assert!(lookup("ariza_x").is_none());
}
