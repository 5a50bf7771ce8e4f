//! An application's whole life through the pipeline: creation, route, assign, start, complete and
//! rate, for staff-created and client-created applications, with every notification checked
//! (chat, language, content, buttons); refusals (illegal, stale, forged); the same action delivered
//! twice; two managers assigning at once; a client staff registered earlier linking their chat.

mod world;

use crate::support::{new_client, request, wait_until};
use ariza_fake_bot_api::SentMessage;
use ariza_shared::domain::{ApplicationId, ApplicationKind, ClientRef, ClientRegistration, GlobalAction, Locale, Role, WorkflowCommand};
use ariza_shared::topology::Stage;
use ariza_shared::workflow::{State, TransitionName};
use world::{World, assert_no_buttons, assert_open_button, assert_rating_buttons, buttons, registration, say, transition};

/// The people of one application's life, with their chats and languages.
struct Cast {
    client: (i64, Locale),
    /// The staff member who created it, if staff did.
    creator: Option<(i64, Locale)>,
    /// The manager or controller who gets it and assigns it (not the creator).
    participant: (i64, Role, Locale),
    technician: (i64, Locale),
    technician_id: i64,
}

/// Walks a routed application through assign, start, complete and rate, checking every message.
async fn walk_to_rating(w: &mut World, app: ApplicationId, cast: &Cast) {
    let number = w.number(app).await;
    let n = format!("№{number}");
    let (client, client_lang) = cast.client;
    let (participant, participant_role, participant_lang) = cast.participant;
    let (tech, tech_lang) = cast.technician;
    let routed = w.state(app).await.parse::<State>().expect("a state");
    let staff_made = cast.creator.is_some();

    // assign: the client, the creator, the technician (with "Open"); the participant is confirmed.
    let mut assign = transition(app, TransitionName::Assign, participant, participant_role, routed);
    assign.assignee_staff_id = Some(cast.technician_id);
    w.act(&assign).await;
    let mut expected = vec![
        (client, vec![&n, say(client_lang, "назначена технику", "texnikka biriktirildi")]),
        (tech, vec![&n, say(tech_lang, "Вам назначена заявка", "Sizga ariza")]),
        (participant, vec![&n, say(participant_lang, "Принято: назначение техника", "Qabul qilindi: texnik biriktirish")]),
    ];
    if staff_made {
        expected[0].1.push(say(client_lang, "Заявку создал для вас наш сотрудник", "Arizani siz uchun xodimimiz yaratgan"));
        expected[1].1.push(say(tech_lang, "Создана сотрудником для клиента", "Mijoz uchun xodim yaratgan"));
    }
    if let Some((creator, lang)) = cast.creator {
        expected.push((creator, vec![&n, say(lang, "назначена технику", "texnikka biriktirildi")]));
    }
    let got = w.expect(&expected);
    assert_open_button(&got[&tech], app, tech_lang);
    assert_no_buttons(&got, &[client, participant]);
    if !staff_made {
        assert!(!got[&client].text.contains(say(client_lang, "сотрудник", "xodim")), "{:?}", got[&client].text);
    }
    assert_eq!(w.state(app).await, "assigned");
    let assigned: Option<i64> =
        sqlx::query_scalar("SELECT assigned_staff_id FROM service_requests WHERE id = $1").bind(app.0).fetch_one(&w.env.pool).await.expect("row");
    assert_eq!(assigned, Some(cast.technician_id));

    // start: the client and the creator; the technician is confirmed.
    w.act(&transition(app, TransitionName::Start, tech, Role::Technician, State::Assigned)).await;
    let mut expected = vec![
        (client, vec![&n, say(client_lang, "начаты работы", "ish boshlandi")]),
        (tech, vec![&n, say(tech_lang, "Принято: начало работ", "Qabul qilindi: ishni boshlash")]),
    ];
    if let Some((creator, lang)) = cast.creator {
        expected.push((creator, vec![&n, say(lang, "начаты работы", "ish boshlandi")]));
    }
    w.expect(&expected);
    assert_eq!(w.state(app).await, "in_progress");

    // complete: the client gets the rating buttons.
    let mut complete = transition(app, TransitionName::Complete, tech, Role::Technician, State::InProgress);
    complete.comment = Some("Router almashtirildi, kabel tortildi".into());
    w.act(&complete).await;
    let mut expected = vec![
        (client, vec![&n, say(client_lang, "выполнена. Пожалуйста, оцените работу", "bajarildi. Iltimos, ishni baholang")]),
        (tech, vec![&n, say(tech_lang, "Принято: завершение работ", "Qabul qilindi: ishni yakunlash")]),
    ];
    if staff_made {
        expected[0].1.push(say(client_lang, "созданная для вас нашим сотрудником", "Siz uchun xodimimiz yaratgan arizangiz"));
    }
    if let Some((creator, lang)) = cast.creator {
        expected.push((creator, vec![&n, say(lang, "выполнена", "bajarildi")]));
    }
    let got = w.expect(&expected);
    assert_rating_buttons(&got[&client], app);
    assert_no_buttons(&got, &[tech]);
    let report: Option<String> = sqlx::query_scalar("SELECT completion_report FROM service_requests WHERE id = $1 AND completed_at IS NOT NULL")
        .bind(app.0)
        .fetch_one(&w.env.pool)
        .await
        .expect("completed");
    assert_eq!(report.as_deref(), Some("Router almashtirildi, kabel tortildi"));

    // rate, as the button's callback data says: the creator and the technician hear the score.
    let Some(GlobalAction::Rate(rated_app, score)) = GlobalAction::parse(&buttons(&got[&client])[0][3].1) else {
        panic!("the fourth button rates")
    };
    assert_eq!((rated_app, score), (app, 4));
    let mut rate = transition(app, TransitionName::Rate, client, Role::Client, State::Completed);
    rate.rating = Some(score);
    rate.comment = Some("Tez va sifatli".into());
    w.act(&rate).await;
    let mut expected = vec![
        (tech, vec![&n, "4", say(tech_lang, "оценил выполненную вами заявку", "siz bajargan ariza")]),
        (client, vec![&n, say(client_lang, "Принято: оценка", "Qabul qilindi: baholash")]),
    ];
    if let Some((creator, lang)) = cast.creator {
        expected.push((creator, vec![&n, "4", say(lang, "Клиент оценил заявку", "ballga baholadi")]));
    }
    w.expect(&expected);
    let (state, rating, comment): (String, Option<i16>, Option<String>) =
        sqlx::query_as("SELECT state, rating, rating_comment FROM service_requests WHERE id = $1 AND rated_at IS NOT NULL")
            .bind(app.0)
            .fetch_one(&w.env.pool)
            .await
            .expect("rated");
    assert_eq!((state.as_str(), rating, comment.as_deref()), ("rated", Some(4), Some("Tez va sifatli")));

    // Every step is in the history, with who took it in which role.
    let history: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT transition, from_state, to_state, actor_role FROM workflow_transitions WHERE application_id = $1 ORDER BY id",
    )
    .bind(app.0)
    .fetch_all(&w.env.pool)
    .await
    .expect("history");
    let steps: Vec<(&str, &str, &str)> = history.iter().map(|(t, f, to, _)| (t.as_str(), f.as_str(), to.as_str())).collect();
    assert_eq!(
        steps[1..],
        [
            ("assign", routed.as_str(), "assigned"),
            ("start", "assigned", "in_progress"),
            ("complete", "in_progress", "completed"),
            ("rate", "completed", "rated"),
        ]
    );
    let roles: Vec<&str> = history.iter().map(|h| h.3.as_str()).skip(1).collect();
    assert_eq!(roles, [participant_role.as_str(), "technician", "technician", "client"]);
    assert_eq!(w.count("SELECT count(*) FROM workflow_refusals WHERE application_id = $1", app).await, 0);
    assert_eq!(w.env.count("SELECT count(*) FROM dead_letters").await, 0);
}

