//! Receiving updates (long polling by default, a webhook as configuration) and answering them:
//! recognise the person (staff, client, or someone new), load their session, let [`crate::flow`] handle the update, show the
//! resulting screen (editing the message a button was on, in place), save the session.

use crate::flow::{self, Ctx, Input, Reply};
use crate::people::{self, Person};
use crate::publisher::BotPublisher;
use crate::screens::{self, Screen};
use crate::session::{Session, parse_callback};
use crate::storage::{DialogueStorage, Loaded};
use crate::texts::t;
use anyhow::Context as _;
use backon::{BackoffBuilder as _, ExponentialBuilder};
use ariza_shared::config::{BotMode, Settings};
use ariza_shared::domain::{GlobalAction, Locale};
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::sync::Arc;
use teloxide::dispatching::{Dispatcher, UpdateFilterExt as _};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::payloads::{AnswerCallbackQuerySetters as _, EditMessageTextSetters as _, SendMessageSetters as _};
use teloxide::prelude::{Bot, CallbackQuery, Message, Requester as _, Update};
use teloxide::types::{
    ButtonRequest, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup, MessageId, ReplyMarkup, User,
};
use teloxide::update_listeners::{Polling, webhooks};
use teloxide::{RequestError, dptree};
use tokio_util::sync::CancellationToken;

/// What every update handler shares.
#[derive(Debug)]
pub struct BotApp {
    pub pool: PgPool,
    pub settings: Settings,
    pub storage: DialogueStorage,
    pub publisher: BotPublisher,
}

impl BotApp {
    pub fn new(settings: Settings, pool: PgPool) -> Self {
        Self { storage: DialogueStorage::new(pool.clone()), publisher: BotPublisher::new(settings.clone()), pool, settings }
    }

    fn bot(&self) -> anyhow::Result<Bot> {
        let url = reqwest_url(&self.settings.telegram.api_base_url)?;
        Ok(Bot::new(self.settings.telegram.token.expose_secret()).set_api_url(url))
    }
}

fn reqwest_url(s: &str) -> anyhow::Result<reqwest::Url> {
    s.parse().context("telegram.api_base_url is not a URL")
}

/// Runs the bot until `shutdown` fires. In webhook mode, `bound` receives the address the webhook
/// listens on (tests bind port 0).
pub async fn run_bot(
    app: Arc<BotApp>,
    shutdown: CancellationToken,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> anyhow::Result<()> {
    let bot = app.bot()?;
    if !wait_for_bot_api(&bot, &shutdown).await {
        return Ok(());
    }
    let handler = dptree::entry()
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback));
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![app.clone()])
        .default_handler(|_| async {})
        .build();
    let token = dispatcher.shutdown_token();
    let stopper = shutdown.clone();
    tokio::spawn(async move {
        stopper.cancelled().await;
        // Waits for the dispatcher to be running before asking it to stop.
        loop {
            match token.shutdown() {
                Ok(done) => {
                    done.await;
                    return;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    });
    let errors = LoggingErrorHandler::with_custom_text("bot update failed");
    match app.settings.bot.mode {
        BotMode::Polling => {
            tracing::info!("bot running with long polling");
            let listener = Polling::builder(bot).timeout(std::time::Duration::from_secs(10)).build();
            dispatcher.dispatch_with_listener(listener, errors).await;
        }
        BotMode::Webhook => {
            let settings = &app.settings.bot;
            let secret = settings.webhook_secret.expose_secret().to_owned();
            anyhow::ensure!(!secret.is_empty(), "bot.webhook_secret must be set in webhook mode (ARIZA__BOT__WEBHOOK_SECRET)");
            let addr: SocketAddr = settings.webhook_listen.parse().context("bot.webhook_listen is not an address")?;
            let url = reqwest_url(&settings.webhook_url).context("bot.webhook_url")?;
            let options = webhooks::Options::new(addr, url).secret_token(secret);
            let (listener, stop_flag, router) =
                webhooks::axum_to_router(bot, options).await.context("registering the webhook with Telegram")?;
            let tcp = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
            let local = tcp.local_addr()?;
            tracing::info!(%local, "bot listening for webhook calls");
            if let Some(tx) = bound {
                tx.send(local).ok();
            }
            let server_stop = shutdown.clone();
            tokio::spawn(async move {
                let stop = async move {
                    tokio::select! {
                        () = stop_flag => {}
                        () = server_stop.cancelled() => {}
                    }
                };
                if let Err(e) = axum::serve(tcp, router).with_graceful_shutdown(stop).await {
                    tracing::error!(error = %e, "webhook server failed");
                }
            });
            dispatcher.dispatch_with_listener(listener, errors).await;
        }
    }
    Ok(())
}

/// Waits until the Bot API answers `getMe`; `false` when shut down first. teloxide's dispatcher
/// gives up (it panics) when it cannot reach the Bot API as it starts, and Telegram (or a local
/// fake) may be unreachable, or come up after the bot.
async fn wait_for_bot_api(bot: &Bot, shutdown: &CancellationToken) -> bool {
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_millis(500))
        .with_max_delay(std::time::Duration::from_secs(30))
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        let error = tokio::select! {
            answer = bot.get_me() => match answer {
                Ok(me) => {
                    tracing::info!(username = me.username(), "the Bot API answers");
                    return true;
                }
                Err(e) => e,
            },
            () = shutdown.cancelled() => return false,
        };
        let delay = delays.next().unwrap_or(std::time::Duration::from_secs(30));
        tracing::warn!(error = %error, retry_in_ms = delay.as_millis(), "the Bot API is unreachable; trying again");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => return false,
        }
    }
}

