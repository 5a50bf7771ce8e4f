//! The log of operator actions: every login, replay, discard, acknowledged alert and added user,
//! with who did it, what it was applied to and what came of it. Written in the same request as the
//! action, after it; read on the operator-log page.

use crate::auth::Operator;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

/// One logged action.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Action {
    pub id: i64,
    pub operator: String,
    pub role: String,
    pub action: String,
    pub target: Value,
    pub outcome: Value,
    pub created_at: DateTime<Utc>,
}

/// Records that `operator` did `action` to `target`, with `outcome`.
pub async fn record(pool: &PgPool, operator: &Operator, action: &str, target: Value, outcome: Value) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO operator_actions (operator, role, action, target, outcome) VALUES ($1, $2, $3, $4, $5)")
        .bind(&operator.name)
        .bind(operator.role.as_str())
        .bind(action)
        .bind(target)
        .bind(outcome)
        .execute(pool)
        .await?;
    tracing::info!(operator = operator.name, role = %operator.role, action, "operator action");
    Ok(())
}

/// The newest actions first.
pub async fn recent(pool: &PgPool, limit: i64, offset: i64) -> Result<Vec<Action>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, operator, role, action, target, outcome, created_at FROM operator_actions ORDER BY id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}