#[tokio::test]
async fn a_staff_created_connection_request_goes_from_creation_to_rating() {
    let mut w = World::start().await;
    w.env.staff(100, Role::Manager, Locale::Ru).await;
    w.env.staff(101, Role::Manager, Locale::Uz).await;
    let tech = w.env.staff(200, Role::Technician, Locale::Uz).await;
    let client = w.env.client("Nodira Aliyeva", "+998935554433", Some(7001), Locale::Ru).await;
    let req = request(ApplicationKind::Connection, 100, Role::Manager, ClientRef::Existing { client_id: client, update: None });
    let app = req.application_id;
    w.env.submit(&req).await;
    w.env.wait_notified(&[app]).await;

    let n = format!("№{}", w.number(app).await);
    let got = w.expect(&[
        (7001, vec![&n, "Ваша заявка на подключение", "Её создал для вас наш сотрудник"]),
        (100, vec![&n, "созданная вами для клиента Nodira Aliyeva"]),
        (101, vec![&n, "Yangi ulanish arizasi", "Mijoz uchun xodim (menejer) yaratgan"]),
    ]);
    assert_open_button(&got[&101], app, Locale::Uz);
    assert_no_buttons(&got, &[7001, 100]);

    let cast = Cast {
        client: (7001, Locale::Ru),
        creator: Some((100, Locale::Ru)),
        participant: (101, Role::Manager, Locale::Uz),
        technician: (200, Locale::Uz),
        technician_id: tech.id,
    };
    walk_to_rating(&mut w, app, &cast).await;
    w.env.cleanup().await;
}

