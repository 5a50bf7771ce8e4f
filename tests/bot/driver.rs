//! Plays staff members against the bot: sends messages and presses buttons through the fake Bot
//! API, and reads back what the bot showed. Also a TCP proxy in front of the broker that a test can
//! cut, so "the broker is unreachable" never touches the shared broker.

#![allow(dead_code)]

use crate::support::{PATIENCE, TestEnv};
use ariza_bot::{BotApp, run_bot};
use ariza_fake_bot_api::FakeBotApi;
use ariza_shared::config::Settings;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What the bot showed in one message (sent or edited).
#[derive(Debug, Clone, Default)]
pub struct Screen {
    pub text: String,
    /// Inline buttons: (label, callback_data).
    pub buttons: Vec<Vec<(String, String)>>,
    /// The reply keyboard's labels (the main menu).
    pub keyboard: Vec<String>,
    pub message_id: i64,
    /// An edit of an earlier message (a button's screen changing in place).
    pub edited: bool,
}

impl Screen {
    /// Part of the dialogue (as opposed to a pipeline notification, which has no buttons or only
    /// global ones: "Open", the rating).
    pub fn is_dialogue(&self) -> bool {
        let global_only = !self.buttons.is_empty()
            && self.buttons.iter().flatten().all(|(_, data)| ariza_shared::domain::GlobalAction::parse(data).is_some());
        self.edited || (!self.buttons.is_empty() && !global_only) || !self.keyboard.is_empty()
    }

    pub fn labels(&self) -> Vec<String> {
        self.buttons.iter().flatten().map(|(l, _)| l.clone()).collect()
    }

    pub fn button(&self, label: &str) -> Option<&(String, String)> {
        self.buttons.iter().flatten().find(|(l, _)| l == label).or_else(|| self.buttons.iter().flatten().find(|(l, _)| l.contains(label)))
    }
}

