//! `ariza console ...` as scripts use it: users added with a password from stdin, dead letters
//! listed and discarded through the API (only with --yes), refused without credentials.

use crate::harness::Console;
use crate::support::{TestEnv, check_output};
use ariza_shared::topology::Stage;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_command_line_client_lists_replays_and_discards_only_with_yes() {
    let console = Console::start(TestEnv::start().await).await;
    let env = &console.env;
    env.publish_raw(Stage::Validation, b"<<not json>>", None).await;
    env.wait_dead_letters(1).await;

    let listed = check_output(&console.ariza(&["console", "dead-letters", "list", "--reason", "malformed"], None).await).expect("list");
    assert!(listed.contains("malformed") && listed.contains("validation") && listed.contains("1 matching"), "{listed}");
    let grouped = check_output(&console.ariza(&["console", "dead-letters", "list", "--group"], None).await).expect("group");
    assert!(grouped.starts_with("malformed"), "{grouped}");
    let id: i64 = sqlx::query_scalar("SELECT id FROM dead_letters").fetch_one(&env.pool).await.expect("id");
    let shown = check_output(&console.ariza(&["console", "dead-letters", "show", &id.to_string()], None).await).expect("show");
    assert!(shown.contains("<<not json>>") && shown.contains("death_history"), "{shown}");

    let refused = console.ariza(&["console", "dead-letters", "discard", "--all-matching", "--stage", "validation"], None).await;
    assert_eq!(refused.status.code(), Some(2), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert_eq!(env.count("SELECT count(*) FROM dead_letters WHERE status = 'dead'").await, 1);
    let done = console.ariza(&["console", "dead-letters", "discard", "--all-matching", "--stage", "validation", "--yes"], None).await;
    assert!(check_output(&done).expect("discard").contains(&format!("[{id}]")));
    assert_eq!(env.count("SELECT count(*) FROM dead_letters WHERE status = 'discarded'").await, 1);

    // A user added from the command line, with the password on stdin, logs in as a viewer.
    let added = console.ariza(&["console", "user", "add", "nodira", "--role", "viewer"], Some("a-long-viewer-password\n")).await;
    assert!(check_output(&added).expect("user add").contains("nodira (viewer)"));
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM console_users WHERE name = 'nodira'").fetch_one(&env.pool).await.expect("user");
    assert!(hash.starts_with("$argon2id$") && !hash.contains("a-long-viewer-password"));
    let (status, session) = console.post(None, "/api/login", &json!({ "name": "nodira", "password": "a-long-viewer-password" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(session["operator"]["role"], "viewer");
    let short = console.ariza(&["console", "user", "add", "weak", "--role", "admin"], Some("short\n")).await;
    assert_eq!(short.status.code(), Some(2), "a short password is refused");

    // As that viewer, the client can read but not replay.
    let as_viewer = console.ariza(&["console", "--user", "nodira", "dead-letters", "replay", "--id", &id.to_string()], Some("a-long-viewer-password\n")).await;
    assert_eq!(as_viewer.status.code(), Some(3), "{}", String::from_utf8_lossy(&as_viewer.stderr));
    console.cleanup().await;
}