#[tokio::test]
async fn a_staff_created_technical_request_goes_from_creation_to_rating() {
    let mut w = World::start().await;
    w.env.staff(400, Role::CallCentreOperator, Locale::Uz).await;
    w.env.staff(300, Role::Controller, Locale::Ru).await;
    let tech = w.env.staff(201, Role::Technician, Locale::Ru).await;
    let client = w.env.client("Sardor Rahimov", "+998901112233", Some(7002), Locale::Uz).await;
    let req = request(ApplicationKind::Technical, 400, Role::CallCentreOperator, ClientRef::Existing { client_id: client, update: None });
    let app = req.application_id;
    w.env.submit(&req).await;
    w.env.wait_notified(&[app]).await;

    let n = format!("№{}", w.number(app).await);
    let got = w.expect(&[
        (7002, vec![&n, "texnik xizmat arizangiz", "Uni siz uchun xodimimiz yaratdi"]),
        (400, vec![&n, "Sardor Rahimov uchun yaratgan", "nazoratchilarga"]),
        (300, vec![&n, "Новая заявка на техобслуживание", "Создана сотрудником (оператор колл-центра) для клиента"]),
    ]);
    assert_open_button(&got[&300], app, Locale::Ru);

    let cast = Cast {
        client: (7002, Locale::Uz),
        creator: Some((400, Locale::Uz)),
        participant: (300, Role::Controller, Locale::Ru),
        technician: (201, Locale::Ru),
        technician_id: tech.id,
    };
    walk_to_rating(&mut w, app, &cast).await;
    w.env.cleanup().await;
}

#[tokio::test]
async fn a_client_created_application_takes_the_same_path() {
    let mut w = World::start().await;
    w.env.staff(102, Role::Manager, Locale::Ru).await;
    let tech = w.env.staff(202, Role::Technician, Locale::Uz).await;
    w.register(7003, "Malika Yusupova", "93 444 55 66", Locale::Ru).await;
    let welcome = w.expect(&[(7003, vec!["Malika Yusupova", "вы зарегистрированы"])]);
    let keyboard = welcome[&7003].reply_markup.clone().expect("the client menu");
    assert_eq!(keyboard["keyboard"].as_array().map(Vec::len), Some(2), "{keyboard}");
    let client: i64 = sqlx::query_scalar("SELECT id FROM clients WHERE telegram_chat_id = 7003").fetch_one(&w.env.pool).await.expect("client");

    let req = request(ApplicationKind::Connection, 7003, Role::Client, ClientRef::Existing { client_id: client, update: None });
    let app = req.application_id;
    w.env.submit(&req).await;
    w.env.wait_notified(&[app]).await;
    let (source, by_staff): (String, bool) = sqlx::query_as("SELECT creation_source, created_by_staff FROM service_requests WHERE id = $1")
        .bind(app.0)
        .fetch_one(&w.env.pool)
        .await
        .expect("row");
    assert_eq!((source.as_str(), by_staff), ("client", false));
    let n = format!("№{}", w.number(app).await);
    let got = w.expect(&[(7003, vec![&n, "Ваша заявка на подключение"]), (102, vec![&n, "Новая заявка", "Создана самим клиентом"])]);
    assert!(!got[&7003].text.contains("сотрудник"), "{}", got[&7003].text);
    assert_open_button(&got[&102], app, Locale::Ru);

    let cast = Cast {
        client: (7003, Locale::Ru),
        creator: None,
        participant: (102, Role::Manager, Locale::Ru),
        technician: (202, Locale::Uz),
        technician_id: tech.id,
    };
    walk_to_rating(&mut w, app, &cast).await;
    w.env.cleanup().await;
}

