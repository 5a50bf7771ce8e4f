//! The console in headless Chromium (Debian's `chromium` and `chromium-driver`, installed by
//! scripts/up.sh): an administrator logs in, sees the poisoned application's dead letter with its
//! reason, replays it after the cause is fixed, sees the row marked replayed, and follows the
//! application's timeline to its notifications. Without Chromium the test fails and says what to
//! install; it never skips.

use crate::harness::Console;
use crate::support::{TestEnv, wait_until};
use ariza_console::auth::OperatorRole;
use ariza_console::users;
use ariza_shared::domain::{Locale, Role};
use ariza_shared::topology::Stage;
use ariza_workers::fault::FaultHook;
use fantoccini::{Client, ClientBuilder, Locator};
use secrecy::SecretString;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The workflow stage fails while `failing` is set: the cause an operator fixes.
#[derive(Debug)]
struct BrokenWorkflow {
    failing: AtomicBool,
}

impl FaultHook for BrokenWorkflow {
    fn before_process(&self, stage: Stage, _app: Option<&str>) -> Option<String> {
        (stage == Stage::Workflow && self.failing.load(Ordering::SeqCst)).then(|| "injected: routing table locked".to_owned())
    }
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: tokio::process::Child,
    port: u16,
}

impl Driver {
    async fn start() -> Driver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser test needs Debian's {package} package (apt-get install -y chromium chromium-driver, or run scripts/up.sh as root)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        let child = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let driver = Driver { child, port };
        wait_until("chromedriver listens", || async { tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() }).await;
        driver
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-proxy-server", "--window-size=1400,1000"]
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a headless Chromium session")
    }

    async fn stop(mut self) {
        self.child.kill().await.ok();
    }
}

/// Waits for an element, failing with what was looked for.
async fn find(browser: &Client, css: &str) -> fantoccini::elements::Element {
    match browser.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => {
            let url = browser.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            let page = browser.source().await.unwrap_or_default();
            panic!("no {css} on {url}: {e}\n{page}")
        }
    }
}

#[tokio::test]
async fn an_operator_replays_a_poisoned_application_in_the_browser_and_follows_it_to_its_notifications() {
    let hook = Arc::new(BrokenWorkflow { failing: AtomicBool::new(true) });
    let console = Console::start(TestEnv::with_faults(hook.clone()).await).await;
    let env = &console.env;
    env.staff(950, Role::Manager, Locale::Ru).await;
    users::upsert(&env.pool, "dilshod", OperatorRole::Administrator, SecretString::from("dilshod-admin-password")).await.expect("admin user");
    let app = console.submit_as_client(7301, "Shahnoza Ergasheva", "+998 97 700 11 22").await;
    env.wait_dead_letters(1).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM dead_letters WHERE application_id = $1").bind(app.0).fetch_one(&env.pool).await.expect("its dead letter");

    let driver = Driver::start().await;
    let browser = driver.browser().await;
    // Log in (in Russian).
    browser.goto(&format!("{}/lang/ru?next=/login", console.base)).await.expect("open the console");
    find(&browser, "#login-name").await.send_keys("dilshod").await.expect("type the name");
    find(&browser, "#login-password").await.send_keys("dilshod-admin-password").await.expect("type the password");
    find(&browser, "#login-submit").await.click().await.expect("log in");

    // The dead letter is listed with its stage and reason.
    let row = find(&browser, &format!("#dl-{id}")).await;
    let text = row.text().await.expect("row text");
    assert!(text.contains("workflow") && text.contains("retries_exhausted") && text.contains("routing table locked"), "{text}");
    assert!(find(&browser, "#operator").await.text().await.expect("who").contains("dilshod"));

    // The cause is fixed; the operator replays it.
    hook.failing.store(false, Ordering::SeqCst);
    find(&browser, &format!("#replay-{id}")).await.click().await.expect("replay");
    let notice = find(&browser, "#notice").await.text().await.expect("notice");
    assert!(notice.contains("Повторено: 1"), "{notice}");
    browser.goto(&format!("{}/dead-letters?status=all", console.base)).await.expect("all dead letters");
    let status = find(&browser, &format!("#dl-{id} td.status")).await.text().await.expect("status");
    assert_eq!(status, "повторено");
    assert!(find(&browser, &format!("#dl-{id}[data-status=\"replayed\"]")).await.is_displayed().await.expect("shown"));

    // The application went on to its notifications; its timeline shows them.
    env.wait_notified(&[app]).await;
    find(&browser, &format!("#dl-{id} a.app-link")).await.click().await.expect("open the timeline");
    find(&browser, "#stages").await;
    for stage in ["validation", "persistence", "workflow", "notification"] {
        find(&browser, &format!("#stages tr[data-stage=\"{stage}\"][data-state=\"done\"]")).await;
    }
    find(&browser, "#events tr[data-event=\"replayed\"]").await;
    let sent = browser.find_all(Locator::Css("#notifications tr.notification[data-status=\"sent\"]")).await.expect("notifications");
    assert!(sent.len() >= 2, "the client's and the manager's notifications are shown as sent");
    let notifications = find(&browser, "#notifications").await.text().await.expect("notifications text");
    assert!(notifications.contains("client") && notifications.contains("staff"), "to the client and to the manager: {notifications}");

    browser.close().await.expect("close the browser");
    driver.stop().await;
    console.cleanup().await;
}
