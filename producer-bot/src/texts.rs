//! The bot's texts, from `locales/` through [`ariza_shared::i18n`]: short helpers so screens read
//! like the messages they build.

use ariza_shared::domain::{ApplicationKind, Locale, Role};
use ariza_shared::errors::MessageArgs;
use ariza_shared::i18n;

/// The text of `key` without arguments.
pub fn t(locale: Locale, key: &str) -> String {
    i18n::plain(locale, key)
}

/// The text of `key` with `(name, value)` arguments.
pub fn ta(locale: Locale, key: &str, args: &[(&str, serde_json::Value)]) -> String {
    let args: MessageArgs = args.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    i18n::render(locale, key, &args)
}

/// A role's name.
pub fn role(locale: Locale, role: Role) -> String {
    t(locale, &format!("role-{}", role.as_str().replace('_', "-")))
}

/// A kind's name.
pub fn kind(locale: Locale, kind: ApplicationKind) -> String {
    t(locale, &format!("kind-{}", kind.as_str()))
}

/// The menu button that starts a kind's flow.
pub fn new_kind_button(locale: Locale, kind: ApplicationKind) -> String {
    match kind {
        ApplicationKind::Connection => t(locale, "bot-btn-new-connection"),
        ApplicationKind::Technical => t(locale, "bot-btn-new-technical"),
    }
}

/// Every key the bot uses, for the locale completeness test.
pub const BOT_KEYS: &[&str] = &[
    "bot-unknown-user",
    "bot-menu",
    "bot-btn-new-connection",
    "bot-btn-new-technical",
    "bot-search-how",
    "bot-btn-by-phone",
    "bot-btn-by-name",
    "bot-btn-by-id",
    "bot-btn-new-client",
    "bot-btn-cancel",
    "bot-btn-back",
    "bot-ask-search-phone",
    "bot-ask-search-name",
    "bot-ask-search-id",
    "bot-search-empty",
    "bot-search-results",
    "bot-btn-prev",
    "bot-btn-next",
    "bot-id-invalid",
    "bot-search-too-short",
    "bot-ask-client-name",
    "bot-ask-client-phone",
    "bot-ask-client-address",
    "bot-phone-exists",
    "bot-btn-use-existing",
    "bot-btn-other-phone",
    "bot-client-card",
    "bot-client-new",
    "bot-confirm-client",
    "bot-btn-client-ok",
    "bot-btn-edit-name",
    "bot-btn-edit-phone",
    "bot-btn-edit-address",
    "bot-choose-kind",
    "bot-ask-address",
    "bot-btn-client-address",
    "bot-ask-tariff",
    "bot-ask-tariff-text",
    "bot-ask-problem",
    "bot-ask-comment",
    "bot-btn-skip",
    "bot-preview",
    "bot-preview-tariff",
    "bot-preview-problem",
    "bot-preview-comment",
    "bot-btn-confirm",
    "bot-btn-edit-form-address",
    "bot-btn-edit-form-tariff",
    "bot-btn-edit-form-problem",
    "bot-btn-edit-form-comment",
    "bot-btn-edit-client",
    "bot-sent",
    "bot-publish-failed",
    "bot-btn-retry",
    "bot-cancelled",
    "bot-stale-button",
    "bot-expected-text",
    "bot-use-buttons",
    "bot-state-reset",
    "bot-language-switched",
    "bot-staff-added",
    "bot-addstaff-usage",
    "bot-admin-only",
];
