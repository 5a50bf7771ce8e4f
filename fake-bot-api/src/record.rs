//! Records of the calls the fake received.

use std::time::Instant;

use serde_json::Value;

/// One request received by the fake, successful or not.
#[derive(Debug, Clone)]
pub struct Call {
    /// Method name normalised to lower case, e.g. `"sendmessage"`.
    pub method: String,
    /// Request parameters as a JSON object (query string merged with the
    /// JSON or form-urlencoded body; form values stay strings).
    pub body: Value,
    /// When the request arrived.
    pub at: Instant,
    /// Whether the token in the URL matched the fake's token.
    pub token_ok: bool,
    /// Status of the scripted answer (from `push_response` or
    /// `set_fail_chat`) if one was used instead of the default answer.
    pub scripted_status: Option<u16>,
    /// HTTP status the fake answered with.
    pub status: u16,
}

impl Call {
    /// Whether the call was answered with a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A `sendMessage` call that the fake answered successfully.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// Target chat.
    pub chat_id: i64,
    /// Message text as sent.
    pub text: String,
    /// `reply_markup` parameter, decoded from JSON if it was sent as a string.
    pub reply_markup: Option<Value>,
    /// Message id the fake assigned (increasing, starting at 1).
    pub message_id: i64,
}
