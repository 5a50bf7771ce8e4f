//! The pipeline's database sessions plan each statement once, with a generic plan, and a plan made
//! on an empty table (a fresh database, before its first `ANALYZE`) still finds rows by index.

use crate::support::TestEnv;
use ariza_workers::pipeline::Pipeline;

/// Prepares a statement on `conn` and returns the lines of an `EXPLAIN` of its execution.
async fn explain(conn: &mut sqlx::PgConnection, prepare: &'static str, execute: &'static str) -> Vec<String> {
    sqlx::query(prepare).execute(&mut *conn).await.expect(prepare);
    sqlx::query_scalar(execute).fetch_all(&mut *conn).await.expect(execute)
}

#[tokio::test]
async fn the_workers_plan_once_and_a_plan_made_on_an_empty_table_uses_the_index() {
    let env = TestEnv::without_workers().await;
    // The pool the workers run on, as `ariza workers` builds it.
    let pipeline = Pipeline::new(env.settings.clone()).expect("pipeline");
    let mut conn = pipeline.pool().acquire().await.expect("a connection of the workers' pool");
    for (setting, expected) in [("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off"), ("jit", "off")] {
        let value: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
            .fetch_one(&mut *conn)
            .await
            .expect("SHOW");
        assert_eq!(value, expected, "{setting} of the workers' sessions");
    }

    // A batch's keys joined to a table, as the notification stage looks up what it sent before,
    // prepared while `notifications` is empty. Without `enable_seqscan` off, PostgreSQL 15 plans
    // this as a hash join over a scan of the whole table, and keeps that plan for the connection.
    let empty: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications").fetch_one(&mut *conn).await.expect("count");
    assert_eq!(empty, 0);
    let plan = explain(
        &mut conn,
        "PREPARE sent_before(text[]) AS
         SELECT q.key, n.id FROM UNNEST($1::text[]) AS q(key) LEFT JOIN notifications n ON n.dedupe_key = q.key",
        "EXPLAIN (VERBOSE) EXECUTE sent_before('{a,b,c}')",
    )
    .await;
    assert!(plan.iter().any(|line| line.contains("Index")), "the look-up uses an index: {plan:#?}");
    assert!(!plan.iter().any(|line| line.contains("Seq Scan")), "the look-up scans no table: {plan:#?}");
    // A generic plan: the array stays a parameter (a custom plan would show the three keys).
    assert!(plan.iter().any(|line| line.contains("$1")), "a generic plan: {plan:#?}");

    // A session of the pool the bot, the console and the commands use keeps PostgreSQL's defaults.
    let mut other = ariza_workers::db::pool(&env.settings.database).expect("pool").acquire().await.expect("connection");
    let value: String = sqlx::query_scalar("SHOW plan_cache_mode").fetch_one(&mut *other).await.expect("SHOW");
    assert_eq!(value, "auto", "only the workers' sessions change how they plan");
    drop(other);
    drop(conn);
    pipeline.pool().close().await;
    env.cleanup().await;
}
