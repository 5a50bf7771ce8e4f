//! Translated texts. Every string a person reads lives in `locales/uz/*.ftl` and
//! `locales/ru/*.ftl` (Fluent), compiled into the binary. A test fails when a key is missing in
//! either language, or when code uses a key neither has.

use crate::domain::Locale;
use crate::errors::MessageArgs;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid, static_loader};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

static_loader! {
    static LOCALES = {
        locales: "../locales",
        fallback_language: "ru",
        // Telegram shows Unicode isolation marks as stray characters.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

fn langid(locale: Locale) -> LanguageIdentifier {
    match locale {
        Locale::Uz => langid!("uz"),
        Locale::Ru => langid!("ru"),
    }
}

fn fluent_value(value: &serde_json::Value) -> FluentValue<'_> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(FluentValue::from)
            .or_else(|| n.as_f64().map(FluentValue::from))
            .unwrap_or_else(|| FluentValue::from(n.to_string())),
        serde_json::Value::String(s) => FluentValue::from(s.as_str()),
        serde_json::Value::Bool(b) => FluentValue::from(if *b { "yes" } else { "no" }),
        serde_json::Value::Null => FluentValue::from(""),
        other => FluentValue::from(other.to_string()),
    }
}

/// Fluent's arguments, borrowing the values.
type FluentArgs<'a> = HashMap<Cow<'static, str>, FluentValue<'a>>;

fn fluent_args(args: &MessageArgs) -> FluentArgs<'_> {
    args.iter().map(|(k, v)| (Cow::Owned(k.clone()), fluent_value(v))).collect()
}

/// The Fluent sources of each language, as compiled in. Every `.ftl` file under `locales/<lang>/`
/// must be listed here (the locale tests check it).
const SOURCES: &[(Locale, &str, &str)] = &[
    (Locale::Uz, "main.ftl", include_str!("../../locales/uz/main.ftl")),
    (Locale::Uz, "bot.ftl", include_str!("../../locales/uz/bot.ftl")),
    (Locale::Uz, "console.ftl", include_str!("../../locales/uz/console.ftl")),
    (Locale::Ru, "main.ftl", include_str!("../../locales/ru/main.ftl")),
    (Locale::Ru, "bot.ftl", include_str!("../../locales/ru/bot.ftl")),
    (Locale::Ru, "console.ftl", include_str!("../../locales/ru/console.ftl")),
];

/// The message ids a language defines itself (no fallback), for tests that check their keys.
pub fn defined_keys(locale: Locale) -> std::collections::BTreeSet<String> {
    let mut keys = std::collections::BTreeSet::new();
    for (_, _, source) in SOURCES.iter().filter(|(l, _, _)| *l == locale) {
        for line in source.lines() {
            if let Some((id, _)) = line.split_once('=') {
                let id = id.trim_end();
                if !line.starts_with([' ', '#', '.', '-', '*', '[']) && !id.is_empty() && !id.contains(' ') {
                    keys.insert(id.to_owned());
                }
            }
        }
    }
    keys
}

/// The text of `key` in `locale`, with `args`. A missing key gives `None`.
pub fn try_text(locale: Locale, key: &str, args: &MessageArgs) -> Option<String> {
    LOCALES.try_lookup_complete(&langid(locale), key, Some(&fluent_args(args)))
}

/// The text of `key` in `locale`, with `args`. A missing key shows the key itself, so nothing
/// is silently dropped; the locale tests keep that from happening.
pub fn text(locale: Locale, key: &str, args: &MessageArgs) -> String {
    text_with(locale, key, &fluent_args(args))
}

/// [`text`] with Fluent's arguments already built.
fn text_with(locale: Locale, key: &str, args: &FluentArgs<'_>) -> String {
    LOCALES.try_lookup_complete(&langid(locale), key, Some(args)).unwrap_or_else(|| key.to_owned())
}

