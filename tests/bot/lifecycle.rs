//! An application's whole life in the bot, as the people involved see it: a staff member creates
//! it for a client, a manager or controller assigns a technician, the technician starts and
//! completes it, the client (registering with their own contact, linked to the record staff made)
//! rates it. Also a client's own application, and two managers assigning at the same moment.

use crate::driver::{BotTest, Staffer};
use crate::flows::{Path, create};
use crate::support::wait_until;
use ariza_bot::texts::{action, state, t, ta};
use ariza_shared::domain::{ApplicationId, ApplicationKind, Locale, Role};
use ariza_shared::workflow::{State, TransitionName};
use serde_json::json;

async fn state_of(test: &BotTest, id: ApplicationId) -> String {
    sqlx::query_scalar("SELECT state FROM service_requests WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&test.env.pool)
        .await
        .expect("state")
        .unwrap_or_default()
}

async fn wait_state(test: &BotTest, id: ApplicationId, want: State) {
    wait_until(&format!("application {id} {want}"), || async { state_of(test, id).await == want.as_str() }).await;
}

async fn number_of(test: &BotTest, id: ApplicationId) -> i64 {
    sqlx::query_scalar("SELECT number FROM service_requests WHERE id = $1").bind(id.0).fetch_one(&test.env.pool).await.expect("number")
}

/// What was sent to `chat`, in order, as recorded by the notification stage.
async fn notified(test: &BotTest, chat: i64) -> Vec<(String, String)> {
    sqlx::query_as("SELECT template_key, COALESCE(language, '') FROM notifications WHERE chat_id = $1 AND status = 'sent' ORDER BY id")
        .bind(chat)
        .fetch_all(&test.env.pool)
        .await
        .expect("notifications")
}

async fn wait_notified_with(test: &BotTest, chat: i64, template: &str) {
    wait_until(&format!("{template} sent to {chat}"), || async { notified(test, chat).await.iter().any(|(k, _)| k == template) }).await;
}

/// A participant opens the application from the notification that told them about it.
async fn open_from_notification(u: &Staffer<'_>, number: i64) {
    let pressed = u.press_notification("o|", "").await;
    assert_eq!(pressed.toast, None, "opening from a notification is not refused");
    wait_until("the card", || async { u.last().text.contains(&format!("№{number}")) && u.last().text.contains("📋") }).await;
}

/// Presses an action on the card and, for actions that need no more input, checks it was sent.
async fn act(u: &Staffer<'_>, l: Locale, transition: TransitionName) {
    u.press(&action(l, transition)).await;
}

fn sent_text(l: Locale, transition: TransitionName, number: i64) -> String {
    ta(l, "bot-action-sent", &[("action", json!(action(l, transition))), ("number", json!(number))])
}

/// A client registers with their own contact; returns after the pipeline linked or created them.
async fn register(test: &BotTest, c: &Staffer<'_>, l: Locale, name: &str, phone: &str, address: Option<&str>) {
    let welcome = c.say_any("/start").await;
    assert!(welcome.text.contains(&ta(l, "bot-register-welcome", &[("id", json!(c.uid))])), "{}", welcome.text);
    let ask_phone = c.say_any(name).await;
    assert!(ask_phone.text.contains(&t(l, "bot-register-ask-phone")), "{}", ask_phone.text);
    assert_eq!(ask_phone.keyboard, vec![t(l, "bot-btn-share-contact")], "a contact-sharing button");
    // Typing the number, or sharing someone else's contact, is not accepted.
    assert!(c.say_any(phone).await.text.contains(&t(l, "bot-register-use-contact")));
    assert!(c.contact(phone, c.uid + 1).await.text.contains(&t(l, "bot-register-not-own-contact")));
    let after_contact = c.contact(phone.trim_start_matches('+'), c.uid).await;
    match address {
        Some(address) => {
            assert!(after_contact.text.contains(&t(l, "bot-register-ask-address")), "{}", after_contact.text);
            let confirm = c.say(address).await;
            assert!(confirm.text.contains(name) && confirm.text.contains(address), "{}", confirm.text);
            c.press(&t(l, "bot-btn-register")).await;
        }
        None => {
            // Staff registered this phone: the record is offered, not duplicated.
            assert!(after_contact.text.contains(&t(l, "bot-register-found")), "{}", after_contact.text);
            c.press(&t(l, "bot-btn-its-me")).await;
        }
    }
    c.wait_text(&t(l, "bot-register-sent")).await;
    let uid = c.uid;
    wait_until("the client is linked", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM clients WHERE telegram_chat_id = $1")
            .bind(uid)
            .fetch_one(&test.env.pool)
            .await
            .expect("count")
            == 1
    })
    .await;
}

