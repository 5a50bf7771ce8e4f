//! Scripted (canned) answers used to simulate Bot API failures.

use serde_json::{Value, json};

/// A canned HTTP answer the fake returns instead of its default one.
///
/// Queue one-shot answers with [`FakeBotApi::push_response`](crate::FakeBotApi::push_response)
/// or make a chat fail persistently with
/// [`FakeBotApi::set_fail_chat`](crate::FakeBotApi::set_fail_chat).
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedResponse {
    /// HTTP status code of the answer.
    pub status: u16,
    /// JSON body of the answer.
    pub body: Value,
}

impl ScriptedResponse {
    /// An arbitrary answer.
    pub fn new(status: u16, body: Value) -> Self {
        Self { status, body }
    }

    /// A Bot API error: `{"ok":false,"error_code":status,"description":description}`.
    pub fn error(status: u16, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::new(
            status,
            json!({ "ok": false, "error_code": status, "description": description }),
        )
    }

    /// HTTP 429 with `parameters.retry_after` set, as Telegram sends on flood control.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(
            429,
            json!({
                "ok": false,
                "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after_secs}"),
                "parameters": { "retry_after": retry_after_secs },
            }),
        )
    }

    /// HTTP 500 `Internal Server Error`.
    pub fn server_error() -> Self {
        Self::error(500, "Internal Server Error")
    }

    /// HTTP 403 `Forbidden: bot was blocked by the user`.
    pub fn forbidden_blocked() -> Self {
        Self::error(403, "Forbidden: bot was blocked by the user")
    }

    /// HTTP 400. The description gets the `Bad Request: ` prefix Telegram uses
    /// unless it already starts with it, so `bad_request("chat not found")`
    /// yields `"Bad Request: chat not found"`.
    pub fn bad_request(description: impl Into<String>) -> Self {
        let description = description.into();
        if description.starts_with("Bad Request") {
            Self::error(400, description)
        } else {
            Self::error(400, format!("Bad Request: {description}"))
        }
    }

    /// Whether this is a success (2xx) answer.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_follow_bot_api_shape() {
        let r = ScriptedResponse::too_many_requests(3);
        assert_eq!(r.status, 429);
        assert_eq!(r.body["parameters"]["retry_after"], 3);
        assert_eq!(r.body["description"], "Too Many Requests: retry after 3");

        assert_eq!(ScriptedResponse::server_error().body["error_code"], 500);
        assert_eq!(ScriptedResponse::forbidden_blocked().status, 403);
        assert_eq!(
            ScriptedResponse::bad_request("chat not found").body["description"],
            "Bad Request: chat not found"
        );
        assert_eq!(
            ScriptedResponse::bad_request("Bad Request: x").body["description"],
            "Bad Request: x"
        );
        assert!(!ScriptedResponse::server_error().is_success());
    }
}
