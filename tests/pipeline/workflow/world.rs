//! The harness of the workflow tests: the pipeline with a hook that counts finished messages,
//! publishing workflow commands, waiting until a request's notifications are settled, and checking
//! the messages the fake Bot API received since the last look.

use crate::support::{TestEnv, wait_until};
use ariza_fake_bot_api::SentMessage;
use ariza_shared::domain::{
    Actor, ApplicationId, ClientRegistration, CorrelationId, GlobalAction, Locale, RequestId, Role, SCHEMA_VERSION,
    TransitionRequest, WorkflowCommand,
};
use ariza_shared::topology::Stage;
use ariza_shared::workflow::{State, TransitionName};
use ariza_workers::fault::{FaultAction, FaultHook};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts, per stage and application, the messages each stage finished (committed and about to
/// publish and ack), so a test can wait for a message that must change nothing.
#[derive(Debug, Default)]
pub struct Finished(Mutex<HashMap<(Stage, Option<String>), usize>>);

impl FaultHook for Finished {
    fn after_commit(&self, stage: Stage, application_id: Option<&str>) -> FaultAction {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts.entry((stage, application_id.map(str::to_owned))).or_default() += 1;
        FaultAction::Continue
    }
}

impl Finished {
    pub fn count(&self, stage: Stage, app: Option<ApplicationId>) -> usize {
        let counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.get(&(stage, app.map(|a| a.to_string()))).copied().unwrap_or_default()
    }
}

/// One test's pipeline, with the messages the fake Bot API has shown so far.
pub struct World {
    pub env: TestEnv,
    pub finished: Arc<Finished>,
    seen: usize,
}

impl World {
    pub async fn start() -> World {
        let finished = Arc::new(Finished::default());
        let env = TestEnv::with_faults(finished.clone()).await;
        World { env, finished, seen: 0 }
    }

    pub async fn publish(&self, command: &WorkflowCommand) {
        let body = serde_json::to_vec(command).expect("encode");
        self.env.publish_raw(Stage::Workflow, &body, command.application_id().map(|a| a.to_string()).as_deref()).await;
    }

    /// Publishes a transition and waits until it is decided and what it published is settled.
    pub async fn act(&self, req: &TransitionRequest) {
        self.publish(&WorkflowCommand::Transition(req.clone())).await;
        self.settled(req.request_id, &["pending"]).await;
    }

    /// Waits until the request is applied, refused or registered, and each notification it
    /// published is stored and in none of `unsettled`.
    pub async fn settled(&self, request_id: RequestId, unsettled: &'static [&'static str]) {
        wait_until(&format!("request {request_id} decided and its notifications settled"), || async move {
            sqlx::query_scalar::<_, bool>(
                "WITH published AS (
                     SELECT n->>'dedupe_key' AS key FROM (
                         SELECT notifications FROM workflow_transitions WHERE request_id = $1
                         UNION ALL SELECT notifications FROM workflow_refusals WHERE request_id = $1
                         UNION ALL SELECT notifications FROM client_registrations WHERE request_id = $1
                     ) s, json_array_elements(s.notifications) n)
                 SELECT EXISTS (SELECT 1 FROM workflow_transitions WHERE request_id = $1
                                UNION ALL SELECT 1 FROM workflow_refusals WHERE request_id = $1
                                UNION ALL SELECT 1 FROM client_registrations WHERE request_id = $1)
                    AND NOT EXISTS (SELECT 1 FROM published p LEFT JOIN notifications n ON n.dedupe_key = p.key
                                    WHERE n.id IS NULL OR n.status = ANY($2))",
            )
            .bind(request_id.0)
            .bind(unsettled)
            .fetch_one(&self.env.pool)
            .await
            .unwrap_or(false)
        })
        .await;
    }

    /// The messages sent since the last call.
    pub fn new_messages(&mut self) -> Vec<SentMessage> {
        let all = self.env.bot.sent_messages();
        let new = all[self.seen..].to_vec();
        self.seen = all.len();
        new
    }

    /// Checks that the messages since the last call are exactly one per expected chat, each
    /// containing its texts; returns them by chat.
    pub fn expect(&mut self, expected: &[(i64, Vec<&str>)]) -> HashMap<i64, SentMessage> {
        let new = self.new_messages();
        assert_eq!(new.len(), expected.len(), "expected messages to {:?}, got {new:#?}", expected.iter().map(|e| e.0).collect::<Vec<_>>());
        let mut by_chat = HashMap::new();
        for (chat, texts) in expected {
            let to_chat: Vec<&SentMessage> = new.iter().filter(|m| m.chat_id == *chat).collect();
            assert_eq!(to_chat.len(), 1, "one message to {chat}: {new:#?}");
            for text in texts {
                assert!(to_chat[0].text.contains(text), "the message to {chat} says {text:?}: {:?}", to_chat[0].text);
            }
            by_chat.insert(*chat, to_chat[0].clone());
        }
        by_chat
    }

    pub async fn state(&self, app: ApplicationId) -> String {
        sqlx::query_scalar("SELECT state FROM service_requests WHERE id = $1").bind(app.0).fetch_one(&self.env.pool).await.expect("state")
    }

    pub async fn number(&self, app: ApplicationId) -> i64 {
        sqlx::query_scalar("SELECT number FROM service_requests WHERE id = $1").bind(app.0).fetch_one(&self.env.pool).await.expect("number")
    }

    pub async fn refusal_reason(&self, request_id: RequestId) -> String {
        sqlx::query_scalar("SELECT reason_key FROM workflow_refusals WHERE request_id = $1")
            .bind(request_id.0)
            .fetch_one(&self.env.pool)
            .await
            .expect("a stored refusal")
    }

    pub async fn count(&self, sql: &'static str, app: ApplicationId) -> i64 {
        self.env.count_for(sql, app).await
    }

    /// Registers a client from the bot and waits for the welcome and what it released.
    pub async fn register(&self, chat: i64, name: &str, phone: &str, language: Locale) -> RequestId {
        let r = registration(chat, name, phone, language);
        self.publish(&WorkflowCommand::RegisterClient(r.clone())).await;
        self.settled(r.request_id, &["pending", "waiting_link"]).await;
        r.request_id
    }
}

