//! The persistence stage on its own: what one batch stores, in both of its ways (one statement,
//! which is a transaction of its own, and a transaction when the batch corrects a client), and
//! that a redelivered batch stores nothing twice.

use crate::support::{TestEnv, new_client, request};
use ariza_shared::domain::{ApplicationId, ApplicationKind, ClientData, ClientRef, ClientUpdate, Locale, Role, ValidatedCreation};
use ariza_shared::validation::{ClientRecord, CreatorRecord, validate_creation};
use ariza_workers::runtime::{Incoming, Meta, Outcome, Stage as _};
use ariza_workers::stages::persistence::Persistence;

fn incoming(input: &ValidatedCreation) -> Incoming<ValidatedCreation> {
    let meta = Meta {
        correlation_id: input.correlation_id.to_string(),
        application_id: Some(input.application_id.to_string()),
        attempt: 1,
        redelivered: false,
        submitted_at_ms: None,
    };
    Incoming { input: input.clone(), meta }
}

/// Runs one batch through the stage and checks that every message goes on to the workflow.
async fn persist(stage: &Persistence, batch: &[&ValidatedCreation]) {
    let batch: Vec<_> = batch.iter().map(|v| incoming(v)).collect();
    let outcomes = stage.process(&batch).await.expect("the database is up");
    assert_eq!(outcomes.len(), batch.len());
    for outcome in outcomes {
        assert!(matches!(&outcome, Outcome::Done(next) if next.len() == 1), "{outcome:?}");
    }
}

/// An application's client, selection method, and the name and address in its client snapshot,
/// with the method its audit row gives.
async fn stored(env: &TestEnv, id: ApplicationId) -> (i64, String, String, String, String) {
    sqlx::query_as(
        "SELECT r.client_id, s.selection_method, s.client_snapshot->>'name', s.client_snapshot->>'address',
                a.details->>'selection_method'
         FROM service_requests r
         JOIN client_selection_data s ON s.application_id = r.id
         JOIN staff_application_audit a ON a.application_id = r.id
         WHERE r.id = $1",
    )
    .bind(id.0)
    .fetch_one(&env.pool)
    .await
    .expect("the application, its selection and its audit row")
}

#[tokio::test]
async fn a_batch_stores_each_new_phone_once_with_its_selection_and_snapshot_and_a_redelivery_nothing_twice() {
    let env = TestEnv::without_workers().await;
    let manager = env.staff(6001, Role::Manager, Locale::Uz).await;
    let creator = CreatorRecord::Staff { id: manager.id, role: Role::Manager, active: true, language: Locale::Uz };
    let known = env.client("Eski Mijoz", "+998901112233", None, Locale::Uz).await;
    let selected = env.client("Tanlangan Mijoz", "+998904445566", None, Locale::Ru).await;
    let record = ClientRecord { id: selected, telegram_chat_id: None, phone_owner: None };
    let valid = |client: ClientRef, record: Option<ClientRecord>| {
        validate_creation(&request(ApplicationKind::Connection, 6001, Role::Manager, client), &creator, record).expect("valid")
    };
    // Two applications for one new phone, one "new" client whose phone (typed another way) is a
    // client's already, and a selected client.
    let first = valid(new_client(71), None);
    let second = valid(new_client(71), None);
    let known_phone = ClientRef::New(ClientData {
        name: "Boshqa Ism".into(),
        phone: "90 111 22 33".into(),
        address: "Samarqand".into(),
        language: None,
    });
    let matched = valid(known_phone, None);
    let existing = valid(ClientRef::Existing { client_id: selected, update: None }, Some(record));
    let stage = Persistence::new(env.pool.clone());
    persist(&stage, &[&first, &second, &matched, &existing]).await;

    assert_eq!(env.count("SELECT count(*) FROM clients").await, 3, "the new phone made one client");
    let (new_id, method, name, address, audited) = stored(&env, first.application_id).await;
    assert_ne!(new_id, known);
    assert_ne!(new_id, selected);
    assert_eq!((method.as_str(), name.as_str(), address.as_str(), audited.as_str()), ("new", "Mijoz 71", "Toshkent", "new"));
    let (id, method, name, _, audited) = stored(&env, second.application_id).await;
    assert_eq!((id, method.as_str(), name.as_str(), audited.as_str()), (new_id, "new_matched_existing", "Mijoz 71", "new_matched_existing"));
    // The client kept as they were: the snapshot is the row, not what the request said.
    let (id, method, name, address, _) = stored(&env, matched.application_id).await;
    assert_eq!((id, method.as_str(), name.as_str(), address.as_str()), (known, "new_matched_existing", "Eski Mijoz", "Toshkent"));
    let (id, method, name, _, _) = stored(&env, existing.application_id).await;
    assert_eq!((id, method.as_str(), name.as_str()), (selected, "existing", "Tanlangan Mijoz"));

    // A batch that corrects a client (a transaction), with a copy of an application stored before
    // and the same new phone once more.
    let update = ClientUpdate { address: Some("Chilonzor 1-1".into()), ..ClientUpdate::default() };
    let corrected = valid(ClientRef::Existing { client_id: selected, update: Some(update) }, Some(record));
    let third = valid(new_client(71), None);
    persist(&stage, &[&corrected, &first, &third]).await;
    let (id, method, _, address, audited) = stored(&env, corrected.application_id).await;
    assert_eq!((id, method.as_str(), address.as_str(), audited.as_str()), (selected, "existing_corrected", "Chilonzor 1-1", "existing_corrected"));
    let (id, method, ..) = stored(&env, third.application_id).await;
    assert_eq!((id, method.as_str()), (new_id, "new_matched_existing"));
    assert_eq!(stored(&env, first.application_id).await.1, "new", "the copy changed nothing");

    // Both batches again, after a later change to the corrected client: nothing is stored twice,
    // and the correction does not overwrite the later change.
    sqlx::query("UPDATE clients SET address = 'Keyin' WHERE id = $1").bind(selected).execute(&env.pool).await.expect("update");
    persist(&stage, &[&first, &second, &matched, &existing]).await;
    persist(&stage, &[&corrected, &first, &third]).await;
    for table in ["service_requests", "client_selection_data", "staff_application_audit"] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&env.pool)
            .await
            .expect("count");
        assert_eq!(count, 6, "{table}");
    }
    assert_eq!(env.count("SELECT count(*) FROM clients").await, 3);
    let address: String =
        sqlx::query_scalar("SELECT address FROM clients WHERE id = $1").bind(selected).fetch_one(&env.pool).await.expect("client");
    assert_eq!(address, "Keyin");
    env.cleanup().await;
}
