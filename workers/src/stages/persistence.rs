//! Stage 2, persistence: the application row, the client (new or selected), the client-selection
//! record and the audit row, in one transaction, idempotent on the application id. A batch is
//! committed in one transaction; if that fails for a reason other than an outage, each message is
//! retried alone so one bad message cannot hold back the others.

use crate::db;
use crate::runtime::{Incoming, Outcome, Outgoing, Stage, Unavailable};
use ariza_shared::domain::{SCHEMA_VERSION, ValidatedClient, ValidatedCreation, ValidatedForm, WorkflowCommand};
use ariza_shared::topology::Stage as StageName;
use sqlx::{PgConnection, PgPool};

#[derive(Debug, Clone)]
pub struct Persistence {
    pool: PgPool,
}

impl Persistence {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn persist_batch(&self, batch: &[Incoming<ValidatedCreation>]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for message in batch {
            persist_one(&mut tx, &message.input).await?;
        }
        tx.commit().await
    }

    async fn persist_alone(&self, v: &ValidatedCreation) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        persist_one(&mut tx, v).await?;
        tx.commit().await
    }
}

impl Stage for Persistence {
    type Input = ValidatedCreation;
    const NAME: StageName = StageName::Persistence;

    fn schema_of(input: &ValidatedCreation) -> u32 {
        input.schema
    }

    async fn process(&self, batch: &[Incoming<ValidatedCreation>]) -> Result<Vec<Outcome>, Unavailable> {
        match self.persist_batch(batch).await {
            Ok(()) => Ok(batch.iter().map(|m| next(&m.input)).collect()),
            Err(e) if db::is_outage(&e) => Err(db::unavailable(&e)),
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "batch commit failed, committing one by one");
                let mut outcomes = Vec::with_capacity(batch.len());
                for message in batch {
                    outcomes.push(match self.persist_alone(&message.input).await {
                        Ok(()) => next(&message.input),
                        Err(e) => db::classify(&e)?,
                    });
                }
                Ok(outcomes)
            }
        }
    }

    async fn probe(&self) -> Result<(), Unavailable> {
        db::probe(&self.pool).await
    }
}

/// The workflow command that follows a stored application, also when it was stored before (a
/// redelivery), so a crash between commit and publish leaves nothing stuck.
fn next(v: &ValidatedCreation) -> Outcome {
    let command = WorkflowCommand::Route { schema: SCHEMA_VERSION, application_id: v.application_id, correlation_id: v.correlation_id };
    Outgoing::json(StageName::Workflow, &command, v.correlation_id, Some(v.application_id.to_string()))
        .map_or_else(|e| super::encode_failed(&e), |out| Outcome::Done(vec![out]))
}

/// Stores one application and everything that goes with it. Every statement is idempotent: run
/// twice, it changes nothing the second time.
async fn persist_one(tx: &mut PgConnection, v: &ValidatedCreation) -> Result<(), sqlx::Error> {
    let (client_id, method) = match &v.client {
        ValidatedClient::Existing { client_id, update } => {
            if let Some(update) = update {
                // Applied with the application only: a redelivery after it was stored must not
                // overwrite a later change.
                sqlx::query(
                    "UPDATE clients SET full_name = COALESCE($2, full_name), phone = COALESCE($3, phone),
                         address = COALESCE($4, address), updated_at = now()
                     WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM service_requests WHERE id = $5)",
                )
                .bind(client_id)
                .bind(update.name.as_ref().map(|n| n.as_str()))
                .bind(update.phone.as_ref().map(|p| p.as_str()))
                .bind(update.address.as_ref().map(|a| a.as_str()))
                .bind(v.application_id.0)
                .execute(&mut *tx)
                .await?;
            }
            (*client_id, if update.is_some() { "existing_corrected" } else { "existing" })
        }
        ValidatedClient::New { name, phone, address, telegram_chat_id, language } => {
            // The phone is unique: two staff members registering the same new number at the same
            // moment both end with the one row the first insert made.
            let (id, inserted): (i64, bool) = sqlx::query_as(
                "INSERT INTO clients (full_name, phone, address, telegram_chat_id, language)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (phone) DO UPDATE
                   SET telegram_chat_id = COALESCE(clients.telegram_chat_id, EXCLUDED.telegram_chat_id)
                 RETURNING id, (xmax = 0)",
            )
            .bind(name.as_str())
            .bind(phone.as_str())
            .bind(address.as_str())
            .bind(telegram_chat_id)
            .bind(language.as_str())
            .fetch_one(&mut *tx)
            .await?;
            (id, if inserted { "new" } else { "new_matched_existing" })
        }
    };
    let (tariff, problem, comment) = match &v.form {
        ValidatedForm::Connection { tariff, comment, .. } => (tariff.as_ref().map(|t| t.as_str()), None, comment.as_ref()),
        ValidatedForm::Technical { problem, comment, .. } => (None, Some(problem.as_str()), comment.as_ref()),
    };
    let staff_created = v.staff_creator_id.is_some();
    sqlx::query(
        "WITH app AS (
             INSERT INTO service_requests (id, kind, client_id, address, tariff, problem, comment, created_by_staff,
                 staff_creator_id, staff_creator_role, creation_source, creator_telegram_id, correlation_id, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (id) DO NOTHING
             RETURNING id, client_id, kind, creation_source, correlation_id
         ), selection AS (
             INSERT INTO client_selection_data (application_id, client_id, selection_method, selected_by_staff_id, client_snapshot)
             SELECT app.id, c.id, $15, $9, jsonb_build_object('name', c.full_name, 'phone', c.phone, 'address', c.address)
             FROM app JOIN clients c ON c.id = app.client_id
             ON CONFLICT (application_id) DO NOTHING
         )
         INSERT INTO staff_application_audit (application_id, action, staff_id, staff_role, client_id, kind,
             creation_source, correlation_id, details)
         SELECT app.id, 'created', $9, $10, app.client_id, app.kind, app.creation_source, app.correlation_id,
                jsonb_build_object('selection_method', $15::text, 'creator_telegram_id', $12::bigint)
         FROM app
         ON CONFLICT (application_id, action) DO NOTHING",
    )
    .bind(v.application_id.0)
    .bind(v.form.kind().as_str())
    .bind(client_id)
    .bind(v.form.address().as_str())
    .bind(tariff)
    .bind(problem)
    .bind(comment.map(|c| c.as_str()))
    .bind(staff_created)
    .bind(v.staff_creator_id)
    .bind(staff_created.then(|| v.creator_role.as_str()))
    .bind(v.source.as_str())
    .bind(v.creator_telegram_id)
    .bind(v.correlation_id.0)
    .bind(v.submitted_at)
    .bind(method)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