#[tokio::test]
async fn a_staff_created_connection_request_goes_from_creation_to_the_clients_rating() {
    // The bot's metrics, as `ariza bot` serves them (nextest runs each test in its own process).
    let metrics = ariza_shared::metrics::install();
    let test = BotTest::start().await;
    let (op_l, mgr_l, tech_l, client_l) = (Locale::Uz, Locale::Ru, Locale::Uz, Locale::Ru);
    test.env.staff(5101, Role::CallCentreOperator, op_l).await;
    test.env.staff(5102, Role::Manager, mgr_l).await;
    let tech = test.env.staff(5103, Role::Technician, tech_l).await;
    sqlx::query("UPDATE staff SET full_name = 'Texnik Aziz' WHERE id = $1").bind(tech.id).execute(&test.env.pool).await.expect("name");
    // Registered by staff earlier, without Telegram: its notifications wait for the link.
    test.env.client("Mijoz Test1", "+998930000001", None, client_l).await;
    let (op, mgr, tech_u, client) =
        (test.staffer(5101, "uz"), test.staffer(5102, "ru"), test.staffer(5103, "uz"), test.staffer(5104, "ru"));

    let id = create(&op, op_l, ApplicationKind::Connection, Path::Phone, 1).await;
    wait_state(&test, id, State::AwaitingManager).await;
    let number = number_of(&test, id).await;

    // The manager is told, opens it from the notification and assigns the technician.
    open_from_notification(&mgr, number).await;
    let card = mgr.last();
    assert!(card.text.contains("Mijoz Test1"), "{}", card.text);
    assert!(card.text.contains(&t(mgr_l, "role-call-centre-operator")), "who created it, in which role: {}", card.text);
    act(&mgr, mgr_l, TransitionName::Assign).await;
    let pick = mgr.last();
    assert!(pick.text.contains(&format!("№{number}")), "{}", pick.text);
    mgr.press("Texnik Aziz").await;
    mgr.wait_text(&sent_text(mgr_l, TransitionName::Assign, number)).await;
    wait_state(&test, id, State::Assigned).await;

    // The technician starts from the notification, then completes from "my work".
    open_from_notification(&tech_u, number).await;
    act(&tech_u, tech_l, TransitionName::Start).await;
    tech_u.wait_text(&sent_text(tech_l, TransitionName::Start, number)).await;
    wait_state(&test, id, State::InProgress).await;
    let list = tech_u.say(&t(tech_l, "bot-btn-my-work")).await;
    assert!(list.text.contains(&format!("№{number}")), "{}", list.text);
    tech_u.press(&format!("№{number}")).await;
    act(&tech_u, tech_l, TransitionName::Complete).await;
    assert!(tech_u.last().text.contains(&ta(tech_l, "bot-ask-report", &[("number", json!(number))])));
    // A report is required: an empty one is explained and asked again.
    assert!(tech_u.say("   ").await.text.contains(&t(tech_l, "error-report-empty")));
    tech_u.say("Router o'rnatildi, internet ishlayapti").await;
    tech_u.wait_text(&sent_text(tech_l, TransitionName::Complete, number)).await;
    wait_state(&test, id, State::Completed).await;

    // Nothing reached the client yet: they have no Telegram. They register, are linked to the
    // record staff made, and receive what waited for them, the rating request last.
    // (The completion's messages follow the state change: wait for them.)
    wait_until("route, assign, start and complete wait for the client", || async {
        test.env.count("SELECT count(*) FROM notifications WHERE status = 'waiting_link'").await == 4
    })
    .await;
    assert_eq!(test.env.count("SELECT count(*) FROM notifications WHERE recipient_kind = 'client' AND status <> 'waiting_link'").await, 0);
    register(&test, &client, client_l, "Mijoz Test1", "+998930000001", None).await;
    assert_eq!(test.env.count("SELECT count(*) FROM clients").await, 1, "linked, not duplicated");
    wait_notified_with(&test, 5104, "wf-complete-client").await;
    let to_client: Vec<String> = notified(&test, 5104).await.into_iter().map(|(k, lang)| format!("{k}:{lang}")).collect();
    for key in ["wf-route-client", "wf-assign-client", "wf-start-client", "wf-complete-client"] {
        assert_eq!(to_client.iter().filter(|k| k.starts_with(&format!("{key}:"))).count(), 1, "{key} once: {to_client:?}");
        assert!(to_client.contains(&format!("{key}:ru")), "in the client's language: {to_client:?}");
    }

    // The client rates it from the notification, with a comment.
    let pressed = client.press_notification("r|", "5").await;
    assert_eq!(pressed.toast, None);
    let ask = client.last();
    assert!(ask.text.contains(&ta(client_l, "bot-ask-rating-comment", &[("number", json!(number)), ("rating", json!(5))])), "{}", ask.text);
    client.say("Спасибо, быстро и аккуратно!").await;
    client.wait_text(&sent_text(client_l, TransitionName::Rate, number)).await;
    wait_state(&test, id, State::Rated).await;
    let (rating, comment): (Option<i16>, Option<String>) =
        sqlx::query_as("SELECT rating, rating_comment FROM service_requests WHERE id = $1").bind(id.0).fetch_one(&test.env.pool).await.expect("rating");
    assert_eq!((rating, comment.as_deref()), (Some(5), Some("Спасибо, быстро и аккуратно!")));

    // The creating operator heard about every step, in Uzbek; the technician about the rating.
    wait_notified_with(&test, 5101, "wf-rate-creator").await;
    let to_op = notified(&test, 5101).await;
    for key in ["wf-route-creator", "wf-assign-creator", "wf-start-creator", "wf-complete-creator", "wf-rate-creator"] {
        assert!(to_op.contains(&(key.to_owned(), "uz".to_owned())), "{key}: {to_op:?}");
    }
    wait_notified_with(&test, 5103, "wf-rate-participant").await;
    // Staff see the rating on the card.
    mgr.say(&format!("/app {number}")).await;
    let card = mgr.last();
    assert!(card.text.contains("5/5") && card.text.contains("Спасибо, быстро и аккуратно!"), "{}", card.text);
    assert!(card.text.contains("Router o'rnatildi, internet ishlayapti"), "the technician's report: {}", card.text);
    for u in [&op, &mgr, &tech_u, &client] {
        u.assert_every_press_answered();
    }
    let scrape = metrics.render();
    for (series, at_least) in [
        ("ariza_workflow_publishes_total{command=\"transition\",outcome=\"confirmed\"}", 4.0),
        ("ariza_workflow_publishes_total{command=\"register_client\",outcome=\"confirmed\"}", 1.0),
        ("ariza_bot_updates_total{kind=\"callback\",outcome=\"ok\"}", 10.0),
        ("ariza_bot_updates_total{kind=\"message\",outcome=\"ok\"}", 10.0),
    ] {
        let value: f64 = scrape
            .lines()
            .find_map(|l| l.strip_prefix(series).map(|v| v.trim().parse().unwrap_or(0.0)))
            .unwrap_or_else(|| panic!("{series} not exported:\n{scrape}"));
        assert!(value >= at_least, "{series} = {value}");
    }
    test.cleanup().await;
}