/// A staff-created connection request, routed, with its notifications seen.
async fn routed_connection(w: &mut World, creator: i64, client_chat: Option<i64>) -> ApplicationId {
    let client = w.env.client("Kamola Ergasheva", "+998977771122", client_chat, Locale::Uz).await;
    let req = request(ApplicationKind::Connection, creator, Role::Manager, ClientRef::Existing { client_id: client, update: None });
    w.env.submit(&req).await;
    w.env.wait_notified(&[req.application_id]).await;
    w.new_messages();
    req.application_id
}

#[tokio::test]
async fn an_illegal_transition_is_refused_and_the_actor_told() {
    let mut w = World::start().await;
    w.env.staff(110, Role::Manager, Locale::Ru).await;
    let tech = w.env.staff(210, Role::Technician, Locale::Ru).await;
    let app = routed_connection(&mut w, 110, Some(7010)).await;
    let mut assign = transition(app, TransitionName::Assign, 110, Role::Manager, State::AwaitingManager);
    assign.assignee_staff_id = Some(tech.id);
    w.act(&assign).await;
    w.new_messages();

    // Completing work that was never started.
    let mut complete = transition(app, TransitionName::Complete, 210, Role::Technician, State::Assigned);
    complete.comment = Some("Bajarildi".into());
    w.act(&complete).await;
    let n = format!("№{}", w.number(app).await);
    w.expect(&[(210, vec![&n, "«завершение работ»", "не выполнено", "невозможно в текущем состоянии"])]);
    assert_eq!(w.refusal_reason(complete.request_id).await, "error-transition-illegal");
    assert_eq!(w.state(app).await, "assigned", "nothing changed");
    assert_eq!(w.count("SELECT count(*) FROM workflow_transitions WHERE application_id = $1", app).await, 2);
    assert_eq!(w.count("SELECT count(*) FROM service_requests WHERE id = $1 AND completed_at IS NULL", app).await, 1);

    // A cancellation without a reason is refused by the field rules.
    let cancel = transition(app, TransitionName::Cancel, 110, Role::Manager, State::Assigned);
    w.act(&cancel).await;
    w.expect(&[(110, vec![&n, "«отмена»", "Укажите причину"])]);
    assert_eq!(w.refusal_reason(cancel.request_id).await, "error-reason-empty");
    assert_eq!(w.state(app).await, "assigned");
    assert_eq!(w.env.count("SELECT count(*) FROM dead_letters").await, 0, "a refusal is not a dead letter");
    w.env.cleanup().await;
}

#[tokio::test]
async fn the_same_transition_delivered_twice_applies_once() {
    let mut w = World::start().await;
    w.env.staff(120, Role::Manager, Locale::Uz).await;
    let tech = w.env.staff(220, Role::Technician, Locale::Uz).await;
    let app = routed_connection(&mut w, 120, Some(7020)).await;
    let mut assign = transition(app, TransitionName::Assign, 120, Role::Manager, State::AwaitingManager);
    assign.assignee_staff_id = Some(tech.id);
    let command = WorkflowCommand::Transition(assign.clone());
    w.publish(&command).await;
    w.publish(&command).await;
    // Route, then the assignment twice: three workflow messages, three notification batches.
    wait_until("both deliveries went through both stages", || async {
        w.finished.count(Stage::Workflow, Some(app)) == 3 && w.finished.count(Stage::Notification, Some(app)) == 3
    })
    .await;
    w.settled(assign.request_id, &["pending"]).await;
    assert_eq!(w.count("SELECT count(*) FROM workflow_transitions WHERE application_id = $1 AND transition = 'assign'", app).await, 1);
    assert_eq!(w.count("SELECT count(*) FROM workflow_refusals WHERE application_id = $1", app).await, 0);
    // The client, the technician, the creator (who assigned it: one message, as the creator).
    w.expect(&[(7020, vec!["texnikka biriktirildi"]), (220, vec!["Sizga ariza"]), (120, vec!["texnikka biriktirildi"])]);
    // Route: the client and the creator (the only manager); the assignment: three.
    assert_eq!(w.env.count("SELECT count(*) FROM notifications WHERE status = 'sent'").await, 2 + 3);
    w.env.cleanup().await;
}

