//! Dialogue storage in PostgreSQL (`bot_dialogues`), over the project's own pool. A state that no
//! longer deserialises (after an upgrade changed its shape) is reported as such, so the bot can
//! apologise and start that dialogue again instead of wedging the staff member.

use crate::session::Session;
use sqlx::PgPool;

/// What was stored for a chat.
#[derive(Debug)]
pub enum Loaded {
    Found(Box<Session>),
    Missing,
    /// Stored, but from an older shape of the session.
    Unreadable(serde_json::Error),
}

#[derive(Debug, Clone)]
pub struct DialogueStorage {
    pool: PgPool,
}

impl DialogueStorage {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn load(&self, chat_id: i64) -> Result<Loaded, sqlx::Error> {
        let state: Option<serde_json::Value> = sqlx::query_scalar("SELECT state FROM bot_dialogues WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match state {
            None => Loaded::Missing,
            Some(value) => match serde_json::from_value(value) {
                Ok(session) => Loaded::Found(Box::new(session)),
                Err(e) => Loaded::Unreadable(e),
            },
        })
    }

    pub async fn save(&self, chat_id: i64, session: &Session) -> Result<(), sqlx::Error> {
        let state = serde_json::to_value(session).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO bot_dialogues (chat_id, state) VALUES ($1, $2)
             ON CONFLICT (chat_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()",
        )
        .bind(chat_id)
        .bind(state)
        .execute(&self.pool)
        .await
        .map(drop)
    }
}
