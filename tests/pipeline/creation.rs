//! Creating applications: every permitted role and kind, rejections, and the content of the
//! notifications in each recipient's language.

use crate::support::{TestEnv, new_client, request, wait_until};
use ariza_shared::domain::{ApplicationKind, ClientRef, Locale, Role};
use ariza_shared::permissions::ROLE_PERMISSIONS;

#[tokio::test]
async fn every_permitted_role_creates_every_kind_it_may() {
    let env = TestEnv::start().await;
    let manager_participant = env.staff(500, Role::Manager, Locale::Ru).await;
    let controller_participant = env.staff(501, Role::Controller, Locale::Uz).await;
    let mut apps = Vec::new();
    let mut n = 0;
    for perms in ROLE_PERMISSIONS.iter().filter(|p| p.role.is_staff()) {
        for (i, kind) in perms.create.iter().enumerate() {
            n += 1;
            let telegram_id = 1000 + i64::from(n);
            let lang = if n % 2 == 0 { Locale::Uz } else { Locale::Ru };
            env.staff(telegram_id, perms.role, lang).await;
            let req = request(*kind, telegram_id, perms.role, new_client(n));
            env.submit(&req).await;
            apps.push((req, telegram_id, lang, i));
        }
    }
    assert!(apps.len() >= 7, "manager, controller and call centre make two each, a junior manager one");
    let ids: Vec<_> = apps.iter().map(|(r, ..)| r.application_id).collect();
    env.wait_notified(&ids).await;

    for (req, creator_tg, lang, _) in &apps {
        let id = req.application_id;
        assert_eq!(env.count_for("SELECT count(*) FROM service_requests WHERE id = $1", id).await, 1);
        assert_eq!(env.count_for("SELECT count(*) FROM staff_application_audit WHERE application_id = $1", id).await, 1);
        assert_eq!(env.count_for("SELECT count(*) FROM client_selection_data WHERE application_id = $1", id).await, 1);
        let (state, by_staff, role, source): (String, bool, Option<String>, String) = sqlx::query_as(
            "SELECT state, created_by_staff, staff_creator_role, creation_source FROM service_requests WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(&env.pool)
        .await
        .expect("row");
        let expected_state = match req.kind {
            ApplicationKind::Connection => "awaiting_manager",
            ApplicationKind::Technical => "awaiting_controller",
        };
        assert_eq!(state, expected_state);
        assert!(by_staff);
        assert_eq!(role.as_deref(), Some(req.creator.role.as_str()));
        assert_eq!(source, "staff");
        let (transition, actor): (String, Option<i64>) = sqlx::query_as(
            "SELECT t.transition, (t.data->>'staff_creator_id')::bigint FROM workflow_transitions t WHERE application_id = $1",
        )
        .bind(id.0)
        .fetch_one(&env.pool)
        .await
        .expect("one transition");
        assert_eq!(transition, "route");
        assert!(actor.is_some(), "the staff creator's identity is in the workflow data");

        // The creator hears in their own language.
        let number: i64 = sqlx::query_scalar("SELECT number FROM service_requests WHERE id = $1").bind(id.0).fetch_one(&env.pool).await.expect("n");
        let to_creator: Vec<_> = env.bot.sent_messages().into_iter().filter(|m| m.chat_id == *creator_tg).collect();
        let expected_word = if *lang == Locale::Ru { "зарегистрирована" } else { "ro'yxatga olindi" };
        assert!(
            to_creator.iter().any(|m| m.text.contains(&format!("№{number}")) && m.text.contains(expected_word)),
            "creator {creator_tg} ({lang}) got: {to_creator:?}"
        );
        // The client has no Telegram chat yet: their notification waits for a link.
        assert_eq!(
            env.count_for("SELECT count(*) FROM notifications WHERE application_id = $1 AND recipient_kind = 'client' AND status = 'waiting_link'", id).await,
            1
        );
    }
    // Participants: every routed application went to all active staff of its role, in their language.
    let to_managers = env.bot.sent_messages().into_iter().filter(|m| m.chat_id == manager_participant.telegram_id).count();
    let to_controllers: Vec<_> =
        env.bot.sent_messages().into_iter().filter(|m| m.chat_id == controller_participant.telegram_id).collect();
    let connections = apps.iter().filter(|(r, ..)| r.kind == ApplicationKind::Connection).count();
    let technicals = apps.iter().filter(|(r, ..)| r.kind == ApplicationKind::Technical).count();
    assert_eq!(to_managers, connections);
    assert_eq!(to_controllers.len(), technicals);
    assert!(to_controllers.iter().all(|m| m.text.contains("Yangi texnik xizmat arizasi") && m.text.contains("xodim")), "{to_controllers:?}");
    env.cleanup().await;
}

#[tokio::test]
async fn a_linked_client_is_told_in_their_language_that_staff_created_it() {
    let env = TestEnv::start().await;
    env.staff(2001, Role::CallCentreOperator, Locale::Uz).await;
    let client = env.client("Nodira Aliyeva", "+998935554433", Some(77_001), Locale::Ru).await;
    let req = request(ApplicationKind::Connection, 2001, Role::CallCentreOperator, ClientRef::Existing { client_id: client, update: None });
    env.submit(&req).await;
    env.wait_notified(&[req.application_id]).await;
    let to_client: Vec<_> = env.bot.sent_messages().into_iter().filter(|m| m.chat_id == 77_001).collect();
    assert_eq!(to_client.len(), 1, "{to_client:?}");
    assert!(to_client[0].text.contains("Ваша заявка на подключение"), "{}", to_client[0].text);
    assert!(to_client[0].text.contains("создал для вас наш сотрудник"), "{}", to_client[0].text);
    // The row keeps the id Telegram gave the message, and the request asked for no link preview.
    let stored: Option<i64> = sqlx::query_scalar(
        "SELECT telegram_message_id FROM notifications WHERE application_id = $1 AND recipient_kind = 'client' AND status = 'sent'",
    )
    .bind(req.application_id.0)
    .fetch_one(&env.pool)
    .await
    .expect("the client's notification");
    assert_eq!(stored, Some(to_client[0].message_id));
    let call = env.bot.calls_of("sendMessage").into_iter().find(|c| c.body["chat_id"] == 77_001).expect("the call");
    assert_eq!(call.body["link_preview_options"]["is_disabled"], true, "{:?}", call.body);
    let method: String = sqlx::query_scalar("SELECT selection_method FROM client_selection_data WHERE application_id = $1")
        .bind(req.application_id.0)
        .fetch_one(&env.pool)
        .await
        .expect("selection");
    assert_eq!(method, "existing");
    env.cleanup().await;
}

#[tokio::test]
async fn a_junior_managers_technical_request_is_rejected_with_its_reason() {
    let env = TestEnv::start().await;
    env.staff(3001, Role::JuniorManager, Locale::Uz).await;
    let req = request(ApplicationKind::Technical, 3001, Role::JuniorManager, new_client(1));
    env.submit(&req).await;
    wait_until("the rejection is stored and told", || async {
        env.count("SELECT count(*) FROM notifications WHERE status = 'sent'").await == 1
    })
    .await;
    assert_eq!(env.count("SELECT count(*) FROM service_requests").await, 0, "a rejected request makes no application");
    assert_eq!(env.count("SELECT count(*) FROM clients").await, 0);
    let reason: String = sqlx::query_scalar("SELECT reason_key FROM rejected_requests WHERE application_id = $1")
        .bind(req.application_id.0)
        .fetch_one(&env.pool)
        .await
        .expect("rejected row");
    assert_eq!(reason, "error-permission-create");
    let told = env.bot.sent_messages();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].chat_id, 3001);
    assert!(told[0].text.contains("Ariza yaratilmadi") && told[0].text.contains("kichik menejer"), "{}", told[0].text);
    assert_eq!(env.count("SELECT count(*) FROM dead_letters").await, 0, "a rejection is not a dead letter");
    env.cleanup().await;
}