#[tokio::test]
async fn two_managers_assigning_at_once_leave_one_assignment_and_tell_the_other() {
    let mut w = World::start().await;
    w.env.staff(130, Role::Manager, Locale::Ru).await;
    w.env.staff(131, Role::Manager, Locale::Uz).await;
    let first = w.env.staff(230, Role::Technician, Locale::Ru).await;
    let second = w.env.staff(231, Role::Technician, Locale::Ru).await;
    let app = routed_connection(&mut w, 130, Some(7030)).await;
    let mut a = transition(app, TransitionName::Assign, 130, Role::Manager, State::AwaitingManager);
    a.assignee_staff_id = Some(first.id);
    let mut b = transition(app, TransitionName::Assign, 131, Role::Manager, State::AwaitingManager);
    b.assignee_staff_id = Some(second.id);
    let (command_a, command_b) = (WorkflowCommand::Transition(a.clone()), WorkflowCommand::Transition(b.clone()));
    tokio::join!(w.publish(&command_a), w.publish(&command_b));
    w.settled(a.request_id, &["pending"]).await;
    w.settled(b.request_id, &["pending"]).await;

    assert_eq!(w.count("SELECT count(*) FROM workflow_transitions WHERE application_id = $1 AND transition = 'assign'", app).await, 1);
    let winner: i64 = sqlx::query_scalar("SELECT actor_staff_id FROM workflow_transitions WHERE application_id = $1 AND transition = 'assign'")
        .bind(app.0)
        .fetch_one(&w.env.pool)
        .await
        .expect("the assignment");
    let winner_tg: i64 = sqlx::query_scalar("SELECT telegram_id FROM staff WHERE id = $1").bind(winner).fetch_one(&w.env.pool).await.expect("staff");
    let (won, lost) = if winner_tg == 130 { (&a, &b) } else { (&b, &a) };
    let assigned: Option<i64> =
        sqlx::query_scalar("SELECT assigned_staff_id FROM service_requests WHERE id = $1").bind(app.0).fetch_one(&w.env.pool).await.expect("row");
    assert_eq!(assigned, won.assignee_staff_id, "the first assignment stands");
    assert_eq!(w.refusal_reason(lost.request_id).await, "error-transition-stale");
    let (expected, actual): (String, Option<String>) = sqlx::query_as("SELECT expected_state, actual_state FROM workflow_refusals WHERE request_id = $1")
        .bind(lost.request_id.0)
        .fetch_one(&w.env.pool)
        .await
        .expect("refusal");
    assert_eq!((expected.as_str(), actual.as_deref()), ("awaiting_manager", Some("assigned")));
    let told: Vec<SentMessage> = w.new_messages().into_iter().filter(|m| m.chat_id == lost.actor.telegram_id).collect();
    let stale = if lost.actor.telegram_id == 131 { "Ariza allaqachon o'zgargan" } else { "Заявка уже изменилась" };
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].text.contains(stale), "{}", told[0].text);
    w.env.cleanup().await;
}

#[tokio::test]
async fn a_forged_role_is_refused() {
    let mut w = World::start().await;
    w.env.staff(140, Role::Manager, Locale::Ru).await;
    let tech = w.env.staff(240, Role::Technician, Locale::Ru).await;
    let app = routed_connection(&mut w, 140, Some(7040)).await;
    // A technician claims to be a manager to assign work to themselves.
    let mut forged = transition(app, TransitionName::Assign, 240, Role::Manager, State::AwaitingManager);
    forged.assignee_staff_id = Some(tech.id);
    w.act(&forged).await;
    w.expect(&[(240, vec!["«назначение техника»", "Роль в запросе не совпадает"])]);
    assert_eq!(w.refusal_reason(forged.request_id).await, "error-role-mismatch");
    // A stranger claiming a role is not written to, and changes nothing either.
    let mut stranger = transition(app, TransitionName::Assign, 9_999_001, Role::Manager, State::AwaitingManager);
    stranger.assignee_staff_id = Some(tech.id);
    w.act(&stranger).await;
    assert_eq!(w.refusal_reason(stranger.request_id).await, "error-unknown-staff");
    assert!(w.new_messages().is_empty());
    assert_eq!(w.state(app).await, "awaiting_manager");
    assert_eq!(w.count("SELECT count(*) FROM service_requests WHERE id = $1 AND assigned_staff_id IS NULL", app).await, 1);
    w.env.cleanup().await;
}