/// Renders a notification: like [`text`], but an argument that is itself `{"key": ..., "args":
/// {...}}` is first rendered in the same language, so a reason or a role name arrives translated.
pub fn render(locale: Locale, key: &str, args: &MessageArgs) -> String {
    render_with(locale, key, args.iter())
}

fn render_with<'a>(locale: Locale, key: &str, args: impl Iterator<Item = (&'a String, &'a serde_json::Value)>) -> String {
    let resolved: FluentArgs<'a> = args
        .map(|(name, value)| {
            let value = match value.get("key").and_then(serde_json::Value::as_str) {
                Some(nested) => match value.get("args").and_then(serde_json::Value::as_object) {
                    Some(nested_args) if !nested_args.is_empty() => {
                        FluentValue::from(render_with(locale, nested, nested_args.iter()))
                    }
                    _ => FluentValue::from(plain_text(locale, nested)),
                },
                None => fluent_value(value),
            };
            (Cow::Owned(name.clone()), value)
        })
        .collect();
    text_with(locale, key, &resolved)
}

/// Every key's text without arguments, in each language, rendered on first use: the role, state
/// and action names that notifications nest in their arguments, and the buttons, are asked for
/// thousands of times a second under load, and never change.
static PLAIN: LazyLock<HashMap<Locale, HashMap<String, String>>> = LazyLock::new(|| {
    let mut keys = std::collections::BTreeSet::new();
    for locale in Locale::ALL {
        keys.append(&mut defined_keys(*locale));
    }
    Locale::ALL
        .iter()
        .map(|locale| {
            let texts = keys.iter().map(|key| (key.clone(), text_with(*locale, key, &FluentArgs::new()))).collect();
            (*locale, texts)
        })
        .collect()
});

/// The text of `key` without arguments: from [`PLAIN`], or rendered now for a key it does not
/// hold (an attribute, or a key no language defines), exactly as [`text`] would.
fn plain_text(locale: Locale, key: &str) -> Cow<'static, str> {
    match PLAIN.get(&locale).and_then(|texts| texts.get(key)) {
        Some(text) => Cow::Borrowed(text.as_str()),
        None => Cow::Owned(text_with(locale, key, &FluentArgs::new())),
    }
}

/// A nested message argument for [`render`].
pub fn nested(key: &str, args: &MessageArgs) -> serde_json::Value {
    serde_json::json!({ "key": key, "args": args })
}

