//! `ariza fake-bot-api`: a local stand-in for the Telegram Bot API on 127.0.0.1, for trying ariza
//! on a machine that cannot reach Telegram (point `ARIZA__TELEGRAM__API_BASE_URL` at it). It
//! prints every message sent through it. With `--chat-as ID` it is also a small Telegram client:
//! each line typed is a message from user ID to the bot, `!N` presses button N of the latest
//! screen, so every flow of `ariza bot` can be walked from a terminal.

use ariza_fake_bot_api::FakeBotApi;
use serde_json::{Value, json};
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
    /// button N of the latest screen.
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
        println!("you are Telegram user {uid}: type a message (try /start), or !N to press button N");
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
    let (mut seen, mut latest, mut last_message_id, mut next_id) = (0, Vec::new(), 0_i64, 1_i64);
    let mut stdin_open = args.chat_as.is_some();
    loop {
        for call in fake.calls().iter().skip(seen) {
            let chat = call.body["chat_id"].as_i64().or_else(|| call.body["chat_id"].as_str().and_then(|s| s.parse().ok()));
            match call.method.as_str() {
                "sendmessage" | "editmessagetext" if call.status == 200 => {
                    let (inline, keyboard) = buttons(call.body.get("reply_markup"));
                    let verb = if call.method == "sendmessage" { "-->" } else { "~~>" };
                    println!("{verb} chat {}: {}", chat.unwrap_or_default(), call.body["text"].as_str().unwrap_or_default());
                    if chat == args.chat_as {
                        for (i, (label, _)) in inline.iter().enumerate() {
                            println!("    !{} [{label}]", i + 1);
                        }
                        if !keyboard.is_empty() {
                            println!("    keyboard: {}", keyboard.join(" | "));
                        }
                        if !inline.is_empty() {
                            latest = inline;
                            last_message_id = call.body["message_id"].as_i64().unwrap_or(last_message_id);
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
        if let Some(sent) = fake.sent_messages().iter().rev().find(|m| Some(m.chat_id) == args.chat_as) {
            last_message_id = last_message_id.max(sent.message_id);
        }
        tokio::select! {
            () = super::shutdown_signal() => return Ok(ExitCode::SUCCESS),
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            line = lines.recv(), if stdin_open => {
                let Some(uid) = args.chat_as else { continue };
                let Some(line) = line else { stdin_open = false; continue };
                let user = json!({ "id": uid, "is_bot": false, "first_name": "You" });
                let chat = json!({ "id": uid, "type": "private", "first_name": "You" });
                next_id += 1;
                let pressed = line.trim().strip_prefix('!').and_then(|n| n.parse::<usize>().ok());
                match pressed {
                    Some(n) => match latest.get(n.wrapping_sub(1)) {
                        Some((_, data)) => {
                            fake.push_update(json!({ "callback_query": { "id": format!("cli{next_id}"), "from": user,
                                "chat_instance": "cli", "data": data,
                                "message": { "message_id": last_message_id, "date": 0, "chat": chat, "text": "" } } }));
                        }
                        None => println!("    no button {n} on the latest screen"),
                    },
                    None => {
                        fake.push_update(json!({ "message": { "message_id": next_id, "date": chrono::Utc::now().timestamp(),
                            "chat": chat, "from": user, "text": line } }));
                    }
                }
            }
        }
    }
}
