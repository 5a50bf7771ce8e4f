//! The configuration reference, docs/configuration.md, checked against config/base.toml (the
//! compiled-in defaults): every setting is documented with its exact default and its
//! `ARIZA__SECTION__KEY` variable, and the page names no setting that does not exist. The
//! layering it describes (overlay file, environment variables, lists) is checked on the binary.

use crate::support::{read_repo_file, run_ariza, stdout_of, unique};
use std::collections::BTreeMap;

/// `section.key` to the value's TOML text, read line by line from config/base.toml.
fn base_settings() -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    let mut section = String::new();
    for (n, line) in read_repo_file("config/base.toml").lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("config/base.toml:{}: not `key = value`", n + 1));
        let value = value.trim();
        assert!(
            !value.starts_with('[') || value.ends_with(']'),
            "config/base.toml:{}: multi-line values are not supported by this check",
            n + 1
        );
        assert!(!section.is_empty(), "config/base.toml:{}: a setting outside any section", n + 1);
        settings.insert(format!("{section}.{}", key.trim()), value.to_owned());
    }
    settings
}

/// A row of a settings table: `| `section.key` | `default` | `VARIABLE` | meaning |`.
struct Documented {
    default: String,
    variable: String,
}

fn documented() -> BTreeMap<String, Documented> {
    let mut rows = BTreeMap::new();
    for line in read_repo_file("docs/configuration.md").lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| a | b | c | d |" splits into ["", a, b, c, d, ""].
        if cells.len() < 6 {
            continue;
        }
        let Some(key) = cells[1].strip_prefix('`').and_then(|c| c.strip_suffix('`')) else { continue };
        // Settings are `section.key`; the table of plain variables has no dot in its first cell.
        if !key.contains('.') || key.contains(' ') {
            continue;
        }
        let unquote = |cell: &str| cell.trim_matches('`').to_owned();
        let previous = rows.insert(key.to_owned(), Documented { default: unquote(cells[2]), variable: unquote(cells[3]) });
        assert!(previous.is_none(), "docs/configuration.md documents {key} twice");
    }
    rows
}

#[test]
fn every_setting_is_documented_with_its_default_and_environment_variable() {
    let documented = documented();
    let settings = base_settings();
    assert!(settings.len() > 20, "config/base.toml read: {settings:?}");
    for (key, value) in &settings {
        let doc = documented.get(key).unwrap_or_else(|| panic!("docs/configuration.md does not document {key}"));
        assert_eq!(&doc.default, value, "the default of {key} in docs/configuration.md");
        let variable = format!("ARIZA__{}", key.replace('.', "__").to_uppercase());
        assert_eq!(doc.variable, variable, "the environment variable of {key} in docs/configuration.md");
    }
}

#[test]
fn the_reference_documents_no_setting_that_does_not_exist() {
    let settings = base_settings();
    for key in documented().keys() {
        assert!(settings.contains_key(key), "docs/configuration.md documents {key}, which config/base.toml does not have");
    }
}

/// The queue names `ariza topology definitions` prints under the given environment.
fn queue_names(env: &[(&str, &str)]) -> Vec<String> {
    let out = stdout_of("ariza topology definitions", &run_ariza(&["topology", "definitions"], env));
    let defs: serde_json::Value = serde_json::from_str(&out).expect("definitions JSON");
    defs["queues"].as_array().expect("queues").iter().filter_map(|q| q["name"].as_str().map(str::to_owned)).collect()
}

#[test]
fn the_overlay_file_and_then_environment_variables_override_the_defaults() {
    assert!(queue_names(&[]).contains(&"ariza.validation.retry.120000ms".to_owned()), "the defaults");

    let dir = std::env::temp_dir().join(format!("ariza-config-{}", unique()));
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(dir.join("staging.toml"), "[amqp]\nprefix = \"overlay\"\nretry_tiers_ms = [10]\n").expect("overlay");
    let dir_str = dir.to_str().expect("utf-8 path");
    let overlay = [("ARIZA_CONFIG_DIR", dir_str), ("ARIZA_ENV", "staging")];
    assert!(queue_names(&overlay).contains(&"overlay.persistence.retry.10ms".to_owned()), "the overlay file");

    let both = [("ARIZA_CONFIG_DIR", dir_str), ("ARIZA_ENV", "staging"), ("ARIZA__AMQP__RETRY_TIERS_MS", "7,8")];
    let names = queue_names(&both);
    assert!(names.contains(&"overlay.workflow.retry.7ms".to_owned()), "a list from the environment: {names:?}");
    assert!(names.contains(&"overlay.workflow.retry.8ms".to_owned()), "{names:?}");

    let env = [("ARIZA__AMQP__PREFIX", "fromenv"), ("ARIZA_CONFIG_DIR", dir_str), ("ARIZA_ENV", "staging")];
    assert!(queue_names(&env).contains(&"fromenv.notification".to_owned()), "the environment over the overlay");
    std::fs::remove_dir_all(dir).ok();

    let refused = run_ariza(&["topology", "definitions"], &[("ARIZA__AMQP__DELIVERY_LIMIT", "5")]);
    assert_eq!(refused.status.code(), Some(2), "a bad setting stops the program with exit code 2");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("amqp.delivery_limit"));
}
