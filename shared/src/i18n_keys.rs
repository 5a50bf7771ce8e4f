//! Message keys used by name outside this crate's tables, in one place so the locale tests can
//! check that each exists in both languages.

/// The notification stage's and the command line's own texts.
pub const PIPELINE_KEYS: &[&str] = &[
    "app-created-rejected",
    "dead-letters-count",
    "staff-created-for-client",
    "client-created-self",
    "no-comment",
    "alert-staff-burst",
    "alert-client-phone-burst",
];
