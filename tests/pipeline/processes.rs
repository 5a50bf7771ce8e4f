//! Processes and connections dying: workers killed with SIGKILL, connections closed by the
//! broker, and the broker application restarted under load.

use crate::support::{TestEnv, ariza_bin, child_env, new_client, request, wait_until};
use ariza_shared::domain::{ApplicationId, ApplicationKind, CreationRequest, Locale, Role};
use ariza_workers::broker::{self, Publisher};
use std::process::Stdio;
use tokio::process::{Child, Command};

fn spawn_workers(env: &TestEnv) -> Child {
    Command::new(ariza_bin())
        .args(["workers", "--skip-feature-check"])
        .envs(child_env(env))
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() })
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ariza workers")
}

fn batch(from: u32, n: u32, creator: i64, role: Role) -> Vec<CreationRequest> {
    (from..from + n)
        .map(|i| {
            let kind = if i % 2 == 0 { ApplicationKind::Connection } else { ApplicationKind::Technical };
            request(kind, creator, role, new_client(i))
        })
        .collect()
}

async fn assert_exactly_once(env: &TestEnv, apps: &[ApplicationId]) {
    let n = i64::try_from(apps.len()).expect("small");
    assert_eq!(env.count("SELECT count(*) FROM service_requests").await, n);
    assert_eq!(env.count("SELECT count(*) FROM staff_application_audit").await, n);
    assert_eq!(env.count("SELECT count(*) FROM client_selection_data").await, n);
    assert_eq!(env.count("SELECT count(*) FROM workflow_transitions").await, n);
    assert_eq!(env.count("SELECT count(*) FROM clients").await, n);
    // Each application: the client (waiting for a link) and its creator, who is also a participant.
    assert_eq!(env.count("SELECT count(*) FROM notifications").await, 2 * n);
    assert_eq!(env.count("SELECT count(*) FROM notifications WHERE status = 'pending'").await, 0);
    assert_eq!(env.count("SELECT count(*) FROM dead_letters").await, 0);
}

#[tokio::test]
async fn a_worker_killed_with_sigkill_three_times_loses_nothing_and_duplicates_nothing() {
    let env = TestEnv::without_workers().await;
    env.staff(700, Role::Manager, Locale::Uz).await;
    let mut all = Vec::new();
    for round in 0..3u32 {
        let requests = batch(round * 1000, 150, 700, Role::Manager);
        for req in &requests {
            env.submit(req).await;
        }
        all.extend(requests.iter().map(|r| r.application_id));
        let before = env.count("SELECT count(*) FROM service_requests").await;
        let mut worker = spawn_workers(&env);
        // Kill it mid-stream: once it has stored some of this round but not all of it, so messages
        // are in flight and unacked.
        wait_until("the worker makes progress", || async {
            env.count("SELECT count(*) FROM service_requests").await > before + 10
        })
        .await;
        worker.start_kill().expect("SIGKILL");
        worker.wait().await.expect("reaped");
    }
    let mut last = spawn_workers(&env);
    env.wait_notified(&all).await;
    wait_until("the creator's notifications settle", || async {
        env.count("SELECT count(*) FROM notifications WHERE status = 'pending'").await == 0
    })
    .await;
    assert_exactly_once(&env, &all).await;
    last.start_kill().ok();
    last.wait().await.ok();
    env.cleanup().await;
}

/// Closes, from the broker's side, every connection whose name contains `needle`.
async fn close_connections(needle: &str) -> usize {
    let out = Command::new("rabbitmqctl").args(["-q", "list_connections", "pid", "client_properties"]).output().await.expect("rabbitmqctl");
    let text = String::from_utf8_lossy(&out.stdout);
    let pids: Vec<String> = text
        .lines()
        .filter(|line| line.contains(needle))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    for pid in &pids {
        let closed = Command::new("rabbitmqctl").args(["close_connection", pid, "closed by the test"]).output().await.expect("close");
        assert!(closed.status.success(), "{}", String::from_utf8_lossy(&closed.stderr));
    }
    pids.len()
}

#[tokio::test]
async fn connections_closed_by_the_broker_are_reopened_and_work_carries_on() {
    let env = TestEnv::start().await;
    env.staff(800, Role::Controller, Locale::Ru).await;
    let first = batch(0, 10, 800, Role::Controller);
    for req in &first {
        env.submit(req).await;
    }
    let mut all: Vec<_> = first.iter().map(|r| r.application_id).collect();
    env.wait_notified(&all).await;

    // Close the workers' connections (this test's own, by name), not the test's publisher.
    let name = &env.settings.amqp.connection_name;
    let mut closed = 0;
    for component in ["validation", "persistence", "workflow", "notification", "archiver"] {
        closed += close_connections(&format!("{name}:{component}")).await;
    }
    assert_eq!(closed, 5, "one connection per component");

    let second = batch(100, 10, 800, Role::Controller);
    for req in &second {
        env.submit(req).await;
    }
    all.extend(second.iter().map(|r| r.application_id));
    env.wait_notified(&all).await;
    assert_exactly_once(&env, &all).await;
    env.cleanup().await;
}

async fn rabbitmqctl(args: &[&str]) {
    let out = Command::new("rabbitmqctl").args(args).output().await.expect("rabbitmqctl");
    assert!(out.status.success(), "rabbitmqctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn serial_a_broker_restart_under_load_is_survived_and_every_request_completes() {
    let mut env = TestEnv::start().await;
    env.staff(900, Role::Manager, Locale::Uz).await;
    let first = batch(0, 100, 900, Role::Manager);
    for req in &first {
        env.submit(req).await;
    }
    let mut all: Vec<_> = first.iter().map(|r| r.application_id).collect();
    wait_until("work under way", || async { env.count("SELECT count(*) FROM service_requests").await > 5 }).await;

    rabbitmqctl(&["stop_app"]).await;
    rabbitmqctl(&["start_app"]).await;
    rabbitmqctl(&["await_startup"]).await;

    // The test's own publisher died with the broker; open a new one, retrying until the broker
    // takes connections again.
    let conn = loop {
        if let Ok(conn) = broker::connect(&env.settings.amqp, "test-after-restart").await {
            break conn;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    env.publisher = Publisher::open(&conn).await.expect("publisher");
    let second = batch(1000, 100, 900, Role::Manager);
    for req in &second {
        loop {
            // Queues may still be electing their leader right after the restart.
            match ariza_workers::submit::publish_creation(&env.publisher, &env.settings.topology(), req).await {
                Ok(()) => break,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    }
    all.extend(second.iter().map(|r| r.application_id));
    env.wait_notified(&all).await;
    assert_exactly_once(&env, &all).await;
    conn.close(200, "done".into()).await.ok();
    env.cleanup().await;
}
