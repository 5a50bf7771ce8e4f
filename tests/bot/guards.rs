//! What the bot refuses and what it survives: strangers (offered registration, nothing else), a junior manager's technical request by
//! any path, stale and forged buttons, a restart mid-dialogue, a state from an older version, the
//! broker unreachable at confirm, and a webhook call with the wrong secret.

use crate::driver::{BotTest, Proxy};
use crate::support::{amqp_url, wait_until};
use ariza_bot::texts::t;
use ariza_shared::domain::{Locale, Role};

#[tokio::test]
async fn someone_new_is_offered_registration_in_their_language_and_reaches_no_staff_screen() {
    let test = BotTest::start().await;
    let ru = test.staffer(777, "ru");
    let screen = ru.say_any("/start").await;
    // The welcome shows the Telegram id, for someone who is staff to give their administrator.
    let welcome = ariza_bot::texts::ta(Locale::Ru, "bot-register-welcome", &[("id", serde_json::json!(777))]);
    assert!(screen.text.contains(&welcome) && screen.text.contains("777"), "{}", screen.text);
    assert!(screen.text.contains(&t(Locale::Ru, "bot-register-ask-name")), "{}", screen.text);
    let uz = test.staffer(778, "uz");
    // A staff menu label typed by a stranger starts nothing but the registration.
    let screen = uz.say_any(&t(Locale::Uz, "bot-btn-new-connection")).await;
    let welcome = ariza_bot::texts::ta(Locale::Uz, "bot-register-welcome", &[("id", serde_json::json!(778))]);
    assert!(screen.text.contains(&welcome), "{}", screen.text);
    assert!(!screen.text.contains(&t(Locale::Uz, "bot-search-how")));
    let pressed = uz.press_data("1|sp", 5).await;
    assert_eq!(pressed.toast.as_deref(), Some(t(Locale::Uz, "bot-stale-button").as_str()));
    assert_eq!(test.env.count("SELECT count(*) FROM clients").await, 0, "nothing is registered without a confirmation");
    test.cleanup().await;
}

#[tokio::test]
async fn a_junior_manager_cannot_create_a_technical_request_by_any_path() {
    let test = BotTest::start().await;
    test.env.staff(601, Role::JuniorManager, Locale::Ru).await;
    let l = Locale::Ru;
    let u = test.staffer(601, "ru");
    let menu = u.say("/start").await;
    assert_eq!(menu.keyboard, vec![t(l, "bot-btn-new-connection")], "the menu offers connection requests only");
    // A typed command.
    let refused = u.say("/new_technical").await;
    assert!(refused.text.contains("младший менеджер") && refused.text.contains("техобслуживание"), "{}", refused.text);
    // The other role's menu button, typed.
    let refused = u.say(&t(l, "bot-btn-new-technical")).await;
    assert!(refused.text.contains("младший менеджер"), "{}", refused.text);
    // A replayed or forged button choosing the technical kind.
    u.say(&t(l, "bot-btn-new-connection")).await;
    let screen = u.last();
    let step: u32 = screen.buttons[0][0].1.split('|').next().and_then(|s| s.parse().ok()).expect("step");
    let forged = u.press_data(&format!("{step}|k:t"), screen.message_id).await;
    assert_eq!(forged.toast.as_deref(), Some(t(l, "bot-stale-button").as_str()));
    // /new asks no kind: a junior manager has only one.
    u.say("/cancel").await;
    let new = u.say("/new").await;
    assert!(new.text.contains(&t(l, "kind-connection")), "{}", new.text);
    u.assert_every_press_answered();
    assert_eq!(test.env.count("SELECT count(*) FROM service_requests").await, 0);
    assert_eq!(test.env.queue_depth(ariza_shared::topology::Stage::Validation).await, 0, "nothing was published");
    test.cleanup().await;
}