pub fn transition(app: ApplicationId, name: TransitionName, actor: i64, role: Role, expected: State) -> TransitionRequest {
    TransitionRequest {
        schema: SCHEMA_VERSION,
        request_id: RequestId::new(),
        application_id: app,
        correlation_id: CorrelationId::new(),
        transition: name,
        actor: Actor { telegram_id: actor, role },
        expected_state: expected,
        assignee_staff_id: None,
        comment: None,
        rating: None,
        requested_at: chrono::Utc::now(),
    }
}

pub fn registration(chat: i64, name: &str, phone: &str, language: Locale) -> ClientRegistration {
    ClientRegistration {
        schema: SCHEMA_VERSION,
        request_id: RequestId::new(),
        correlation_id: CorrelationId::new(),
        telegram_chat_id: chat,
        name: name.into(),
        phone: phone.into(),
        address: "Toshkent, Olmazor 7".into(),
        language,
        requested_at: chrono::Utc::now(),
    }
}

/// The text in the recipient's language.
pub fn say(lang: Locale, ru: &'static str, uz: &'static str) -> &'static str {
    if lang == Locale::Ru { ru } else { uz }
}

/// The callback data of the buttons under a message, row by row.
pub fn buttons(m: &SentMessage) -> Vec<Vec<(String, String)>> {
    let Some(rows) = m.reply_markup.as_ref().and_then(|k| k.get("inline_keyboard")).and_then(|k| k.as_array()) else {
        return Vec::new();
    };
    rows.iter()
        .map(|row| {
            row.as_array()
                .into_iter()
                .flatten()
                .map(|b| (b["text"].as_str().unwrap_or_default().to_owned(), b["callback_data"].as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .collect()
}

pub fn assert_open_button(m: &SentMessage, app: ApplicationId, lang: Locale) {
    let label = say(lang, "Открыть заявку", "Arizani ochish");
    assert_eq!(buttons(m), vec![vec![(format!("📂 {label}"), GlobalAction::Open(app).data())]], "{m:?}");
}

pub fn assert_rating_buttons(m: &SentMessage, app: ApplicationId) {
    let expected: Vec<(String, String)> = (1..=5).map(|n| (format!("⭐ {n}"), GlobalAction::Rate(app, n).data())).collect();
    assert_eq!(buttons(m), vec![expected], "{m:?}");
}

pub fn assert_no_buttons(messages: &HashMap<i64, SentMessage>, chats: &[i64]) {
    for chat in chats {
        assert!(messages[chat].reply_markup.is_none(), "no buttons for {chat}: {:?}", messages[chat]);
    }
}