#[tokio::test]
async fn a_client_registers_creates_their_own_technical_request_and_rates_it_like_staff_created_ones() {
    let test = BotTest::start().await;
    let l = Locale::Uz;
    test.env.staff(5201, Role::Controller, Locale::Ru).await;
    let tech = test.env.staff(5202, Role::Technician, Locale::Ru).await;
    sqlx::query("UPDATE staff SET full_name = 'Техник Олег' WHERE id = $1").bind(tech.id).execute(&test.env.pool).await.expect("name");
    let (ctl, tech_u, client) = (test.staffer(5201, "ru"), test.staffer(5202, "ru"), test.staffer(5203, "uz"));

    register(&test, &client, l, "Dilnoza Karimova", "+998901112233", Some("Toshkent, Yunusobod 4-12")).await;
    // The welcome brings the client's menu.
    let my_apps = t(l, "bot-client-btn-my-applications");
    wait_until("the welcome", || async { client.screens().iter().any(|s| s.keyboard.contains(&my_apps)) }).await;
    // The client's menu: their own kinds and their applications.
    let menu = client.say("/start").await;
    assert_eq!(
        menu.keyboard,
        ["bot-client-btn-new-connection", "bot-client-btn-new-technical", "bot-client-btn-my-applications"].map(|k| t(l, k)).to_vec()
    );
    let form = client.say(&t(l, "bot-client-btn-new-technical")).await;
    assert!(form.text.contains(&t(l, "bot-ask-problem")), "no client search for a client: {}", form.text);
    client.say("Internet umuman ishlamayapti").await;
    client.press("🏠").await;
    client.press(&t(l, "bot-btn-skip")).await;
    let preview = client.last();
    assert!(!preview.labels().contains(&t(l, "bot-btn-edit-client")), "a client's application is for themselves");
    client.press(&t(l, "bot-btn-confirm")).await;
    let id: ApplicationId = wait_for_application(&test, 5203).await;
    wait_state(&test, id, State::AwaitingController).await;
    let (source, staff_created): (String, bool) =
        sqlx::query_as("SELECT creation_source, created_by_staff FROM service_requests WHERE id = $1").bind(id.0).fetch_one(&test.env.pool).await.expect("row");
    assert_eq!((source.as_str(), staff_created), ("client", false));
    let number = number_of(&test, id).await;

    // The controller finds it among the applications waiting for controllers.
    let waiting = ctl.say(&t(Locale::Ru, "bot-btn-waiting")).await;
    assert!(waiting.text.contains(&format!("№{number}")) && waiting.text.contains(&t(Locale::Ru, "bot-app-by-client")), "{}", waiting.text);
    ctl.press(&format!("№{number}")).await;
    act(&ctl, Locale::Ru, TransitionName::Assign).await;
    ctl.press("Техник Олег").await;
    wait_state(&test, id, State::Assigned).await;
    open_from_notification(&tech_u, number).await;
    act(&tech_u, Locale::Ru, TransitionName::Start).await;
    wait_state(&test, id, State::InProgress).await;
    tech_u.say(&format!("/app {number}")).await;
    act(&tech_u, Locale::Ru, TransitionName::Complete).await;
    tech_u.say("Заменён кабель в подъезде").await;
    wait_state(&test, id, State::Completed).await;

    // The client follows it in "my applications" and rates it without a comment.
    let mine = client.say(&t(l, "bot-client-btn-my-applications")).await;
    assert!(mine.text.contains(&format!("№{number}")) && mine.text.contains(&state(l, State::Completed)), "{}", mine.text);
    client.press_notification("r|", "4").await;
    client.press(&t(l, "bot-btn-skip")).await;
    wait_state(&test, id, State::Rated).await;
    let rating: Option<i16> = sqlx::query_scalar("SELECT rating FROM service_requests WHERE id = $1").bind(id.0).fetch_one(&test.env.pool).await.expect("rating");
    assert_eq!(rating, Some(4));
    wait_notified_with(&test, 5202, "wf-rate-participant").await;
    test.cleanup().await;
}