/// The text of a key without arguments.
pub fn plain(locale: Locale, key: &str) -> String {
    plain_text(locale, key).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ApplicationKind, Role};
    use crate::workflow::WORKFLOW;
    use std::collections::BTreeSet;
    use std::path::Path;

    fn keys_of(lang: &str) -> BTreeSet<String> {
        defined_keys(lang.parse().expect("a locale"))
    }

    #[test]
    fn every_ftl_file_is_compiled_in() {
        for lang in ["uz", "ru"] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../locales").join(lang);
            for entry in std::fs::read_dir(&dir).expect("locales dir") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "ftl") {
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                    assert!(
                        SOURCES.iter().any(|(l, file, _)| l.as_str() == lang && *file == name),
                        "locales/{lang}/{name} is not listed in i18n::SOURCES"
                    );
                }
            }
        }
    }

    /// Every key the code of this crate can ask for.
    fn used_keys() -> Vec<String> {
        let mut keys = crate::errors::all_error_keys();
        for t in WORKFLOW {
            for party in t.notify {
                keys.push(t.template_key(*party));
            }
        }
        for role in Role::ALL {
            keys.push(format!("role-{}", role.as_str().replace('_', "-")));
        }
        for kind in ApplicationKind::ALL {
            keys.push(format!("kind-{}", kind.as_str()));
        }
        for state in crate::workflow::State::ALL {
            keys.push(format!("state-{}", state.as_str().replace('_', "-")));
        }
        keys.extend(crate::i18n_keys::PIPELINE_KEYS.iter().map(|k| (*k).to_owned()));
        keys
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let uz = keys_of("uz");
        let ru = keys_of("ru");
        assert!(!uz.is_empty());
        let only_uz: Vec<_> = uz.difference(&ru).collect();
        let only_ru: Vec<_> = ru.difference(&uz).collect();
        assert!(only_uz.is_empty() && only_ru.is_empty(), "only in uz: {only_uz:?}; only in ru: {only_ru:?}");
    }

    #[test]
    fn every_key_the_code_uses_exists_in_both_languages() {
        let uz = keys_of("uz");
        let ru = keys_of("ru");
        let missing: Vec<_> = used_keys().into_iter().filter(|k| !uz.contains(k) || !ru.contains(k)).collect();
        assert!(missing.is_empty(), "keys used but not translated: {missing:?}");
    }

    #[test]
    fn texts_render_with_arguments_and_without_isolation_marks() {
        let mut args = MessageArgs::new();
        args.insert("max".into(), serde_json::json!(300));
        let ru = text(Locale::Ru, "error-address-too-long", &args);
        let uz = text(Locale::Uz, "error-address-too-long", &args);
        assert!(ru.contains("300") && uz.contains("300"), "{ru} / {uz}");
        assert_ne!(ru, uz);
        assert!(!ru.contains('\u{2068}') && !ru.contains('\u{2069}'));
    }

    #[test]
    fn nested_arguments_are_rendered_in_the_same_language() {
        let mut inner = MessageArgs::new();
        inner.insert("max".into(), serde_json::json!(120));
        let mut args = MessageArgs::new();
        args.insert("reason".into(), nested("error-name-too-long", &inner));
        let uz = render(Locale::Uz, "app-created-rejected", &args);
        assert!(uz.contains("Ism-familiya juda uzun") && uz.contains("120"), "{uz}");
        let ru = render(Locale::Ru, "app-created-rejected", &args);
        assert!(ru.contains("Имя слишком длинное"), "{ru}");
    }

    #[test]
    fn the_texts_kept_without_arguments_are_those_rendered_now() {
        for locale in Locale::ALL {
            let keys = keys_of(locale.as_str());
            assert!(keys.contains("role-manager"), "{locale}: {keys:?}");
            for key in keys {
                assert_eq!(plain(*locale, &key), text(*locale, &key, &MessageArgs::new()), "{locale} {key}");
            }
            // Neither language defines it: rendered now, and shown as the key, as `text` does.
            assert_eq!(plain(*locale, "no-such-key"), "no-such-key");
        }
    }

    #[test]
    fn nested_arguments_without_arguments_of_their_own_are_rendered_in_the_same_language() {
        // One nested argument with empty arguments, one with none at all.
        let mut args = MessageArgs::new();
        args.insert("name".into(), nested("error-name-too-long", &MessageArgs::new()));
        args.insert("role".into(), serde_json::json!({ "key": "role-manager" }));
        for locale in Locale::ALL {
            let mut plain_args = MessageArgs::new();
            plain_args.insert("name".into(), serde_json::json!(plain(*locale, "error-name-too-long")));
            plain_args.insert("role".into(), serde_json::json!(plain(*locale, "role-manager")));
            let rendered = render(*locale, "bot-app-by-staff", &args);
            assert_eq!(rendered, text(*locale, "bot-app-by-staff", &plain_args));
            assert!(rendered.contains(&plain(*locale, "role-manager")), "{rendered}");
        }
        assert_ne!(plain(Locale::Uz, "role-manager"), plain(Locale::Ru, "role-manager"));
    }

    #[test]
    fn russian_plurals_follow_cldr() {
        let n = |v: i64| {
            let mut args = MessageArgs::new();
            args.insert("count".into(), serde_json::json!(v));
            text(Locale::Ru, "dead-letters-count", &args)
        };
        assert_ne!(n(1), n(2));
        assert_ne!(n(2), n(5));
        assert_eq!(n(21).split(' ').nth(1), n(1).split(' ').nth(1));
    }
}
