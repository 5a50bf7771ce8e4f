//! The AMQP envelope: header names every stage reads and writes, and the reasons a message can be
//! dead-lettered with. The body is the JSON of the stage's input; the correlation id travels in the
//! `correlation_id` property and the application id in a header, so a message can be followed and
//! replayed even when its body is not JSON.

/// The schema version of the body.
pub const SCHEMA: &str = "x-ariza-schema";
/// Which attempt this delivery is, from 1. Retries through the delay tiers add one.
pub const ATTEMPT: &str = "x-ariza-attempt";
/// The application the message is about.
pub const APPLICATION_ID: &str = "x-ariza-application-id";
/// On a dead letter: the stage it died in.
pub const STAGE: &str = "x-ariza-stage";
/// On a dead letter: why, one of [`DeadReason`].
pub const REASON: &str = "x-ariza-reason";
/// On a retried or dead message: the last error, cut to [`MAX_ERROR_LEN`].
pub const LAST_ERROR: &str = "x-ariza-error";
/// On a retried or dead message: when it first failed, in Unix milliseconds.
pub const FIRST_FAILED_AT: &str = "x-ariza-first-failed-at";
/// On a dead letter: a unique id, so archiving it twice stores it once.
pub const DEAD_LETTER_ID: &str = "x-ariza-dead-letter-id";
/// On a replayed message: the `dead_letters.id` it was replayed from.
pub const REPLAY_OF: &str = "x-ariza-replay-of";
/// When the creation request was submitted, in Unix milliseconds: set on the first publish and
/// carried onward by every stage, for the end-to-end latency metric.
pub const SUBMITTED_AT: &str = "x-ariza-submitted-at";

/// Errors kept in headers are cut to this many characters.
pub const MAX_ERROR_LEN: usize = 1000;

/// Why a message went to the dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadReason {
    /// The body is not JSON, or not the JSON a stage takes.
    Malformed,
    /// The body is of a schema version this build does not know.
    UnknownSchema,
    /// The stage found an error that no retry can fix.
    Permanent,
    /// A transient failure that lasted through every retry.
    RetriesExhausted,
    /// The broker gave up on it: delivered more than `x-delivery-limit` times (a crash loop).
    DeliveryLimit,
    /// The broker dead-lettered it for another reason (`x-death` says which).
    Broker,
}

impl DeadReason {
    pub const ALL: &'static [DeadReason] = &[
        DeadReason::Malformed,
        DeadReason::UnknownSchema,
        DeadReason::Permanent,
        DeadReason::RetriesExhausted,
        DeadReason::DeliveryLimit,
        DeadReason::Broker,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DeadReason::Malformed => "malformed",
            DeadReason::UnknownSchema => "unknown_schema",
            DeadReason::Permanent => "permanent_error",
            DeadReason::RetriesExhausted => "retries_exhausted",
            DeadReason::DeliveryLimit => "delivery_limit",
            DeadReason::Broker => "broker",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

/// Cuts an error text to [`MAX_ERROR_LEN`] characters, on a character boundary.
pub fn cut_error(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_LEN) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}
