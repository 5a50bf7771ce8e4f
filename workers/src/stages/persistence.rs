//! Stage 2, persistence: the application row, the client (new or selected), the client-selection
//! record and the audit row, in one transaction, idempotent on the application id. A batch is
//! written with one multi-row statement (its new clients, its applications, their selection and
//! audit rows), which PostgreSQL runs as a transaction of its own; if that fails for a reason other
//! than an outage, each message is retried alone so one bad message cannot hold back the others.

use crate::db;
use crate::runtime::{Incoming, Outcome, Outgoing, Stage, Unavailable};
use ariza_shared::domain::{SCHEMA_VERSION, ValidatedClient, ValidatedClientUpdate, ValidatedCreation, ValidatedForm, WorkflowCommand};
use ariza_shared::topology::Stage as StageName;
use sqlx::{PgConnection, PgPool};
use std::collections::HashSet;

#[derive(Debug, Clone)]
pub struct Persistence {
    pool: PgPool,
}

impl Persistence {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Stores a batch of applications and everything that goes with them: one statement, which
    /// is a transaction of its own, so under light load (a batch of one) storing an application is
    /// one round trip rather than four (`BEGIN`, the clients, the applications, `COMMIT`). A batch
    /// that corrects an existing client runs the corrections first, in one transaction with it.
    async fn persist(&self, batch: &[&ValidatedCreation]) -> Result<(), sqlx::Error> {
        // A message delivered twice within one batch is stored once.
        let mut seen = HashSet::new();
        let batch: Vec<&ValidatedCreation> = batch.iter().copied().filter(|v| seen.insert(v.application_id)).collect();
        let rows = Rows::of(&batch);
        if batch.iter().any(|v| correction(v).is_some()) {
            let mut tx = self.pool.begin().await?;
            correct_clients(&mut tx, &batch).await?;
            rows.insert(&mut tx).await?;
            tx.commit().await
        } else {
            rows.insert(&mut *self.pool.acquire().await?).await
        }
    }
}

impl Stage for Persistence {
    type Input = ValidatedCreation;
    const NAME: StageName = StageName::Persistence;

    fn schema_of(input: &ValidatedCreation) -> u32 {
        input.schema
    }