/// The application a client created in the bot (the bot answers with its id).
async fn wait_for_application(test: &BotTest, chat: i64) -> ApplicationId {
    let find = || async {
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM service_requests WHERE creator_telegram_id = $1")
            .bind(chat)
            .fetch_optional(&test.env.pool)
            .await
            .expect("query")
    };
    wait_until("the client's application is stored", || async { find().await.is_some() }).await;
    ApplicationId(find().await.expect("an application"))
}

#[tokio::test]
async fn two_managers_assigning_at_the_same_moment_leave_one_assignment_and_the_other_is_told() {
    let test = BotTest::start().await;
    let l = Locale::Uz;
    test.env.staff(5301, Role::Manager, l).await;
    test.env.staff(5302, Role::Manager, l).await;
    for (uid, name) in [(5303, "Texnik Bir"), (5304, "Texnik Ikki")] {
        let tech = test.env.staff(uid, Role::Technician, l).await;
        sqlx::query("UPDATE staff SET full_name = $2 WHERE id = $1").bind(tech.id).bind(name).execute(&test.env.pool).await.expect("name");
    }
    test.env.client("Mijoz Test7", "+998930000007", None, l).await;
    let (a, b) = (test.staffer(5301, "uz"), test.staffer(5302, "uz"));
    let id = create(&a, l, ApplicationKind::Connection, Path::Phone, 7).await;
    wait_state(&test, id, State::AwaitingManager).await;
    let number = number_of(&test, id).await;
    for (m, tech) in [(&a, "Texnik Bir"), (&b, "Texnik Ikki")] {
        m.say(&t(l, "bot-btn-waiting")).await;
        m.press(&format!("№{number}")).await;
        act(m, l, TransitionName::Assign).await;
        assert!(m.last().labels().iter().any(|b| b.contains(tech)), "{:?}", m.last().labels());
    }
    tokio::join!(a.press("Texnik Bir"), b.press("Texnik Ikki"));
    wait_state(&test, id, State::Assigned).await;
    // Whoever lost is told, either by the bot (it saw the change) or by the workflow stage.
    let changed = ta(l, "bot-app-changed", &[("number", json!(number)), ("state", json!(state(l, State::Assigned)))]);
    let stale = ta(l, "error-transition-stale", &[("state", json!("assigned")), ("expected", json!("awaiting_manager"))]);
    let told = |m: &Staffer<'_>| m.screens().iter().any(|s| s.text.contains(&changed) || s.text.contains(&stale));
    wait_until("the second manager is told", || async { told(&a) || told(&b) }).await;
    // Let any late refusal or duplicate land, then count.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        test.env.count_for("SELECT count(*) FROM workflow_transitions WHERE application_id = $1 AND transition = 'assign'", id).await,
        1,
        "one assignment"
    );
    assert!(!(told(&a) && told(&b)), "only the second is told it was too late");
    // The stale button of the first card, pressed again, changes nothing and says so.
    let old = a.screens().into_iter().rev().find(|s| s.labels().iter().any(|l| l.contains("Texnik Bir"))).expect("the pick screen");
    let (_, data) = old.button("Texnik Bir").cloned().expect("button");
    let pressed = a.press_data(&data, old.message_id).await;
    assert_eq!(pressed.toast.as_deref(), Some(t(l, "bot-stale-button").as_str()));
    test.cleanup().await;
}