#[tokio::test]
async fn a_message_claiming_a_role_its_creator_does_not_have_is_rejected() {
    let env = TestEnv::start().await;
    env.staff(3101, Role::JuniorManager, Locale::Ru).await;
    env.staff(3102, Role::Technician, Locale::Uz).await;
    // A junior manager's client forges "manager" to create a technical request.
    let forged = request(ApplicationKind::Technical, 3101, Role::Manager, new_client(2));
    // A stranger claims to be a manager.
    let stranger = request(ApplicationKind::Connection, 9_999_999, Role::Manager, new_client(3));
    // A technician (a real staff member) claims nothing false but may not create at all.
    let technician = request(ApplicationKind::Connection, 3102, Role::Technician, new_client(4));
    for req in [&forged, &stranger, &technician] {
        env.submit(req).await;
    }
    wait_until("three rejections", || async { env.count("SELECT count(*) FROM rejected_requests").await == 3 }).await;
    let reasons: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT application_id, reason_key FROM rejected_requests").fetch_all(&env.pool).await.expect("rows");
    let reason_of = |id: uuid::Uuid| reasons.iter().find(|(a, _)| *a == id).map(|(_, r)| r.clone());
    assert_eq!(reason_of(forged.application_id.0).as_deref(), Some("error-role-mismatch"));
    assert_eq!(reason_of(stranger.application_id.0).as_deref(), Some("error-unknown-staff"));
    assert_eq!(reason_of(technician.application_id.0).as_deref(), Some("error-permission-create"));
    assert_eq!(env.count("SELECT count(*) FROM service_requests").await, 0);
    // The forger is told (in Russian); the stranger is not written to.
    wait_until("two rejection notices", || async { env.bot.sent_messages().len() == 2 }).await;
    let to_forger: Vec<_> = env.bot.sent_messages().into_iter().filter(|m| m.chat_id == 3101).collect();
    assert!(to_forger[0].text.contains("Роль в запросе не совпадает"), "{}", to_forger[0].text);
    assert!(env.bot.sent_messages().iter().all(|m| m.chat_id != 9_999_999));
    env.cleanup().await;
}