/// The language to answer someone in before anything else is known about them.
fn stranger_locale(user: &User) -> Locale {
    people::telegram_locale(user.language_code.as_deref())
}

/// The person behind an update; `None` for a deactivated staff member.
async fn person_of(pool: &PgPool, user: &User) -> anyhow::Result<Option<Person>> {
    let id = i64::try_from(user.id.0).context("a Telegram user id beyond i64")?;
    people::identify(pool, id, user.language_code.as_deref()).await
}

/// Loads the session; a state from an older version is replaced, with an apology.
async fn load_session(app: &BotApp, chat_id: i64, l: Locale) -> anyhow::Result<(Session, Option<String>)> {
    Ok(match app.storage.load(chat_id).await? {
        Loaded::Found(s) => (*s, None),
        Loaded::Missing => (Session::default(), None),
        Loaded::Unreadable(e) => {
            tracing::warn!(chat_id, error = %e, "a stored dialogue no longer reads; starting it again");
            (Session::default(), Some(t(l, "bot-state-reset")))
        }
    })
}

fn markup(screen: &Screen, step_no: u32) -> Option<ReplyMarkup> {
    if let Some(label) = &screen.contact {
        let button = KeyboardButton::new(label.clone()).request(ButtonRequest::Contact);
        return Some(ReplyMarkup::Keyboard(KeyboardMarkup::new(vec![vec![button]]).resize_keyboard().one_time_keyboard()));
    }
    if let Some(labels) = &screen.menu {
        if labels.is_empty() {
            // A menu with no entries gets no keyboard: Telegram does not take an empty one.
            return None;
        }
        let rows: Vec<Vec<KeyboardButton>> = labels.iter().map(|l| vec![KeyboardButton::new(l.clone())]).collect();
        return Some(ReplyMarkup::Keyboard(KeyboardMarkup::new(rows).resize_keyboard()));
    }
    if screen.buttons.is_empty() {
        return None;
    }
    let rows: Vec<Vec<InlineKeyboardButton>> = screen
        .buttons
        .iter()
        .map(|row| row.iter().map(|b| InlineKeyboardButton::callback(b.label.clone(), b.data(step_no))).collect())
        .collect();
    Some(ReplyMarkup::InlineKeyboard(InlineKeyboardMarkup::new(rows)))
}

