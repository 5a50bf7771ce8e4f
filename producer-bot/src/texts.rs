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

/// An entry of a menu's reply keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuEntry {
    New(ApplicationKind),
    /// Applications waiting for the role (managers, controllers, administrators).
    Waiting,
    /// A technician's assigned work.
    MyWork,
    /// Open an application by its number.
    FindApp,
    /// A client's own applications.
    Mine,
}

impl MenuEntry {
    /// The label's message key; clients' creation buttons have their own wording.
    pub fn key(self, for_client: bool) -> &'static str {
        match (self, for_client) {
            (MenuEntry::New(ApplicationKind::Connection), false) => "bot-btn-new-connection",
            (MenuEntry::New(ApplicationKind::Technical), false) => "bot-btn-new-technical",
            (MenuEntry::New(ApplicationKind::Connection), true) => "bot-client-btn-new-connection",
            (MenuEntry::New(ApplicationKind::Technical), true) => "bot-client-btn-new-technical",
            (MenuEntry::Waiting, _) => "bot-btn-waiting",
            (MenuEntry::MyWork, _) => "bot-btn-my-work",
            (MenuEntry::FindApp, _) => "bot-btn-find-app",
            (MenuEntry::Mine, _) => "bot-client-btn-my-applications",
        }
    }

    const ALL: [MenuEntry; 6] = [
        MenuEntry::New(ApplicationKind::Connection),
        MenuEntry::New(ApplicationKind::Technical),
        MenuEntry::Waiting,
        MenuEntry::MyWork,
        MenuEntry::FindApp,
        MenuEntry::Mine,
    ];
}

/// The menu entry whose label (in either language, staff's or clients' wording) is `text`.
pub fn menu_entry(text: &str) -> Option<MenuEntry> {
    MenuEntry::ALL.into_iter().find(|entry| {
        [Locale::Uz, Locale::Ru].into_iter().any(|l| [false, true].into_iter().any(|c| t(l, entry.key(c)) == text))
    })
}

/// A state's name.
pub fn state(locale: Locale, state: ariza_shared::workflow::State) -> String {
    t(locale, &format!("state-{}", state.as_str().replace('_', "-")))
}

/// The label of an action's button.
pub fn action(locale: Locale, transition: ariza_shared::workflow::TransitionName) -> String {
    t(locale, &format!("bot-act-{}", transition.as_str().replace('_', "-")))
}

/// Every key the bot uses, for the locale completeness test.
pub const BOT_KEYS: &[&str] = &[
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
    "bot-error-try-again",
    "bot-client-btn-new-connection",
    "bot-client-btn-new-technical",
    "bot-client-btn-my-applications",
    "bot-client-menu",
    "bot-btn-waiting",
    "bot-btn-my-work",
    "bot-btn-find-app",
    "bot-act-assign",
    "bot-act-start",
    "bot-act-wait-equipment",
    "bot-act-resume",
    "bot-act-complete",
    "bot-act-cancel",
    "bot-act-withdraw",
    "bot-act-rate",
    "bot-apps-waiting",
    "bot-apps-my-work",
    "bot-apps-mine",
    "bot-apps-empty",
    "bot-app-line",
    "bot-app-by-staff",
    "bot-app-by-client",
    "bot-app-card",
    "bot-app-tariff",
    "bot-app-problem",
    "bot-app-comment",
    "bot-app-assignee",
    "bot-app-report",
    "bot-app-cancel-reason",
    "bot-app-rating",
    "bot-btn-refresh",
    "bot-btn-stars",
    "bot-ask-app-number",
    "bot-app-number-invalid",
    "bot-app-not-found",
    "bot-app-changed",
    "bot-pick-technician",
    "bot-technician-load",
    "bot-no-technicians",
    "bot-ask-reason",
    "bot-ask-report",
    "bot-ask-withdraw-reason",
    "bot-ask-rating-comment",
    "bot-action-sent",
    "bot-action-failed",
    "bot-not-for-role",
    "bot-register-welcome",
    "bot-register-ask-name",
    "bot-register-ask-phone",
    "bot-btn-share-contact",
    "bot-register-use-contact",
    "bot-register-not-own-contact",
    "bot-register-phone-linked",
    "bot-register-ask-address",
    "bot-register-confirm",
    "bot-register-found",
    "bot-btn-register",
    "bot-btn-its-me",
    "bot-register-sent",
    "bot-register-pending",
    "bot-register-failed",
];

#[cfg(test)]
mod tests {
    use super::*;
    use ariza_shared::i18n::defined_keys;

    #[test]
    fn every_key_the_bot_uses_exists_in_both_languages() {
        let uz = defined_keys(Locale::Uz);
        let ru = defined_keys(Locale::Ru);
        let missing: Vec<_> = BOT_KEYS.iter().filter(|k| !uz.contains(**k) || !ru.contains(**k)).collect();
        assert!(missing.is_empty(), "bot keys missing in a language: {missing:?}");
    }

    #[test]
    fn every_key_literal_in_the_bots_code_is_translated() {
        let uz = defined_keys(Locale::Uz);
        let ru = defined_keys(Locale::Ru);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            let source = std::fs::read_to_string(&path).expect("source");
            for (i, _) in source.match_indices("\"bot-") {
                let key: String = source[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                // Keys built with format! end in '-' here; BOT_KEYS lists their expansions.
                if !key.ends_with('-') && (!uz.contains(&key) || !ru.contains(&key)) {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "keys used in code but not translated in both languages: {missing:?}");
    }
}