#[tokio::test]
async fn two_requests_registering_the_same_new_phone_end_with_one_client() {
    let env = TestEnv::start().await;
    env.staff(4001, Role::Manager, Locale::Uz).await;
    env.staff(4002, Role::Controller, Locale::Uz).await;
    let a = request(ApplicationKind::Connection, 4001, Role::Manager, new_client(55));
    let b = request(ApplicationKind::Technical, 4002, Role::Controller, new_client(55));
    tokio::join!(env.submit(&a), env.submit(&b));
    env.wait_notified(&[a.application_id, b.application_id]).await;
    assert_eq!(env.count("SELECT count(*) FROM clients").await, 1);
    assert_eq!(env.count("SELECT count(DISTINCT client_id) FROM service_requests").await, 1);
    let methods: Vec<String> = sqlx::query_scalar("SELECT selection_method FROM client_selection_data ORDER BY selection_method")
        .fetch_all(&env.pool)
        .await
        .expect("rows");
    assert_eq!(methods, ["new", "new_matched_existing"]);
    env.cleanup().await;
}

#[tokio::test]
async fn a_client_creates_their_own_application() {
    let env = TestEnv::start().await;
    env.staff(5001, Role::Manager, Locale::Uz).await;
    let mut req = request(ApplicationKind::Connection, 88_001, Role::Client, new_client(77));
    if let ClientRef::New(data) = &mut req.client {
        data.language = Some(Locale::Ru);
    }
    env.submit(&req).await;
    env.wait_notified(&[req.application_id]).await;
    let (source, by_staff): (String, bool) =
        sqlx::query_as("SELECT creation_source, created_by_staff FROM service_requests WHERE id = $1")
            .bind(req.application_id.0)
            .fetch_one(&env.pool)
            .await
            .expect("row");
    assert_eq!((source.as_str(), by_staff), ("client", false));
    let to_client: Vec<_> = env.bot.sent_messages().into_iter().filter(|m| m.chat_id == 88_001).collect();
    assert_eq!(to_client.len(), 1);
    assert!(to_client[0].text.contains("Ваша заявка") && !to_client[0].text.contains("сотрудник"), "{}", to_client[0].text);
    let to_manager: Vec<_> = env.bot.sent_messages().into_iter().filter(|m| m.chat_id == 5001).collect();
    assert!(to_manager[0].text.contains("Mijozning o'zi yaratgan"), "{}", to_manager[0].text);
    env.cleanup().await;
}