#[tokio::test]
async fn a_stale_button_pressed_again_changes_nothing_and_says_so() {
    let test = BotTest::start().await;
    test.env.staff(602, Role::Manager, Locale::Uz).await;
    let l = Locale::Uz;
    let u = test.staffer(602, "uz");
    u.say(&t(l, "bot-btn-new-technical")).await;
    let first = u.press(&t(l, "bot-btn-by-id")).await;
    assert!(first.toast.is_none());
    // The same button again, from the screen before.
    let screens = u.screens();
    let old = screens.iter().rev().find(|s| s.button(&t(l, "bot-btn-by-id")).is_some() && s.text.contains(&t(l, "bot-search-how"))).expect("old screen");
    let again = u.press_data(&old.button(&t(l, "bot-btn-by-id")).expect("button").1, old.message_id).await;
    assert_eq!(again.toast.as_deref(), Some(t(l, "bot-stale-button").as_str()));
    let not_an_id = u.say("abc").await;
    assert!(not_an_id.text.contains(&t(l, "bot-id-invalid")), "{}", not_an_id.text);
    u.assert_every_press_answered();
    test.cleanup().await;
}

#[tokio::test]
async fn a_restart_of_the_bot_mid_dialogue_resumes_where_the_staff_member_was() {
    let mut test = BotTest::start().await;
    test.env.staff(603, Role::Controller, Locale::Ru).await;
    let l = Locale::Ru;
    {
        let u = test.staffer(603, "ru");
        u.say(&t(l, "bot-btn-new-technical")).await;
        u.press(&t(l, "bot-btn-new-client")).await;
        u.say("Бахтиёр Рахимов").await;
    }
    test.stop_bot().await;
    test.start_bot();
    let u = test.staffer(603, "ru");
    let next = u.say("90 222 33 44").await;
    assert!(next.text.contains(&t(l, "bot-ask-client-address")) && next.text.contains("Бахтиёр Рахимов"), "{}", next.text);
    let card = u.say("Ташкент, Юнусабад 1").await;
    assert!(card.text.contains("Бахтиёр Рахимов") && card.text.contains("+998902223344"), "{}", card.text);
    test.cleanup().await;
}

#[tokio::test]
async fn a_state_from_an_older_version_is_reset_with_an_apology() {
    let test = BotTest::start().await;
    test.env.staff(604, Role::Manager, Locale::Uz).await;
    sqlx::query("INSERT INTO bot_dialogues (chat_id, state) VALUES (604, '{\"step\": \"from_2025\", \"draft\": 7}')")
        .execute(&test.env.pool)
        .await
        .expect("old state");
    let u = test.staffer(604, "uz");
    let screen = u.say("salom").await;
    assert!(screen.text.contains(&t(Locale::Uz, "bot-state-reset")), "{}", screen.text);
    let menu: Vec<String> =
        ["bot-btn-new-connection", "bot-btn-new-technical", "bot-btn-waiting", "bot-btn-find-app"].iter().map(|k| t(Locale::Uz, k)).collect();
    assert_eq!(screen.keyboard, menu, "the manager's menu again");
    let next = u.say(&t(Locale::Uz, "bot-btn-new-connection")).await;
    assert!(next.text.contains(&t(Locale::Uz, "bot-search-how")));
    test.cleanup().await;
}

#[tokio::test]
async fn the_language_switches_with_lang_and_cancel_leaves_cleanly() {
    let test = BotTest::start().await;
    test.env.staff(605, Role::CallCentreOperator, Locale::Uz).await;
    let u = test.staffer(605, "uz");
    u.say(&t(Locale::Uz, "bot-btn-new-connection")).await;
    let switched = u.say("/lang").await;
    assert!(switched.text.contains(&t(Locale::Ru, "bot-language-switched")));
    assert!(switched.keyboard.contains(&t(Locale::Ru, "bot-btn-new-technical")), "{:?}", switched.keyboard);
    u.say(&t(Locale::Ru, "bot-btn-new-technical")).await;
    let cancelled = u.press(&t(Locale::Ru, "bot-btn-cancel")).await;
    assert!(u.screens().iter().any(|s| s.text == t(Locale::Ru, "bot-cancelled")), "{:?}", cancelled.screen.text);
    let lang: String = sqlx::query_scalar("SELECT language FROM staff WHERE telegram_id = 605").fetch_one(&test.env.pool).await.expect("staff");
    assert_eq!(lang, "ru");
    test.cleanup().await;
}

