//! `ariza submit` and `ariza staff`, run as the program a person would run.

use crate::support::{TestEnv, ariza_bin, check_output, child_env};
use ariza_shared::topology::Stage;
use tokio::process::Command;

async fn ariza(env: &TestEnv, args: &[&str]) -> std::process::Output {
    Command::new(ariza_bin()).args(args).envs(child_env(env)).output().await.expect("run ariza")
}

#[tokio::test]
async fn submit_refuses_bad_input_in_the_users_language_and_publishes_nothing() {
    let mut env = TestEnv::without_workers().await;
    let cases: [(&[&str], &str); 4] = [
        (&["--client-phone", "12-34", "--lang", "ru"], "Неверный номер телефона"),
        (&["--client-phone", "+998 90 123 45 67", "--address", "   ", "--lang", "uz"], "Manzil bo'sh"),
        (&["--client-phone", "+998 90 123 45 67", "--role", "junior_manager", "--kind", "technical", "--lang", "ru"], "младший менеджер"),
        (&["--client-phone", "+998 90 123 45 67", "--kind", "technical", "--lang", "uz"], "Muammoni tasvirlab bering"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["submit", "--creator", "1", "--client-name", "Aziza"];
        // Defaults for what a case does not set itself.
        for (flag, default) in [("--kind", "connection"), ("--role", "manager"), ("--address", "Toshkent")] {
            if !extra.contains(&flag) {
                args.extend([flag, default]);
            }
        }
        args.extend_from_slice(extra);
        let out = ariza(&env, &args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
        assert!(stderr.contains("nothing was published"), "{stderr}");
    }
    assert_eq!(env.queue_depth(Stage::Validation).await, 0, "bad input publishes nothing");

    // Good input is published, and the pipeline turns it into an application.
    check_output(&ariza(&env, &["staff", "add", "--telegram-id", "61", "--role", "controller", "--lang", "uz"]).await).expect("staff add");
    let listed = check_output(&ariza(&env, &["staff", "list"]).await).expect("staff list");
    assert!(listed.contains("controller") && listed.contains("61"), "{listed}");
    let out = ariza(
        &env,
        &["submit", "--kind", "technical", "--creator", "61", "--role", "controller", "--client-name", "Aziza Umarova",
          "--client-phone", "93 555 66 77", "--address", "Buxoro", "--problem", "Modem o'chib qoladi"],
    )
    .await;
    let id: ariza_shared::domain::ApplicationId = check_output(&out).expect("submit").trim().parse().expect("prints the id");
    assert_eq!(env.queue_depth(Stage::Validation).await, 1);
    env.start_workers();
    env.wait_notified(&[id]).await;
    let phone: String = sqlx::query_scalar("SELECT phone FROM clients").fetch_one(&env.pool).await.expect("client");
    assert_eq!(phone, "+998935556677", "stored in the canonical form");
    env.cleanup().await;
}
