//! Every role creates every kind it may, through each way of finding a client, in both languages;
//! each request arrives in the pipeline and is stored.

use crate::driver::{BotTest, Staffer};
use crate::support::wait_until;
use ariza_bot::texts::t;
use ariza_shared::domain::{ApplicationId, ApplicationKind, Locale, Role};
use ariza_shared::permissions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    Phone,
    Name,
    NewClient,
}

/// Walks one whole flow and returns the id the bot answered with.
pub(crate) async fn create(u: &Staffer<'_>, l: Locale, kind: ApplicationKind, path: Path, n: i64) -> ApplicationId {
    let menu_label = match kind {
        ApplicationKind::Connection => t(l, "bot-btn-new-connection"),
        ApplicationKind::Technical => t(l, "bot-btn-new-technical"),
    };
    let screen = u.say(&menu_label).await;
    assert!(screen.text.contains(&t(l, "bot-search-how")), "{}", screen.text);
    assert_eq!(screen.labels().len(), 5, "phone, name, id, new client, cancel: {:?}", screen.labels());
    let client_name = format!("Mijoz Test{n}");
    let phone = format!("+99893{:07}", n);
    match path {
        Path::Phone | Path::Name => {
            let (button, query) = if path == Path::Phone {
                ("bot-btn-by-phone", phone[6..].to_owned())
            } else {
                ("bot-btn-by-name", format!("test{n}"))
            };
            let ask = u.press(&t(l, button)).await.screen;
            assert!(ask.text.contains(&t(l, if path == Path::Phone { "bot-ask-search-phone" } else { "bot-ask-search-name" })));
            let results = u.say(&query).await;
            assert!(results.labels().iter().any(|b| b.contains(&client_name)), "{:?}", results.labels());
            u.press(&client_name).await;
        }
        Path::NewClient => {
            u.press(&t(l, "bot-btn-new-client")).await;
            u.say(&format!("Yangi Mijoz{n}")).await;
            u.say(&format!("93 {} {} {}", 800 + n % 100, 10 + n % 90, 10 + n % 90)).await;
            u.say("Toshkent, Olmazor 7").await;
        }
    }
    let card = u.last();
    assert!(card.text.contains(&t(l, "bot-confirm-client")), "{}", card.text);
    u.press(&t(l, "bot-btn-client-ok")).await;
    match kind {
        ApplicationKind::Connection => {
            let ask = u.last();
            assert!(ask.text.contains(&t(l, "bot-ask-address")), "{}", ask.text);
            u.press("🏠").await;
            let tariffs = u.last();
            assert!(tariffs.labels().contains(&"Optima 50".to_owned()), "{:?}", tariffs.labels());
            u.press("Optima 50").await;
            u.say("Kechqurun qo'ng'iroq qiling").await;
        }
        ApplicationKind::Technical => {
            u.say("Internet tez-tez uziladi").await;
            u.say("Toshkent, Chilonzor 9-12").await;
            u.press(&t(l, "bot-btn-skip")).await;
        }
    }
    let preview = u.last();
    assert!(preview.text.contains(&t(l, &format!("kind-{}", kind.as_str()))), "{}", preview.text);
    assert!(preview.labels().contains(&t(l, "bot-btn-confirm")));
    u.press(&t(l, "bot-btn-confirm")).await;
    let screens = u.screens();
    let sent_mark = ariza_bot::texts::ta(l, "bot-sent", &[("id", serde_json::json!("-"))]).split("ID:").next().unwrap_or_default().trim().to_owned();
    assert!(sent_mark.starts_with('✅'), "{sent_mark}");
    let at = screens.iter().rposition(|s| s.text.contains(&sent_mark)).unwrap_or_else(|| {
        let texts: Vec<&str> = screens.iter().map(|s| s.text.as_str()).collect();
        panic!("user {}: no confirmation among {texts:#?}", u.uid)
    });
    let id = screens[at].text.split("ID: ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("an id");
    // The menu comes right after; the pipeline's own notifications to this staff member may follow.
    let menu = screens.iter().skip(at + 1).find(|s| s.is_dialogue()).expect("a screen after the confirmation");
    assert!(menu.keyboard.contains(&menu_label), "back to the menu, got {menu:?}");
    u.assert_every_press_answered();
    id.parse().expect("a uuid")
}

#[tokio::test]
async fn each_role_creates_each_kind_it_may_by_phone_by_name_and_as_a_new_client_in_both_languages() {
    let test = BotTest::start().await;
    let mut jobs = Vec::new();
    let mut n = 0;
    for perms in permissions::ROLE_PERMISSIONS.iter().filter(|p| p.role.is_staff() && !p.create.is_empty()) {
        for kind in perms.create {
            for path in [Path::Phone, Path::Name, Path::NewClient] {
                for l in [Locale::Uz, Locale::Ru] {
                    n += 1;
                    let uid = 10_000 + n;
                    test.env.staff(uid, perms.role, l).await;
                    if path != Path::NewClient {
                        test.env.client(&format!("Mijoz Test{n}"), &format!("+99893{:07}", n), None, Locale::Uz).await;
                    }
                    jobs.push((uid, l, perms.role, *kind, path, n));
                }
            }
        }
    }
    let users: Vec<_> = jobs.iter().map(|(uid, l, ..)| (test.staffer(*uid, l.as_str()), *l)).collect();
    // Four staff members at a time: concurrent dialogues, without starving the 2-core machine.
    use futures::StreamExt as _;
    let flows = jobs.iter().zip(&users).map(|((_, l, _, kind, path, n), (u, _))| create(u, *l, *kind, *path, *n));
    let ids: Vec<ApplicationId> = futures::stream::iter(flows).buffered(4).collect().await;
    assert_eq!(ids.len(), 42, "7 role-kind pairs x 3 paths x 2 languages");
    test.env.wait_notified(&ids).await;
    for ((uid, _, role, kind, path, _), id) in jobs.iter().zip(&ids) {
        let (k, r, source, method): (String, String, String, String) = sqlx::query_as(
            "SELECT r.kind, r.staff_creator_role, r.creation_source, s.selection_method
             FROM service_requests r JOIN client_selection_data s ON s.application_id = r.id WHERE r.id = $1",
        )
        .bind(id.0)
        .fetch_one(&test.env.pool)
        .await
        .unwrap_or_else(|e| panic!("user {uid}: {e}"));
        assert_eq!((k.as_str(), r.as_str(), source.as_str()), (kind.as_str(), role.as_str(), "staff"));
        assert_eq!(method, if *path == Path::NewClient { "new" } else { "existing" });
    }
    test.cleanup().await;
}

#[tokio::test]
async fn bad_input_at_each_field_is_explained_and_asked_again_without_losing_anything() {
    let test = BotTest::start().await;
    test.env.staff(501, Role::JuniorManager, Locale::Uz).await;
    let u = test.staffer(501, "uz");
    let l = Locale::Uz;
    u.say(&t(l, "bot-btn-new-connection")).await;
    u.press(&t(l, "bot-btn-by-phone")).await;
    let short = u.say("7").await;
    assert!(short.text.contains(&t(l, "bot-search-too-short")) && short.text.contains(&t(l, "bot-ask-search-phone")), "{}", short.text);
    let empty = u.say("55 55").await;
    assert!(empty.text.contains(&t(l, "bot-search-empty")), "{}", empty.text);
    u.press(&t(l, "bot-btn-new-client")).await;
    let sticker = u.sticker().await;
    assert!(sticker.text.contains(&t(l, "bot-expected-text")) && sticker.text.contains(&t(l, "bot-ask-client-name")), "{}", sticker.text);
    let long = u.say(&"A".repeat(121)).await;
    assert!(long.text.contains("Ism-familiya juda uzun") && long.text.contains("120"), "{}", long.text);
    u.say("Madina Yusupova").await;
    let bad_phone = u.say("+7 999 123").await;
    assert!(bad_phone.text.contains("Telefon raqami noto'g'ri") && bad_phone.text.contains("Madina Yusupova"), "{}", bad_phone.text);
    u.say("(94) 111-22-33").await;
    let blank = u.say("   ").await;
    assert!(blank.text.contains("Manzil bo'sh"), "{}", blank.text);
    let card = u.say("Namangan, Davlatobod 3").await;
    assert!(card.text.contains("Madina Yusupova") && card.text.contains("+998941112233") && card.text.contains("Namangan"), "{}", card.text);
    // Correct the data, then go on.
    u.press(&t(l, "bot-btn-edit-address")).await;
    let card = u.say("Namangan, Davlatobod 5").await;
    assert!(card.text.contains("Davlatobod 5"), "{}", card.text);
    u.press(&t(l, "bot-btn-client-ok")).await;
    let blank_address = u.say("  ").await;
    assert!(blank_address.text.contains("Manzil bo'sh") && blank_address.text.contains(&t(l, "bot-ask-address")), "{}", blank_address.text);
    u.say("Namangan, Davlatobod 5, 2-qavat").await;
    u.press(&t(l, "bot-btn-skip")).await;
    let long_comment = u.say(&"x".repeat(2001)).await;
    assert!(long_comment.text.contains("Izoh juda uzun"), "{}", long_comment.text);
    let preview = u.say("Tezroq").await;
    assert!(preview.text.contains("Madina Yusupova") && preview.text.contains("2-qavat") && preview.text.contains("Tezroq"), "{}", preview.text);
    // Edit a field from the preview and come back to it.
    u.press(&t(l, "bot-btn-edit-form-comment")).await;
    let preview = u.say("Ertalab").await;
    assert!(preview.text.contains("Ertalab") && !preview.text.contains("Tezroq") && preview.text.contains("2-qavat"), "{}", preview.text);
    let text_on_buttons = u.say("hello").await;
    assert!(text_on_buttons.text.contains(&t(l, "bot-use-buttons")), "{}", text_on_buttons.text);
    u.press(&t(l, "bot-btn-confirm")).await;
    wait_until("the application is stored", || async { test.env.count("SELECT count(*) FROM service_requests").await == 1 }).await;
    let (address, comment, client_address): (String, Option<String>, String) = sqlx::query_as(
        "SELECT r.address, r.comment, c.address FROM service_requests r JOIN clients c ON c.id = r.client_id",
    )
    .fetch_one(&test.env.pool)
    .await
    .expect("row");
    assert_eq!((address.as_str(), comment.as_deref(), client_address.as_str()), ("Namangan, Davlatobod 5, 2-qavat", Some("Ertalab"), "Namangan, Davlatobod 5"));
    u.assert_every_press_answered();
    test.cleanup().await;
}