#[tokio::test]
async fn a_client_staff_registered_links_their_chat_and_gets_the_waiting_notifications_once() {
    let mut w = World::start().await;
    w.env.staff(150, Role::Manager, Locale::Uz).await;
    let tech = w.env.staff(250, Role::Technician, Locale::Uz).await;
    // Staff register a new client (no chat) with a connection request, then assign it.
    let req = request(ApplicationKind::Connection, 150, Role::Manager, new_client(4242));
    let app = req.application_id;
    w.env.submit(&req).await;
    w.env.wait_notified(&[app]).await;
    let mut assign = transition(app, TransitionName::Assign, 150, Role::Manager, State::AwaitingManager);
    assign.assignee_staff_id = Some(tech.id);
    w.act(&assign).await;
    w.new_messages();
    let waiting: Vec<String> = sqlx::query_scalar(
        "SELECT template_key FROM notifications WHERE recipient_kind = 'client' AND status = 'waiting_link' ORDER BY id",
    )
    .fetch_all(&w.env.pool)
    .await
    .expect("waiting");
    assert_eq!(waiting, ["wf-route-client", "wf-assign-client"]);

    // The client registers in the bot with the same phone, written differently, in Russian.
    let first = w.register(7050, "Mijoz Boshqa Ism", "90 000 42 42", Locale::Ru).await;
    let number = w.number(app).await;
    let sent: Vec<SentMessage> = w.new_messages();
    let texts: Vec<&str> = sent.iter().map(|m| m.text.as_str()).collect();
    assert!(sent.iter().all(|m| m.chat_id == 7050), "{sent:?}");
    assert_eq!(texts.len(), 3, "the welcome, then what waited, in order: {texts:#?}");
    assert!(texts[0].contains("Mijoz 4242") && texts[0].contains("привязали"), "staff's name is kept: {}", texts[0]);
    assert!(sent[0].reply_markup.as_ref().is_some_and(|k| k.get("keyboard").is_some()), "the client menu: {:?}", sent[0]);
    assert!(texts[1].contains(&format!("№{number}")) && texts[1].contains("Её создал для вас наш сотрудник"), "{}", texts[1]);
    assert!(texts[2].contains("назначена технику"), "{}", texts[2]);
    assert_eq!(w.env.count("SELECT count(*) FROM clients").await, 1, "linked, not duplicated");
    let (chat, lang, name): (Option<i64>, String, String) =
        sqlx::query_as("SELECT telegram_chat_id, language, full_name FROM clients").fetch_one(&w.env.pool).await.expect("client");
    assert_eq!((chat, lang.as_str(), name.as_str()), (Some(7050), "ru", "Mijoz 4242"));
    assert_eq!(w.env.count("SELECT count(*) FROM notifications WHERE status = 'waiting_link'").await, 0);

    // The same registration again changes nothing and sends nothing.
    let again = registration(7050, "Mijoz Boshqa Ism", "90 000 42 42", Locale::Ru);
    let again = ClientRegistration { request_id: first, ..again };
    let before = w.finished.count(Stage::Notification, None);
    w.publish(&WorkflowCommand::RegisterClient(again)).await;
    wait_until("the redelivery went through", || async { w.finished.count(Stage::Notification, None) > before }).await;
    assert!(w.new_messages().is_empty());
    assert_eq!(w.env.count("SELECT count(*) FROM client_registrations").await, 1);

    // Another Telegram account with this phone is refused, in its own language.
    w.register(7051, "Boshqa Odam", "+998900004242", Locale::Uz).await;
    w.expect(&[(7051, vec!["Ro'yxatdan o'tish amalga oshmadi", "boshqa Telegram hisobiga bog'langan"])]);
    let chat: Option<i64> = sqlx::query_scalar("SELECT telegram_chat_id FROM clients").fetch_one(&w.env.pool).await.expect("client");
    assert_eq!(chat, Some(7050));
    w.env.cleanup().await;
}

