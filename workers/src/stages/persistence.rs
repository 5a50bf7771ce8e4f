//! Stage 2, persistence: the application row, the client (new or selected), the client-selection
//! record and the audit row, in one transaction, idempotent on the application id. A batch is
//! written with multi-row statements (one for its new clients, one for its applications with their
//! selection and audit rows) and committed in one transaction; if that fails for a reason other
//! than an outage, each message is retried alone so one bad message cannot hold back the others.

use crate::db;
use crate::runtime::{Incoming, Outcome, Outgoing, Stage, Unavailable};
use ariza_shared::domain::{SCHEMA_VERSION, ValidatedClient, ValidatedCreation, ValidatedForm, WorkflowCommand};
use ariza_shared::topology::Stage as StageName;
use sqlx::{PgConnection, PgPool};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct Persistence {
    pool: PgPool,
}

impl Persistence {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn persist_batch(&self, batch: &[Incoming<ValidatedCreation>]) -> Result<(), sqlx::Error> {
        let items: Vec<&ValidatedCreation> = batch.iter().map(|m| &m.input).collect();
        let mut tx = self.pool.begin().await?;
        persist_many(&mut tx, &items).await?;
        tx.commit().await
    }

    async fn persist_alone(&self, v: &ValidatedCreation) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        persist_many(&mut tx, &[v]).await?;
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

/// Stores the applications of a batch and everything that goes with them. Every statement is
/// idempotent: run twice, it changes nothing the second time.
async fn persist_many(tx: &mut PgConnection, batch: &[&ValidatedCreation]) -> Result<(), sqlx::Error> {
    // A message delivered twice within one batch is stored once.
    let mut seen_ids = HashSet::new();
    let batch: Vec<&ValidatedCreation> = batch.iter().copied().filter(|v| seen_ids.insert(v.application_id)).collect();
    // Corrections to existing clients, applied with the application only: a redelivery after it
    // was stored must not overwrite a later change. Rare, so one statement each.
    for v in &batch {
        if let ValidatedClient::Existing { client_id, update: Some(update) } = &v.client {
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
    }
    let clients = new_clients(tx, &batch).await?;
    let mut first_use = HashSet::new();
    let mut rows = AppRows::default();
    for v in &batch {
        let (client_id, method) = match &v.client {
            ValidatedClient::Existing { client_id, update } => {
                (*client_id, if update.is_some() { "existing_corrected" } else { "existing" })
            }
            ValidatedClient::New { phone, .. } => {
                let Some(&(id, inserted)) = clients.get(phone.as_str()) else {
                    return Err(sqlx::Error::Protocol(format!("no client row came back for application {}", v.application_id)));
                };
                // Only the first application of a phone the insert created made a new client.
                (id, if inserted && first_use.insert(phone.as_str()) { "new" } else { "new_matched_existing" })
            }
        };
        rows.push(v, client_id, method);
    }
    rows.insert(tx).await
}

/// Inserts the batch's new clients, once per phone. The phone is unique: two staff members
/// registering the same new number at the same moment both end with the one row the first insert
/// made, and a client's own chat is kept. Returns each phone's client id and whether this insert
/// created it.
async fn new_clients(tx: &mut PgConnection, batch: &[&ValidatedCreation]) -> Result<HashMap<String, (i64, bool)>, sqlx::Error> {
    let (mut names, mut phones, mut addresses, mut chats, mut languages) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for v in batch {
        if let ValidatedClient::New { name, phone, address, telegram_chat_id, language } = &v.client
            && seen.insert(phone.as_str())
        {
            names.push(name.as_str());
            phones.push(phone.as_str());
            addresses.push(address.as_str());
            chats.push(*telegram_chat_id);
            languages.push(language.as_str());
        }
    }
    if phones.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, bool)> = sqlx::query_as(
        "INSERT INTO clients (full_name, phone, address, telegram_chat_id, language)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
         ON CONFLICT (phone) DO UPDATE
           SET telegram_chat_id = COALESCE(clients.telegram_chat_id, EXCLUDED.telegram_chat_id)
         RETURNING id, phone, (xmax = 0)",
    )
    .bind(&names)
    .bind(&phones)
    .bind(&addresses)
    .bind(&chats)
    .bind(&languages)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().map(|(id, phone, inserted)| (phone, (id, inserted))).collect())
}

