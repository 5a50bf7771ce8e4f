//! Default answers of the fake for each Bot API method.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::params;
use crate::record::{Call, SentMessage};
use crate::script::ScriptedResponse;
use crate::state::{Shared, State};

/// Longest time a `getUpdates` long poll is held, whatever its `timeout`.
const MAX_POLL: Duration = Duration::from_secs(1);
/// Telegram's default and maximum `getUpdates` limit.
const MAX_UPDATES: usize = 100;

/// What the handler has to do for a call.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Reply right away.
    Reply(ScriptedResponse),
    /// `getUpdates`: return pending updates, waiting up to `wait` for one.
    PollUpdates { limit: usize, wait: Duration },
}

/// Records the call and decides its answer, under a single lock.
pub(crate) fn answer(shared: &Shared, method: String, params: Value, at: Instant) -> Answer {
    let mut state = shared.lock();
    let scripted = state
        .scripted
        .get_mut(&method)
        .and_then(VecDeque::pop_front);
    let (answer, scripted_status) = match scripted {
        Some(resp) => {
            let status = resp.status;
            (Answer::Reply(resp), Some(status))
        }
        None => default_answer(shared.bot_id, &mut state, &method, &params),
    };
    let status = match &answer {
        Answer::Reply(resp) => resp.status,
        Answer::PollUpdates { .. } => 200,
    };
    state.record(Call {
        method,
        body: params,
        at,
        token_ok: true,
        scripted_status,
        status,
    });
    answer
}

fn default_answer(
    bot_id: i64,
    state: &mut State,
    method: &str,
    params: &Value,
) -> (Answer, Option<u16>) {
    let reply = match method {
        "getme" => ok(bot_user(bot_id, true)),
        "sendmessage" => return send_message(bot_id, state, params),
        "editmessagetext" => edit_message(bot_id, state, params, true),
        "editmessagereplymarkup" => edit_message(bot_id, state, params, false),
        "getwebhookinfo" => ok(json!({
            "url": "",
            "has_custom_certificate": false,
            "pending_update_count": state.updates.len(),
        })),
        "getupdates" => {
            if let Some(offset) = params::int(params, "offset") {
                state.confirm_updates(offset);
            }
            let limit = params::int(params, "limit")
                .and_then(|l| usize::try_from(l).ok())
                .filter(|l| (1..=MAX_UPDATES).contains(l))
                .unwrap_or(MAX_UPDATES);
            let timeout = params::int(params, "timeout")
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(0);
            let wait = Duration::from_secs(timeout).min(MAX_POLL);
            return (Answer::PollUpdates { limit, wait }, None);
        }
        // answerCallbackQuery, deleteWebhook, setWebhook, setMyCommands and
        // everything else.
        _ => ok(Value::Bool(true)),
    };
    (Answer::Reply(reply), None)
}

fn send_message(bot_id: i64, state: &mut State, params: &Value) -> (Answer, Option<u16>) {
    let chat_id = match chat_id(params) {
        Ok(id) => id,
        Err(resp) => return (Answer::Reply(resp), None),
    };
    if let Some(resp) = state.fail_chats.get(&chat_id) {
        let status = resp.status;
        return (Answer::Reply(resp.clone()), Some(status));
    }
    let text = match params::string(params, "text") {
        Some(text) if !text.is_empty() => text,
        _ => {
            let resp = ScriptedResponse::bad_request("message text is empty");
            return (Answer::Reply(resp), None);
        }
    };
    let reply_markup = params::json(params, "reply_markup");
    let message_id = state.next_message_id();
    let body = message(
        bot_id,
        message_id,
        chat_id,
        &text,
        reply_markup.as_ref(),
        false,
    );
    state.texts.insert(message_id, text.clone());
    state.sent.push(SentMessage {
        chat_id,
        text,
        reply_markup,
        message_id,
    });
    (Answer::Reply(ok(body)), None)
}

/// `editMessageText` (`with_text`) and `editMessageReplyMarkup`.
fn edit_message(
    bot_id: i64,
    state: &mut State,
    params: &Value,
    with_text: bool,
) -> ScriptedResponse {
    if params.get("inline_message_id").is_some() {
        return ok(Value::Bool(true));
    }
    let chat_id = match chat_id(params) {
        Ok(id) => id,
        Err(resp) => return resp,
    };
    let Some(message_id) = params::int(params, "message_id") else {
        return ScriptedResponse::bad_request("message identifier is not specified");
    };
    let text = if with_text {
        match params::string(params, "text") {
            Some(text) if !text.is_empty() => {
                state.texts.insert(message_id, text.clone());
                text
            }
            _ => return ScriptedResponse::bad_request("message text is empty"),
        }
    } else {
        state.texts.get(&message_id).cloned().unwrap_or_default()
    };
    let markup = params::json(params, "reply_markup");
    ok(message(
        bot_id,
        message_id,
        chat_id,
        &text,
        markup.as_ref(),
        true,
    ))
}

fn chat_id(params: &Value) -> Result<i64, ScriptedResponse> {
    match params.get("chat_id") {
        None | Some(Value::Null) => Err(ScriptedResponse::bad_request("chat_id is empty")),
        // Usernames (`@channel`) are not known to the fake.
        Some(_) => params::int(params, "chat_id")
            .ok_or_else(|| ScriptedResponse::bad_request("chat not found")),
    }
}

fn ok(result: Value) -> ScriptedResponse {
    ScriptedResponse::new(200, json!({ "ok": true, "result": result }))
}

/// The bot's own user object; `getMe` adds the bot capability flags.
fn bot_user(bot_id: i64, me: bool) -> Value {
    let mut user = json!({
        "id": bot_id,
        "is_bot": true,
        "first_name": "Ariza Fake Bot",
        "username": "ariza_fake_bot",
    });
    if me {
        user["can_join_groups"] = Value::Bool(true);
        user["can_read_all_group_messages"] = Value::Bool(false);
        user["supports_inline_queries"] = Value::Bool(false);
        user["can_connect_to_business"] = Value::Bool(false);
        user["has_main_web_app"] = Value::Bool(false);
    }
    user
}

fn message(
    bot_id: i64,
    message_id: i64,
    chat_id: i64,
    text: &str,
    reply_markup: Option<&Value>,
    edited: bool,
) -> Value {
    let now = unix_now();
    let mut msg = json!({
        "message_id": message_id,
        "from": bot_user(bot_id, false),
        "date": now,
        "chat": { "id": chat_id, "type": "private" },
        "text": text,
    });
    // Telegram only echoes inline keyboards in the message object.
    if let Some(markup) = reply_markup.filter(|m| m.get("inline_keyboard").is_some()) {
        msg["reply_markup"] = markup.clone();
    }
    if edited {
        msg["edit_date"] = now.into();
    }
    msg
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
