//! The RabbitMQ definitions file: the committed `deploy/rabbitmq/definitions.json` is exactly what
//! `ariza topology definitions` generates from the code, and the broker accepts it: imported into
//! a vhost of its own, it creates every queue with its arguments and binding, and the workers'
//! own declarations then match it (a mismatch would be a PRECONDITION_FAILED).

use crate::support::{amqp_url, rabbitmqctl, read_repo_file, run_ariza, stdout_of, unique, wait_until};
use ariza_shared::config::Settings;
use ariza_shared::topology::ArgValue;
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;
use std::str::FromStr as _;

const COMMITTED: &str = "deploy/rabbitmq/definitions.json";

fn generate(vhost: &str) -> Value {
    let out = run_ariza(&["topology", "definitions", "--vhost", vhost], &[]);
    serde_json::from_str(&stdout_of("ariza topology definitions", &out)).expect("the definitions are JSON")
}

#[test]
fn the_committed_definitions_are_what_the_code_generates() {
    let committed: Value = serde_json::from_str(&read_repo_file(COMMITTED)).expect("committed definitions are JSON");
    assert!(
        committed == generate("ariza"),
        "{COMMITTED} is out of date; regenerate it with\n  \
         ARIZA_CONFIG_DIR=/nonexistent ariza topology definitions --vhost ariza > {COMMITTED}"
    );
    let topology = Settings::load_from(None, false).expect("base configuration").topology();
    let names: Vec<&str> = committed["queues"].as_array().expect("queues").iter().filter_map(|q| q["name"].as_str()).collect();
    assert_eq!(names, topology.queues().iter().map(|q| q.name.as_str()).collect::<Vec<_>>());
    assert!(committed.get("users").is_none(), "no credential in a committed file");
}

/// Deletes the vhost, with everything imported into it, also when the test fails.
struct VhostGuard(String);

impl Drop for VhostGuard {
    fn drop(&mut self) {
        std::process::Command::new("rabbitmqctl").args(["-q", "delete_vhost", &self.0]).output().ok();
    }
}

/// `rabbitmqctl list_queues` in a vhost, as `(name, type, arguments)` rows.
fn list_queues(vhost: &str) -> Vec<Value> {
    let text = rabbitmqctl(&["-q", "list_queues", "-p", vhost, "name", "type", "arguments", "--formatter", "json"]);
    serde_json::from_str(&text).unwrap_or_default()
}

fn arg_matches(listed: &Value, expected: &ArgValue) -> bool {
    match expected {
        ArgValue::Str(s) => listed.as_str() == Some(s.as_str()),
        ArgValue::Int(i) => listed.as_i64() == Some(*i),
        ArgValue::Bool(b) => listed.as_bool() == Some(*b),
    }
}

#[tokio::test]
async fn rabbitmq_accepts_the_definitions_and_the_workers_declarations_match_them() {
    let vhost = format!("ariza-defs-test-{}", unique());
    let _guard = VhostGuard(vhost.clone());
    let file = std::env::temp_dir().join(format!("{vhost}.json"));
    std::fs::write(&file, generate(&vhost).to_string()).expect("write definitions");
    rabbitmqctl(&["-q", "import_definitions", file.to_str().expect("utf-8 path")]);
    std::fs::remove_file(&file).ok();

    // The import is asynchronous: wait for every queue.
    let topology = Settings::load_from(None, false).expect("base configuration").topology();
    let expected = topology.queues();
    wait_until("the imported queues", || async { list_queues(&vhost).len() == expected.len() }).await;

    let listed = list_queues(&vhost);
    for queue in &expected {
        let row = listed.iter().find(|q| q["name"] == queue.name.as_str()).unwrap_or_else(|| panic!("{} missing", queue.name));
        assert_eq!(row["type"], "quorum", "{}", queue.name);
        // Arguments come back as [name, type, value] triples.
        let args = row["arguments"].as_array().expect("arguments");
        assert_eq!(args.len(), queue.args.len(), "{}: {args:?}", queue.name);
        for (key, value) in &queue.args {
            let found = args.iter().find(|a| a[0] == *key).unwrap_or_else(|| panic!("{}: {key} missing", queue.name));
            assert!(arg_matches(&found[2], value), "{}: {key} is {found}, want {value:?}", queue.name);
        }
    }
    let bindings = rabbitmqctl(&["-q", "list_bindings", "-p", &vhost, "source_name", "destination_name", "routing_key", "--formatter", "json"]);
    let bindings: Vec<Value> = serde_json::from_str(&bindings).expect("bindings JSON");
    for queue in &expected {
        if let Some((exchange, key)) = &queue.binding {
            assert!(
                bindings.iter().any(|b| b["source_name"] == exchange.as_str()
                    && b["destination_name"] == queue.name.as_str()
                    && b["routing_key"] == key.as_str()),
                "{exchange} -> {} ({key}) not bound",
                queue.name
            );
        }
    }

    // What the workers declare at start-up is equivalent to what was imported.
    let mut uri = lapin::uri::AMQPUri::from_str(&amqp_url()).expect("ARIZA_TEST_AMQP_URL");
    rabbitmqctl(&["-q", "set_permissions", "-p", &vhost, &uri.authority.userinfo.username, ".*", ".*", ".*"]);
    uri.vhost = vhost.clone();
    let conn = Connection::connect_uri(uri, ConnectionProperties::default()).await.expect("connect to the test vhost");
    let channel = conn.create_channel().await.expect("channel");
    ariza_workers::broker::declare(&channel, &topology).await.expect("the workers' declarations match the imported definitions");
    conn.close(200, "done".into()).await.ok();
}