fn markup(value: Option<&Value>) -> (Vec<Vec<(String, String)>>, Vec<String>) {
    let value = match value {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let inline = value["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    row.as_array()
                        .map(|r| {
                            r.iter()
                                .map(|b| (b["text"].as_str().unwrap_or_default().to_owned(), b["callback_data"].as_str().unwrap_or_default().to_owned()))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let keyboard = value["keyboard"]
        .as_array()
        .map(|rows| rows.iter().flat_map(|r| r.as_array().cloned().unwrap_or_default()).filter_map(|b| b["text"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    (inline, keyboard)
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Everything the bot showed in `chat`, in order. Text and buttons come from each call's own
/// body; a sent message's id is matched by chat and text, since calls and answers are recorded
/// separately by the fake and may interleave differently across chats.
pub fn screens(bot: &FakeBotApi, chat: i64) -> Vec<Screen> {
    let mut sent: Vec<Option<ariza_fake_bot_api::SentMessage>> =
        bot.sent_messages().into_iter().filter(|m| m.chat_id == chat).map(Some).collect();
    let mut out = Vec::new();
    for call in bot.calls() {
        if as_i64(&call.body["chat_id"]) != Some(chat) || call.status != 200 || call.scripted_status.is_some() {
            continue;
        }
        let text = call.body["text"].as_str().unwrap_or_default().to_owned();
        let (buttons, keyboard) = markup(call.body.get("reply_markup"));
        let message_id = match call.method.as_str() {
            // The fake records a call before it stores the message it sends: until then the
            // screen has no id to press buttons on, so it is not shown yet.
            "sendmessage" => match sent.iter_mut().find(|m| m.as_ref().is_some_and(|m| m.text == text)).and_then(Option::take) {
                Some(m) => m.message_id,
                None => continue,
            },
            "editmessagetext" => as_i64(&call.body["message_id"]).unwrap_or_default(),
            _ => continue,
        };
        let edited = call.method == "editmessagetext";
        out.push(Screen { text, buttons, keyboard, message_id, edited });
    }
    out
}

/// A running bot against a test environment.
pub struct BotTest {
    pub env: TestEnv,
    pub settings: Settings,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    next_update: AtomicI64,
}

static CALLBACK_IDS: AtomicI64 = AtomicI64::new(1);

impl BotTest {
    /// The pipeline and the bot, both running; the bot publishes through `amqp_url` when given.
    pub async fn start_with(amqp_url: Option<String>) -> BotTest {
        let env = TestEnv::start().await;
        let mut settings = env.settings.clone();
        if let Some(url) = amqp_url {
            settings.amqp.url = SecretString::from(url);
        }
        let mut test = BotTest { env, settings, shutdown: CancellationToken::new(), task: None, next_update: AtomicI64::new(1) };
        test.start_bot();
        test
    }

    pub async fn start() -> BotTest {
        Self::start_with(None).await
    }

    pub fn start_bot(&mut self) {
        self.shutdown = CancellationToken::new();
        // Its own pool, as in production where the bot is its own process.
        let pool = ariza_workers::db::pool(&self.settings.database).expect("bot pool");
        let app = Arc::new(BotApp::new(self.settings.clone(), pool));
        self.task = Some(tokio::spawn(run_bot(app, self.shutdown.clone(), None)));
    }

    pub async fn stop_bot(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("bot task").expect("bot stopped cleanly");
        }
    }

    pub fn staffer(&self, uid: i64, language_code: &str) -> Staffer<'_> {
        Staffer { test: self, uid, language_code: language_code.to_owned(), next_message: AtomicI64::new(1000), presses: Mutex::new(0) }
    }

    pub async fn cleanup(mut self) {
        self.stop_bot().await;
        self.env.cleanup().await;
    }
}

/// One person talking to the bot.
pub struct Staffer<'a> {
    test: &'a BotTest,
    pub uid: i64,
    language_code: String,
    next_message: AtomicI64,
    presses: Mutex<usize>,
}

/// What pressing a button did.
#[derive(Debug, Clone)]
pub struct Pressed {
    /// The short answer Telegram showed, if any.
    pub toast: Option<String>,
    /// The latest screen afterwards.
    pub screen: Screen,
}

impl Staffer<'_> {
    fn bot(&self) -> &FakeBotApi {
        &self.test.env.bot
    }

    fn user(&self) -> Value {
        json!({ "id": self.uid, "is_bot": false, "first_name": format!("User {}", self.uid), "language_code": self.language_code })
    }

    fn chat(&self) -> Value {
        json!({ "id": self.uid, "type": "private", "first_name": format!("User {}", self.uid) })
    }

    pub fn screens(&self) -> Vec<Screen> {
        screens(self.bot(), self.uid)
    }

    /// The latest screen of the dialogue (notifications from the pipeline are skipped).
    pub fn last(&self) -> Screen {
        self.screens().into_iter().rev().find(Screen::is_dialogue).unwrap_or_default()
    }

    async fn wait_for_screens(&self, more_than: usize, what: &str) -> Screen {
        self.wait_for(more_than, what, true).await
    }

    /// Waits for a new screen after the first `more_than`: a dialogue screen when `dialogue`.
    async fn wait_for(&self, more_than: usize, what: &str, dialogue: bool) -> Screen {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let now = self.screens();
            if let Some(found) = now.iter().skip(more_than).rev().find(|s| !dialogue || s.is_dialogue()) {
                return found.clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "user {}: no answer to {what}; last screen: {:?}", self.uid, now.last());
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }

    fn push_message(&self, fields: Value) {
        let id = self.next_message.fetch_add(1, Ordering::SeqCst);
        let mut message = json!({ "message_id": id, "date": chrono::Utc::now().timestamp(), "chat": self.chat(), "from": self.user() });
        if let (Some(m), Some(f)) = (message.as_object_mut(), fields.as_object()) {
            m.extend(f.clone());
        }
        self.bot().push_update(json!({ "message": message }));
    }

    /// Sends a text message and returns the bot's answer.
    pub async fn say(&self, text: &str) -> Screen {
        let before = self.screens().len();
        self.push_message(json!({ "text": text }));
        self.wait_for_screens(before, text).await
    }

    /// Sends a text message and returns the next message of any kind (a stranger's refusal has
    /// no buttons).
    pub async fn say_any(&self, text: &str) -> Screen {
        let before = self.screens().len();
        self.push_message(json!({ "text": text }));
        self.wait_for(before, text, false).await
    }

    /// Sends a sticker and returns the bot's answer.
    pub async fn sticker(&self) -> Screen {
        let before = self.screens().len();
        self.push_message(json!({ "sticker": {
            "file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADxx", "type": "regular",
            "width": 512, "height": 512, "is_animated": false, "is_video": false } }));
        self.wait_for_screens(before, "a sticker").await
    }

    /// Shares a contact: the user's own (`user_id` = their id) or someone else's.
    pub async fn contact(&self, phone: &str, user_id: i64) -> Screen {
        let before = self.screens().len();
        self.push_message(json!({ "contact": { "phone_number": phone, "first_name": "Contact", "user_id": user_id } }));
        self.wait_for(before, "a contact", false).await
    }

    /// Waits for a message whose text contains `part` and returns it (a notification, say).
    pub async fn wait_text(&self, part: &str) -> Screen {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(found) = self.screens().into_iter().rev().find(|s| s.text.contains(part)) {
                return found;
            }
            let texts: Vec<String> = self.screens().into_iter().map(|s| s.text).collect();
            assert!(tokio::time::Instant::now() < deadline, "user {}: no message with {part:?} among {texts:#?}", self.uid);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for a notification with a button whose `callback_data` starts with `prefix` (`o|…`
    /// open, `r|…` rate) and presses it.
    pub async fn press_notification(&self, prefix: &str, label_part: &str) -> Pressed {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let found = self.screens().into_iter().rev().find_map(|s| {
                let hit = s.buttons.iter().flatten().find(|(l, d)| d.starts_with(prefix) && l.contains(label_part)).cloned();
                hit.map(|(_, data)| (data, s.message_id))
            });
            if let Some((data, message_id)) = found {
                return self.press_data(&data, message_id).await;
            }
            assert!(tokio::time::Instant::now() < deadline, "user {}: no notification button {prefix}…", self.uid);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Presses a button of the latest dialogue screen that has buttons, by (a part of) its label;
    /// a label only a notification has ("Open", a rating) is pressed on the latest notification.
    pub async fn press(&self, label: &str) -> Pressed {
        let screens = self.screens();
        let dialogue = screens.iter().rev().find(|s| !s.buttons.is_empty() && s.is_dialogue());
        let screen = dialogue
            .filter(|s| s.button(label).is_some())
            .or_else(|| screens.iter().rev().find(|s| s.button(label).is_some()))
            .or(dialogue)
            .cloned()
            .unwrap_or_default();
        let Some((_, data)) = screen.button(label).cloned() else {
            panic!("user {}: no button {label:?} on {:?} (buttons {:?})", self.uid, screen.text, screen.labels());
        };
        self.press_data(&data, screen.message_id).await
    }

    /// Presses a button with any `callback_data` (a stale or forged one) on message `message_id`.
    pub async fn press_data(&self, data: &str, message_id: i64) -> Pressed {
        let id = format!("cb{}", CALLBACK_IDS.fetch_add(1, Ordering::SeqCst));
        *self.presses.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        self.bot().push_update(json!({ "callback_query": {
            "id": id, "from": self.user(), "chat_instance": "ci", "data": data,
            "message": { "message_id": message_id, "date": chrono::Utc::now().timestamp(), "chat": self.chat(), "text": "…" } } }));
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let answer = self.bot().calls_of("answerCallbackQuery").into_iter().find(|c| c.body["callback_query_id"].as_str() == Some(id.as_str()));
            if let Some(answer) = answer {
                return Pressed { toast: answer.body["text"].as_str().map(str::to_owned), screen: self.last() };
            }
            assert!(tokio::time::Instant::now() < deadline, "user {}: button {data} was never answered", self.uid);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }

    /// Every button this user pressed was answered exactly once.
    pub fn assert_every_press_answered(&self) {
        let pressed = *self.presses.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let answered = self
            .bot()
            .calls_of("answerCallbackQuery")
            .iter()
            .filter(|c| {
                let id = c.body["callback_query_id"].as_str().unwrap_or_default();
                id.starts_with("cb")
            })
            .count();
        assert!(answered >= pressed, "user {}: {pressed} presses, {answered} answers", self.uid);
    }
}

/// A TCP proxy to the broker that a test can cut and restore.
pub struct Proxy {
    pub port: u16,
    open: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let target = target.to_owned();
        let (o, l) = (open.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await.ok();
                    }
                });
                l.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(link);
            }
        });
        Proxy { port, open, links, accept }
    }

    /// Refuses new connections and breaks the open ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