#[tokio::test]
async fn a_reassignment_tells_the_new_and_the_previous_technician() {
    let mut w = World::start().await;
    w.env.staff(160, Role::Manager, Locale::Ru).await;
    let first = w.env.staff(260, Role::Technician, Locale::Ru).await;
    let second = w.env.staff(261, Role::Technician, Locale::Uz).await;
    let app = routed_connection(&mut w, 160, Some(7060)).await;
    let mut assign = transition(app, TransitionName::Assign, 160, Role::Manager, State::AwaitingManager);
    assign.assignee_staff_id = Some(first.id);
    w.act(&assign).await;
    w.new_messages();

    let mut reassign = transition(app, TransitionName::Assign, 160, Role::Manager, State::Assigned);
    reassign.assignee_staff_id = Some(second.id);
    w.act(&reassign).await;
    let n = format!("№{}", w.number(app).await);
    let got = w.expect(&[
        (7060, vec![&n, "texnikka biriktirildi"]),
        (160, vec![&n, "назначена технику"]),
        (261, vec![&n, "Sizga ariza"]),
        (260, vec![&n, "передана другому технику"]),
    ]);
    assert_open_button(&got[&261], app, Locale::Uz);
    assert_no_buttons(&got, &[260, 160, 7060]);
    let assigned: Option<i64> =
        sqlx::query_scalar("SELECT assigned_staff_id FROM service_requests WHERE id = $1").bind(app.0).fetch_one(&w.env.pool).await.expect("row");
    assert_eq!(assigned, Some(second.id));
    let previous: Option<i64> = sqlx::query_scalar(
        "SELECT (data->>'previous_assignee_staff_id')::bigint FROM workflow_transitions WHERE request_id = $1",
    )
    .bind(reassign.request_id.0)
    .fetch_one(&w.env.pool)
    .await
    .expect("the reassignment");
    assert_eq!(previous, Some(first.id));

    // The technician who lost it can no longer start it.
    w.act(&transition(app, TransitionName::Start, 260, Role::Technician, State::Assigned)).await;
    w.expect(&[(260, vec![&n, "Эта заявка не ваша"])]);
    assert_eq!(w.state(app).await, "assigned");
    w.env.cleanup().await;
}

#[tokio::test]
async fn a_client_whose_own_request_links_the_phone_staff_registered_gets_what_waited_too() {
    let mut w = World::start().await;
    w.env.staff(170, Role::CallCentreOperator, Locale::Uz).await;
    // Staff register a new client (no chat): the client's message waits for a link.
    let staff_req = request(ApplicationKind::Connection, 170, Role::CallCentreOperator, new_client(5151));
    w.env.submit(&staff_req).await;
    w.env.wait_notified(&[staff_req.application_id]).await;
    w.new_messages();
    assert_eq!(w.env.count("SELECT count(*) FROM notifications WHERE status = 'waiting_link'").await, 1);
    // The client asks for themselves (as `ariza submit --source client` does) with the same phone.
    let ClientRef::New(mut data) = new_client(5151) else { unreachable!("new_client is new") };
    data.language = Some(Locale::Ru);
    let own = request(ApplicationKind::Technical, 7151, Role::Client, ClientRef::New(data));
    w.env.submit(&own).await;
    w.env.wait_notified(&[own.application_id]).await;
    wait_until("the waiting message is sent", || async {
        w.env.count("SELECT count(*) FROM notifications WHERE status = 'waiting_link'").await == 0
    })
    .await;
    let sent = w.new_messages();
    let staff_number = w.number(staff_req.application_id).await;
    let own_number = w.number(own.application_id).await;
    let to_client: Vec<&str> = sent.iter().filter(|m| m.chat_id == 7151).map(|m| m.text.as_str()).collect();
    assert_eq!(to_client.len(), 2, "what waited, then the new application's message: {to_client:#?}");
    assert!(to_client[0].contains(&format!("№{staff_number}")), "{}", to_client[0]);
    assert!(to_client[1].contains(&format!("№{own_number}")), "{}", to_client[1]);
    assert_eq!(w.env.count("SELECT count(*) FROM clients").await, 1, "linked, not duplicated");
    w.env.cleanup().await;
}