    async fn process(&self, batch: &[Incoming<ValidatedCreation>]) -> Result<Vec<Outcome>, Unavailable> {
        let items: Vec<&ValidatedCreation> = batch.iter().map(|m| &m.input).collect();
        match self.persist(&items).await {
            Ok(()) => Ok(batch.iter().map(|m| next(&m.input)).collect()),
            Err(e) if db::is_outage(&e) => Err(db::unavailable(&e)),
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "batch commit failed, committing one by one");
                let mut outcomes = Vec::with_capacity(batch.len());
                for message in batch {
                    outcomes.push(match self.persist(&[&message.input]).await {
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

/// The correction a request makes to an existing client, if any.
fn correction(v: &ValidatedCreation) -> Option<(i64, &ValidatedClientUpdate)> {
    match &v.client {
        ValidatedClient::Existing { client_id, update: Some(update) } => Some((*client_id, update)),
        _ => None,
    }
}

/// Corrections to existing clients, applied with the application only: a redelivery after it was
/// stored must not overwrite a later change. Rare, so one statement each.
async fn correct_clients(tx: &mut PgConnection, batch: &[&ValidatedCreation]) -> Result<(), sqlx::Error> {
    for v in batch {
        if let Some((client_id, update)) = correction(v) {
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
    Ok(())
}

/// A batch as columns, for one statement: its new clients, once per phone, and its applications.
#[derive(Default)]
struct Rows<'a> {
    client_names: Vec<&'a str>,
    client_phones: Vec<&'a str>,
    client_addresses: Vec<&'a str>,
    client_chats: Vec<Option<i64>>,
    client_languages: Vec<&'static str>,
    ids: Vec<uuid::Uuid>,
    kinds: Vec<&'static str>,
    /// The selected client; `None` for a new one, found by `new_phones`.
    client_ids: Vec<Option<i64>>,
    new_phones: Vec<Option<&'a str>>,
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
    /// The selection method; `new` for the first application of a new phone in the batch, which
    /// the statement turns into `new_matched_existing` when the phone turns out to be a client's
    /// already.
    methods: Vec<&'static str>,
}

impl<'a> Rows<'a> {
    fn of(batch: &[&'a ValidatedCreation]) -> Self {
        let mut rows = Self::default();
        let mut phones = HashSet::new();
        for v in batch {
            let (client_id, new_phone, method) = match &v.client {
                ValidatedClient::Existing { client_id, update } => {
                    (Some(*client_id), None, if update.is_some() { "existing_corrected" } else { "existing" })
                }
                ValidatedClient::New { name, phone, address, telegram_chat_id, language } => {
                    // Only the first application of a phone can have made its client.
                    let first = phones.insert(phone.as_str());
                    if first {
                        rows.client_names.push(name.as_str());
                        rows.client_phones.push(phone.as_str());
                        rows.client_addresses.push(address.as_str());
                        rows.client_chats.push(*telegram_chat_id);
                        rows.client_languages.push(language.as_str());
                    }
                    (None, Some(phone.as_str()), if first { "new" } else { "new_matched_existing" })
                }
            };
            rows.push(v, client_id, new_phone, method);
        }
        rows
    }

    fn push(&mut self, v: &'a ValidatedCreation, client_id: Option<i64>, new_phone: Option<&'a str>, method: &'static str) {
        let (tariff, problem, comment) = match &v.form {
            ValidatedForm::Connection { tariff, comment, .. } => (tariff.as_ref().map(|t| t.as_str()), None, comment.as_ref()),
            ValidatedForm::Technical { problem, comment, .. } => (None, Some(problem.as_str()), comment.as_ref()),
        };
        let staff_created = v.staff_creator_id.is_some();
        self.ids.push(v.application_id.0);
        self.kinds.push(v.form.kind().as_str());
        self.client_ids.push(client_id);
        self.new_phones.push(new_phone);
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

    /// The new clients, the applications, their client-selection records and their audit rows, in
    /// one statement; an application stored before (a redelivery) writes nothing.
    ///
    /// A new client is inserted once per phone. The phone is unique: two staff members
    /// registering the same new number at the same moment both end with the one row the first
    /// insert made (the second waits for the first to commit, then takes its row), and a client's
    /// own chat is kept. Its snapshot comes from the insert's `RETURNING`, as the statement's
    /// other parts cannot see the rows it inserts. A selected client's snapshot is a subquery by
    /// primary key rather than a join, so that no plan scans the whole table of clients for a
    /// batch (as one did on a fresh database, before its first `ANALYZE`).
    ///
    /// Only the inserts of clients and applications have an `ON CONFLICT`: the other two insert
    /// rows for the applications it has just inserted (its `RETURNING`), which no other
    /// transaction can have rows for, as their foreign keys need the application. An `ON
    /// CONFLICT` on them would never fire, and would still make each of their rows a speculative
    /// insertion: one more index probe and one more WAL record per row.
    async fn insert(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "WITH client AS (
                 INSERT INTO clients (full_name, phone, address, telegram_chat_id, language)
                 SELECT * FROM UNNEST($16::text[], $17::text[], $18::text[], $19::bigint[], $20::text[])
                 ON CONFLICT (phone) DO UPDATE
                   SET telegram_chat_id = COALESCE(clients.telegram_chat_id, EXCLUDED.telegram_chat_id)
                 RETURNING id, phone, full_name, address, (xmax = 0) AS inserted
             ), input AS (
                 SELECT i.id, i.kind, COALESCE(i.client_id, c.id) AS client_id, i.address, i.tariff, i.problem, i.comment,
                        i.created_by_staff, i.staff_creator_id, i.staff_creator_role, i.creation_source,
                        i.creator_telegram_id, i.correlation_id, i.submitted_at,
                        CASE WHEN i.method = 'new' AND NOT c.inserted THEN 'new_matched_existing' ELSE i.method END AS method,
                        CASE WHEN c.id IS NOT NULL
                             THEN jsonb_build_object('name', c.full_name, 'phone', c.phone, 'address', c.address) END AS snapshot
                 FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::bool[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::uuid[],
                             $14::timestamptz[], $15::text[], $21::text[])
                     AS i(id, kind, client_id, address, tariff, problem, comment, created_by_staff, staff_creator_id,
                          staff_creator_role, creation_source, creator_telegram_id, correlation_id, submitted_at, method,
                          new_phone)
                 LEFT JOIN client c ON c.phone = i.new_phone
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
                        COALESCE(i.snapshot, (SELECT jsonb_build_object('name', c.full_name, 'phone', c.phone, 'address', c.address)
                                              FROM clients c WHERE c.id = app.client_id))
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
        .bind(&self.client_names)
        .bind(&self.client_phones)
        .bind(&self.client_addresses)
        .bind(&self.client_chats)
        .bind(&self.client_languages)
        .bind(&self.new_phones)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
