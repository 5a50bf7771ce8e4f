//! The console for one test: served in-process over the test's database and queues, with an
//! operator token, console users, an HTTP client, and `ariza submit --source client` for seeding.

use crate::support::{TestEnv, ariza_bin, check_output, child_env};
use ariza_console::auth::OperatorRole;
use ariza_console::{AppState, users};
use ariza_shared::domain::ApplicationId;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The configured operator token of every test console.
pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789";

pub struct Console {
    pub env: TestEnv,
    pub base: String,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Console {
    /// Serves the console over `env`'s database and broker.
    pub async fn start(mut env: TestEnv) -> Console {
        env.settings.console.token = SecretString::from(OPERATOR_TOKEN);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the console");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let state = AppState::new(env.settings.clone(), env.pool.clone());
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move { ariza_console::serve(listener, state, stop).await });
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Console { env, base, http, shutdown, task: Some(task) }
    }

    /// Adds a console user and logs them in through the API; returns their session token.
    pub async fn user(&self, name: &str, role: OperatorRole) -> String {
        let password = format!("{name}-password-long-enough");
        users::upsert(&self.env.pool, name, role, SecretString::from(password.clone())).await.expect("add user");
        let (status, session) = self.post(None, "/api/login", &serde_json::json!({ "name": name, "password": password })).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        session["token"].as_str().expect("a session token").to_owned()
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_text(&self, token: Option<&str>, path: &str) -> (StatusCode, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("GET");
        (response.status(), response.text().await.expect("body"))
    }

    pub async fn post(&self, token: Option<&str>, path: &str, body: &Value) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Environment for an `ariza` child process that talks to this console with the operator token.
    pub fn child_env(&self) -> Vec<(String, String)> {
        let mut vars = child_env(&self.env);
        vars.push(("ARIZA__CONSOLE__URL".into(), self.base.clone()));
        vars.push(("ARIZA__CONSOLE__TOKEN".into(), OPERATOR_TOKEN.into()));
        vars
    }

    /// Runs `ariza args...` against this test's database, broker and console.
    pub async fn ariza(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        use tokio::io::AsyncWriteExt as _;
        let mut child = tokio::process::Command::new(ariza_bin())
            .args(args)
            .envs(self.child_env())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run ariza");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).await.expect("write stdin");
        }
        drop(input);
        child.wait_with_output().await.expect("ariza output")
    }

    /// A client's own application through `ariza submit --source client`: the client (Telegram
    /// user `creator`) registers with `phone` and asks for a connection.
    pub async fn submit_as_client(&self, creator: i64, name: &str, phone: &str) -> ApplicationId {
        let creator = creator.to_string();
        let out = self
            .ariza(
                &["submit", "--source", "client", "--kind", "connection", "--creator", &creator, "--client-name", name,
                  "--client-phone", phone, "--address", "Toshkent, Chilonzor 5-12", "--tariff", "Optima 50"],
                None,
            )
            .await;
        check_output(&out).expect("ariza submit --source client").trim().parse().expect("submit prints the application id")
    }

    /// A staff member's application for a new client, through `ariza submit`.
    pub async fn submit_as_staff(&self, creator: i64, role: &str, name: &str, phone: &str) -> ApplicationId {
        let creator = creator.to_string();
        let out = self
            .ariza(
                &["submit", "--kind", "technical", "--creator", &creator, "--role", role, "--client-name", name,
                  "--client-phone", phone, "--address", "Toshkent, Yunusobod 4-12", "--problem", "Internet ishlamayapti"],
                None,
            )
            .await;
        check_output(&out).expect("ariza submit").trim().parse().expect("submit prints the application id")
    }

    /// Rows of `operator_actions` with this action.
    pub async fn actions(&self, action: &str) -> Vec<(String, Value)> {
        sqlx::query_as("SELECT operator, outcome FROM operator_actions WHERE action = $1 ORDER BY id")
            .bind(action)
            .fetch_all(&self.env.pool)
            .await
            .expect("operator actions")
    }

    pub async fn cleanup(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("console task").expect("console stopped cleanly");
        }
        self.env.cleanup().await;
    }
}