/// The applications of a batch as columns, for one multi-row insert.
#[derive(Default)]
struct AppRows<'a> {
    ids: Vec<uuid::Uuid>,
    kinds: Vec<&'static str>,
    client_ids: Vec<i64>,
    addresses: Vec<&'a str>,
    tariffs: Vec<Option<&'a str>>,
    problems: Vec<Option<&'a str>>,
    comments: Vec<Option<&'a str>>,
    staff_created: Vec<bool>,
    staff_ids: Vec<Option<i64>>,
    staff_roles: Vec<Option<&'static str>>,
    sources: Vec<&'static str>,
    creators: Vec<i64>,
    correlations: Vec<uuid::Uuid>,
    submitted: Vec<chrono::DateTime<chrono::Utc>>,
    methods: Vec<&'static str>,
}

impl<'a> AppRows<'a> {
    fn push(&mut self, v: &'a ValidatedCreation, client_id: i64, method: &'static str) {
        let (tariff, problem, comment) = match &v.form {
            ValidatedForm::Connection { tariff, comment, .. } => (tariff.as_ref().map(|t| t.as_str()), None, comment.as_ref()),
            ValidatedForm::Technical { problem, comment, .. } => (None, Some(problem.as_str()), comment.as_ref()),
        };
        let staff_created = v.staff_creator_id.is_some();
        self.ids.push(v.application_id.0);
        self.kinds.push(v.form.kind().as_str());
        self.client_ids.push(client_id);
        self.addresses.push(v.form.address().as_str());
        self.tariffs.push(tariff);
        self.problems.push(problem);
        self.comments.push(comment.map(|c| c.as_str()));
        self.staff_created.push(staff_created);
        self.staff_ids.push(v.staff_creator_id);
        self.staff_roles.push(staff_created.then(|| v.creator_role.as_str()));
        self.sources.push(v.source.as_str());
        self.creators.push(v.creator_telegram_id);
        self.correlations.push(v.correlation_id.0);
        self.submitted.push(v.submitted_at);
        self.methods.push(method);
    }

    /// The applications, their client-selection records and their audit rows, in one statement;
    /// an application stored before (a redelivery) writes nothing. The client snapshot is a
    /// subquery by primary key rather than a join, so that no plan scans the whole table of
    /// clients for a batch (as one did on a fresh database, before its first `ANALYZE`).
    ///
    /// Only the application's insert has an `ON CONFLICT`: the other two insert rows for the
    /// applications it has just inserted (its `RETURNING`), which no other transaction can have
    /// rows for, as their foreign keys need the application. An `ON CONFLICT` on them would never
    /// fire, and would still make each of their rows a speculative insertion: one more index probe
    /// and one more WAL record per row.
    async fn insert(self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "WITH input AS (
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                                      $8::bool[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::uuid[],
                                      $14::timestamptz[], $15::text[])
                     AS i(id, kind, client_id, address, tariff, problem, comment, created_by_staff, staff_creator_id,
                          staff_creator_role, creation_source, creator_telegram_id, correlation_id, submitted_at, method)
             ), app AS (
                 INSERT INTO service_requests (id, kind, client_id, address, tariff, problem, comment, created_by_staff,
                     staff_creator_id, staff_creator_role, creation_source, creator_telegram_id, correlation_id, submitted_at)
                 SELECT id, kind, client_id, address, tariff, problem, comment, created_by_staff, staff_creator_id,
                        staff_creator_role, creation_source, creator_telegram_id, correlation_id, submitted_at
                 FROM input
                 ON CONFLICT (id) DO NOTHING
                 RETURNING id, client_id, kind, creation_source, correlation_id
             ), selection AS (
                 INSERT INTO client_selection_data (application_id, client_id, selection_method, selected_by_staff_id, client_snapshot)
                 SELECT app.id, app.client_id, i.method, i.staff_creator_id,
                        (SELECT jsonb_build_object('name', c.full_name, 'phone', c.phone, 'address', c.address)
                         FROM clients c WHERE c.id = app.client_id)
                 FROM app JOIN input i ON i.id = app.id
             )
             INSERT INTO staff_application_audit (application_id, action, staff_id, staff_role, client_id, kind,
                 creation_source, correlation_id, details)
             SELECT app.id, 'created', i.staff_creator_id, i.staff_creator_role, app.client_id, app.kind, app.creation_source,
                    app.correlation_id, jsonb_build_object('selection_method', i.method, 'creator_telegram_id', i.creator_telegram_id)
             FROM app JOIN input i ON i.id = app.id",
        )
        .bind(&self.ids)
        .bind(&self.kinds)
        .bind(&self.client_ids)
        .bind(&self.addresses)
        .bind(&self.tariffs)
        .bind(&self.problems)
        .bind(&self.comments)
        .bind(&self.staff_created)
        .bind(&self.staff_ids)
        .bind(&self.staff_roles)
        .bind(&self.sources)
        .bind(&self.creators)
        .bind(&self.correlations)
        .bind(&self.submitted)
        .bind(&self.methods)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}