#[tokio::test]
async fn the_broker_unreachable_at_confirm_keeps_the_draft_and_the_retry_succeeds() {
    let target = amqp_url().split('@').nth(1).and_then(|h| h.split('/').next()).unwrap_or("127.0.0.1:5672").to_owned();
    let proxy = Proxy::start(&target).await;
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port);
    let test = BotTest::start_with(Some(url)).await;
    test.env.staff(606, Role::Manager, Locale::Ru).await;
    let l = Locale::Ru;
    let u = test.staffer(606, "ru");
    u.say(&t(l, "bot-btn-new-connection")).await;
    u.press(&t(l, "bot-btn-new-client")).await;
    u.say("Шахло Каримова").await;
    u.say("97 123 45 67").await;
    u.say("Самарканд, Регистан 1").await;
    u.press(&t(l, "bot-btn-client-ok")).await;
    u.say("Самарканд, Регистан 1, кв 5").await;
    u.press(&t(l, "bot-btn-skip")).await;
    u.press(&t(l, "bot-btn-skip")).await;
    proxy.cut();
    let failed = u.press(&t(l, "bot-btn-confirm")).await.screen;
    assert!(failed.text.contains(&t(l, "bot-publish-failed")) && failed.text.contains("Шахло Каримова"), "{}", failed.text);
    assert!(failed.labels().contains(&t(l, "bot-btn-retry")));
    proxy.restore();
    u.press(&t(l, "bot-btn-retry")).await;
    assert!(u.screens().iter().any(|s| s.text.contains("Заявка отправлена. ID: ")), "sent after the retry");
    wait_until("stored once", || async { test.env.count("SELECT count(*) FROM service_requests").await == 1 }).await;
    u.assert_every_press_answered();
    test.cleanup().await;
}

#[tokio::test]
async fn a_webhook_call_with_the_wrong_secret_is_refused_and_not_processed() {
    let env = crate::support::TestEnv::start().await;
    env.staff(607, Role::Manager, Locale::Uz).await;
    let mut settings = env.settings.clone();
    settings.bot.mode = ariza_shared::config::BotMode::Webhook;
    settings.bot.webhook_listen = "127.0.0.1:0".into();
    settings.bot.webhook_url = "https://bot.example.invalid/telegram/hook".into();
    settings.bot.webhook_secret = secrecy::SecretString::from("right-secret");
    let app = std::sync::Arc::new(ariza_bot::BotApp::new(settings, env.pool.clone()));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(ariza_bot::run_bot(app, shutdown.clone(), Some(tx)));
    let addr = rx.await.expect("the webhook listens");
    let set = env.bot.calls_of("setWebhook");
    // (teloxide sends setWebhook as multipart, which the fake records without its fields; the
    // 401s below show which secret the listener holds.)
    assert_eq!(set.len(), 1, "the webhook is registered with Telegram");
    let update = serde_json::json!({ "update_id": 1, "message": { "message_id": 1, "date": 0,
        "chat": { "id": 607, "type": "private", "first_name": "M" },
        "from": { "id": 607, "is_bot": false, "first_name": "M" }, "text": "/start" } });
    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    let url = format!("http://{addr}/telegram/hook");
    let wrong = http.post(&url).header("X-Telegram-Bot-Api-Secret-Token", "wrong").json(&update).send().await.expect("call");
    assert_eq!(wrong.status().as_u16(), 401);
    let missing = http.post(&url).json(&update).send().await.expect("call");
    assert_eq!(missing.status().as_u16(), 401);
    let right = http.post(&url).header("X-Telegram-Bot-Api-Secret-Token", "right-secret").json(&update).send().await.expect("call");
    assert_eq!(right.status().as_u16(), 200);
    let sent = env.bot.wait_for_messages(1, std::time::Duration::from_secs(30)).await.expect("the right call is processed");
    assert_eq!(sent.len(), 1, "only the call with the right secret was processed: {sent:?}");
    assert!(sent[0].text.contains("Salom"), "{}", sent[0].text);
    shutdown.cancel();
    task.await.expect("task").expect("bot stopped");
    env.cleanup().await;
}

