//! `ariza fake-bot-api`: a local stand-in for the Telegram Bot API on 127.0.0.1, for trying ariza
//! on a machine that cannot reach Telegram (point `ARIZA__TELEGRAM__API_BASE_URL` at it). It
//! prints every message sent through it. With `--chat-as ID` it is also a small Telegram client:
//! each line typed is a message from user ID to the bot, `!N` presses button N of the latest
//! screen, `!contact PHONE` shares the user's own contact, and `@ID` switches to another user, so
//! every flow of `ariza bot`, and an application's whole life from a staff member's creation to
//! the client's rating, can be walked from one terminal.

use ariza_fake_bot_api::FakeBotApi;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port on 127.0.0.1.
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// The bot token it accepts (the same as ARIZA__TELEGRAM__TOKEN).
    #[arg(long, env = "ARIZA__TELEGRAM__TOKEN", hide_env_values = true)]
    pub token: String,
    /// Talk to the bot as this Telegram user: typed lines are their messages, `!N` presses
    /// button N of their latest screen, `!contact PHONE` shares their own contact, `@ID` switches
    /// to another user.
    #[arg(long, value_name = "TELEGRAM_ID")]
    pub chat_as: Option<i64>,
}

/// Buttons of a `reply_markup`, numbered in reading order: (label, callback data).
fn buttons(markup: Option<&Value>) -> (Vec<(String, String)>, Vec<String>) {
    let markup = match markup {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let flat = |key: &str| -> Vec<Value> {
        markup[key].as_array().map(|rows| rows.iter().flat_map(|r| r.as_array().cloned().unwrap_or_default()).collect()).unwrap_or_default()
    };
    let inline = flat("inline_keyboard")
        .iter()
        .map(|b| (b["text"].as_str().unwrap_or_default().to_owned(), b["callback_data"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let keyboard = flat("keyboard").iter().filter_map(|b| b["text"].as_str().map(str::to_owned)).collect();
    (inline, keyboard)
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let fake = FakeBotApi::start_on(&args.token, args.port)?;
    println!("fake Telegram Bot API listening on {}", fake.base_url());
    if let Some(uid) = args.chat_as {
        println!(
            "you are Telegram user {uid}: type a message (try /start), !N to press button N, \
             !contact PHONE to share your contact, @ID to become user ID"
        );
    }
    // Standard input on its own thread: a blocking read must not hold up the server.
    let (tx, mut lines) = tokio::sync::mpsc::channel::<String>(16);
    if args.chat_as.is_some() {
        std::thread::spawn(move || {
            for line in std::io::stdin().lines().map_while(Result::ok) {
                if tx.blocking_send(line).is_err() {
                    return;
                }
            }
        });
    }
    // Per chat: the buttons of its latest screen that has any, and that screen's message id.
    let mut latest: HashMap<i64, (Vec<(String, String)>, i64)> = HashMap::new();
    let (mut seen, mut next_id) = (0, 1_i64);
    let mut acting = args.chat_as;
    let mut stdin_open = args.chat_as.is_some();
    loop {
        for call in fake.calls().iter().skip(seen) {
            let chat = call.body["chat_id"].as_i64().or_else(|| call.body["chat_id"].as_str().and_then(|s| s.parse().ok()));
            match call.method.as_str() {
                "sendmessage" | "editmessagetext" if call.status == 200 => {
                    let (inline, keyboard) = buttons(call.body.get("reply_markup"));
                    let verb = if call.method == "sendmessage" { "-->" } else { "~~>" };
                    let chat = chat.unwrap_or_default();
                    println!("{verb} chat {chat}: {}", call.body["text"].as_str().unwrap_or_default());
                    if args.chat_as.is_some() {
                        for (i, (label, _)) in inline.iter().enumerate() {
                            println!("    !{} [{label}]", i + 1);
                        }
                        if !keyboard.is_empty() {
                            println!("    keyboard: {}", keyboard.join(" | "));
                        }
                        if !inline.is_empty() {
                            // A sent message's id is known once the fake stored it (below).
                            let id = call.body["message_id"].as_i64().unwrap_or(0);
                            latest.insert(chat, (inline, id));
                        }
                    }
                }
                "answercallbackquery" => {
                    if let Some(text) = call.body["text"].as_str() {
                        println!("    ({text})");
                    }
                }
                _ => {}
            }
        }
        seen = fake.calls().len();
        for (chat, (_, id)) in &mut latest {
            if let Some(sent) = fake.sent_messages().iter().rev().find(|m| m.chat_id == *chat) {
                *id = (*id).max(sent.message_id);
            }
        }
        tokio::select! {
            () = super::shutdown_signal() => return Ok(ExitCode::SUCCESS),
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            line = lines.recv(), if stdin_open => {
                let Some(uid) = acting else { continue };
                let Some(line) = line else { stdin_open = false; continue };
                let line = line.trim();
                if let Some(other) = line.strip_prefix('@') {
                    match other.parse::<i64>() {
                        Ok(other) => {
                            acting = Some(other);
                            println!("    you are now Telegram user {other}");
                        }
                        Err(_) => println!("    @ID takes a numeric Telegram id"),
                    }
                    continue;
                }
                let user = json!({ "id": uid, "is_bot": false, "first_name": "You" });
                let chat = json!({ "id": uid, "type": "private", "first_name": "You" });
                next_id += 1;
                let date = chrono::Utc::now().timestamp();
                if let Some(phone) = line.strip_prefix("!contact") {
                    fake.push_update(json!({ "message": { "message_id": next_id, "date": date, "chat": chat, "from": user,
                        "contact": { "phone_number": phone.trim(), "first_name": "You", "user_id": uid } } }));
                    continue;
                }
                let pressed = line.strip_prefix('!').and_then(|n| n.parse::<usize>().ok());
                match pressed {
                    Some(n) => match latest.get(&uid).and_then(|(buttons, id)| buttons.get(n.wrapping_sub(1)).map(|b| (b, id))) {
                        Some(((_, data), message_id)) => {
                            fake.push_update(json!({ "callback_query": { "id": format!("cli{next_id}"), "from": user,
                                "chat_instance": "cli", "data": data,
                                "message": { "message_id": message_id, "date": 0, "chat": chat, "text": "" } } }));
                        }
                        None => println!("    no button {n} on your latest screen"),
                    },
                    None => {
                        fake.push_update(json!({ "message": { "message_id": next_id, "date": date,
                            "chat": chat, "from": user, "text": line } }));
                    }
                }
            }
        }
    }
}