fn with_notice(notice: Option<&String>, text: &str) -> String {
    match notice {
        Some(n) if !n.is_empty() => format!("{n}\n\n{text}"),
        _ => text.to_owned(),
    }
}

/// Sends a message, waiting out one 429 (a plain `Bot` does not retry it).
async fn send(bot: &Bot, chat: ChatId, text: String, markup: Option<ReplyMarkup>) -> Result<(), RequestError> {
    for _ in 0..2 {
        let mut request = bot.send_message(chat, text.clone());
        if let Some(m) = markup.clone() {
            request = request.reply_markup(m);
        }
        match request.await {
            Ok(_) => return Ok(()),
            Err(RequestError::RetryAfter(after)) => tokio::time::sleep(after.duration()).await,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn show(app: &BotApp, bot: &Bot, chat: ChatId, person: &Person, s: &Session, notice: Option<&String>) -> anyhow::Result<()> {
    let screen = render(app, person, s).await?;
    send(bot, chat, with_notice(notice, &screen.text), markup(&screen, s.step_no)).await?;
    Ok(())
}

async fn render(app: &BotApp, person: &Person, s: &Session) -> anyhow::Result<Screen> {
    Ok(screens::render(&app.pool, person, s, &app.settings.bot.tariffs, app.settings.bot.page_size).await?)
}

/// Counts a handled update in `ariza_bot_updates_total`.
fn count_update<T, E>(kind: &'static str, result: &Result<T, E>) {
    let outcome = if result.is_ok() { "ok" } else { "error" };
    metrics::counter!(ariza_shared::metrics::catalogue::BOT_UPDATES, "kind" => kind, "outcome" => outcome).increment(1);
}

async fn on_message(bot: Bot, msg: Message, app: Arc<BotApp>) -> anyhow::Result<()> {
    let result = handle_message(&bot, &msg, &app).await;
    count_update("message", &result);
    if let (Err(e), Some(user)) = (&result, msg.from.as_ref()) {
        // Nothing was saved: what the staff member entered before is still there.
        tracing::error!(error = format!("{e:#}"), "message failed");
        send(&bot, msg.chat.id, t(stranger_locale(user), "bot-error-try-again"), None).await.ok();
    }
    Ok(())
}

async fn handle_message(bot: &Bot, msg: &Message, app: &BotApp) -> anyhow::Result<()> {
    let Some(user) = msg.from.as_ref() else { return Ok(()) };
    if !msg.chat.is_private() {
        return Ok(());
    }
    let chat = msg.chat.id;
    let Some(mut person) = person_of(&app.pool, user).await? else {
        send(bot, chat, t(stranger_locale(user), "error-inactive-staff"), None).await?;
        return Ok(());
    };
    let (mut session, apology) = load_session(app, chat.0, person.language).await?;
    if person.is_stranger()
        && let Some(locale) = session.locale
    {
        person.language = locale;
    }
    let contact = msg.contact();
    let input = match msg.text() {
        Some(text) if text.starts_with('/') => {
            let (head, args) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
            let command = head.trim_start_matches('/').split('@').next().unwrap_or_default();
            Input::Command(command, args.trim())
        }
        Some(text) => Input::Text(text),
        None => match contact {
            Some(c) => Input::Contact { phone: &c.phone_number, user_id: c.user_id.and_then(|u| i64::try_from(u.0).ok()) },
            None => Input::NotText,
        },
    };
    let ctx = Ctx { pool: &app.pool, settings: &app.settings, publisher: &app.publisher, storage: &app.storage, chat_id: chat.0 };
    let reply = if apology.is_some() {
        Reply { notice: apology, ..Reply::default() }
    } else {
        flow::handle(&ctx, &mut person, &mut session, input).await?
    };
    app.storage.save(chat.0, &session).await?;
    let notice = reply.closed.as_ref().or(reply.notice.as_ref());
    show(app, bot, chat, &person, &session, notice).await
}

async fn on_callback(bot: Bot, q: CallbackQuery, app: Arc<BotApp>) -> anyhow::Result<()> {
    let result = handle_callback(&bot, &q, &app).await;
    count_update("callback", &result);
    // Every button press is answered, whatever happened.
    let toast = match &result {
        Ok(toast) => toast.clone(),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "button press failed");
            Some(t(stranger_locale(&q.from), "bot-error-try-again"))
        }
    };
    let mut answer = bot.answer_callback_query(q.id.clone());
    if let Some(text) = toast {
        answer = answer.text(text);
    }
    answer.await?;
    Ok(())
}

/// Handles a button press; returns the toast to answer it with.
async fn handle_callback(bot: &Bot, q: &CallbackQuery, app: &BotApp) -> anyhow::Result<Option<String>> {
    let Some(mut person) = person_of(&app.pool, &q.from).await? else {
        return Ok(Some(t(stranger_locale(&q.from), "error-inactive-staff")));
    };
    let Some(message) = q.message.as_ref() else { return Ok(Some(t(person.language, "bot-stale-button"))) };
    let chat = message.chat().id;
    let message_id = message.id();
    let (mut session, apology) = load_session(app, chat.0, person.language).await?;
    if person.is_stranger()
        && let Some(locale) = session.locale
    {
        person.language = locale;
    }
    let l = person.language;
    let ctx = Ctx { pool: &app.pool, settings: &app.settings, publisher: &app.publisher, storage: &app.storage, chat_id: chat.0 };
    if let Some(pressed) = q.data.as_deref().and_then(GlobalAction::parse) {
        // A button under a notification: it opens its own screen below, whatever the dialogue
        // was, and leaves the notification as it is.
        if person.is_stranger() {
            return Ok(Some(t(l, "bot-stale-button")));
        }
        let reply = crate::work::global(&ctx, &person, &mut session, pressed).await?;
        if reply.toast.is_none() {
            app.storage.save(chat.0, &session).await?;
            show(app, bot, chat, &person, &session, reply.notice.as_ref()).await?;
        }
        return Ok(reply.toast);
    }
    let Some((step_no, action)) = q.data.as_deref().and_then(parse_callback) else {
        return Ok(Some(t(l, "bot-stale-button")));
    };
    if apology.is_some() {
        app.storage.save(chat.0, &session).await?;
        show(app, bot, chat, &person, &session, apology.as_ref()).await?;
        return Ok(None);
    }
    if step_no != session.step_no {
        return Ok(Some(t(l, "bot-stale-button")));
    }
    let before = session.step_no;
    let reply = flow::handle(&ctx, &mut person, &mut session, Input::Action(action)).await?;
    app.storage.save(chat.0, &session).await?;
    if let Some(closed) = &reply.closed {
        // The confirmation carries the application id: if the message cannot be edited (too old,
        // deleted), it is sent anew rather than lost.
        if !edit(bot, chat, message_id, closed.clone(), None).await {
            send(bot, chat, closed.clone(), None).await?;
        }
        show(app, bot, chat, &person, &session, reply.notice.as_ref()).await?;
    } else if session.step_no != before || reply.notice.is_some() {
        let screen = render(app, &person, &session).await?;
        let text = with_notice(reply.notice.as_ref(), &screen.text);
        if screen.menu.is_some() || screen.contact.is_some() {
            send(bot, chat, text, markup(&screen, session.step_no)).await?;
        } else {
            let keyboard = match markup(&screen, session.step_no) {
                Some(ReplyMarkup::InlineKeyboard(k)) => Some(k),
                _ => None,
            };
            edit(bot, chat, message_id, text, keyboard).await;
        }
    }
    Ok(reply.toast)
}

/// Edits a message in place; returns whether it worked. "Not modified" and similar answers are
/// harmless and only logged.
async fn edit(bot: &Bot, chat: ChatId, id: MessageId, text: String, keyboard: Option<InlineKeyboardMarkup>) -> bool {
    let mut request = bot.edit_message_text(chat, id, text);
    if let Some(k) = keyboard {
        request = request.reply_markup(k);
    }
    match request.await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "editing a message failed");
            false
        }
    }
}