#[tokio::test]
async fn an_administrator_registers_staff_from_the_bot_and_others_cannot() {
    let test = BotTest::start().await;
    test.env.staff(608, Role::Administrator, Locale::Uz).await;
    test.env.staff(609, Role::Manager, Locale::Ru).await;
    let admin = test.staffer(608, "uz");
    // An administrator creates no applications: the answers come without a menu keyboard.
    let usage = admin.say_any("/addstaff 12345 chief uz").await;
    assert!(usage.text.contains(&t(Locale::Uz, "bot-addstaff-usage")), "{}", usage.text);
    let added = admin.say_any("/addstaff 12345 technician ru Sardor Aliev").await;
    assert!(added.text.contains("12345") && added.text.contains("texnik"), "{}", added.text);
    let (role, lang, name): (String, String, String) =
        sqlx::query_as("SELECT role, language, full_name FROM staff WHERE telegram_id = 12345").fetch_one(&test.env.pool).await.expect("row");
    assert_eq!((role.as_str(), lang.as_str(), name.as_str()), ("technician", "ru", "Sardor Aliev"));
    let manager = test.staffer(609, "ru");
    let refused = manager.say("/addstaff 777 manager ru").await;
    assert!(refused.text.contains(&t(Locale::Ru, "bot-admin-only")), "{}", refused.text);
    assert_eq!(test.env.count("SELECT count(*) FROM staff WHERE telegram_id = 777").await, 0);
    test.cleanup().await;
}

#[tokio::test]
async fn many_search_results_are_paged() {
    let test = BotTest::start().await;
    test.env.staff(610, Role::Manager, Locale::Uz).await;
    for i in 0..7 {
        test.env.client(&format!("Aziz Karimov {i}"), &format!("+99899100000{i}"), None, Locale::Uz).await;
    }
    let l = Locale::Uz;
    let u = test.staffer(610, "uz");
    u.say(&t(l, "bot-btn-new-connection")).await;
    u.press(&t(l, "bot-btn-by-name")).await;
    let first = u.say("karimov").await;
    assert!(first.text.contains("7") && first.text.contains("1/2"), "{}", first.text);
    assert_eq!(first.labels().iter().filter(|b| b.contains("Aziz Karimov")).count(), 5);
    let second = u.press(&t(l, "bot-btn-next")).await.screen;
    assert!(second.text.contains("2/2"), "{}", second.text);
    let names: Vec<String> = second.labels().into_iter().filter(|b| b.contains("Aziz Karimov")).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(second.labels().contains(&t(l, "bot-btn-prev")));
    let card = u.press("Aziz Karimov 6").await.screen;
    assert!(card.text.contains("+998991000006"), "{}", card.text);
    u.assert_every_press_answered();
    test.cleanup().await;
}

#[tokio::test]
async fn the_bot_waits_for_an_unreachable_bot_api_and_answers_once_it_is_there() {
    use crate::support::{PATIENCE, TOKEN, TestEnv};
    use std::sync::Arc;
    let env = TestEnv::start().await;
    env.staff(931, Role::Manager, Locale::Ru).await;
    // A port nothing listens on yet: Telegram unreachable as the bot starts.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let mut settings = env.settings.clone();
    settings.telegram.api_base_url = format!("http://127.0.0.1:{port}");
    let pool = ariza_workers::db::pool(&settings.database).expect("pool");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(ariza_bot::run_bot(Arc::new(ariza_bot::BotApp::new(settings, pool)), shutdown.clone(), None));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(!task.is_finished(), "the bot keeps trying instead of giving up");
    let fake = ariza_fake_bot_api::FakeBotApi::start_on(TOKEN, port).expect("the Bot API comes up");
    fake.push_update(serde_json::json!({ "message": {
        "message_id": 1, "date": chrono::Utc::now().timestamp(), "text": "/start",
        "chat": { "id": 931, "type": "private", "first_name": "M" },
        "from": { "id": 931, "is_bot": false, "first_name": "M", "language_code": "ru" } } }));
    let sent = fake.wait_for_messages(1, PATIENCE).await.expect("an answer");
    assert_eq!(sent[0].chat_id, 931);
    let keyboard = sent[0].reply_markup.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(keyboard.contains(&t(Locale::Ru, "bot-btn-new-connection")), "the manager's menu: {:?}", sent[0]);
    shutdown.cancel();
    task.await.expect("bot task").expect("the bot stops cleanly");
    fake.shutdown();
    env.cleanup().await;
}
