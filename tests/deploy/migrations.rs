//! The migrations' way back: every migration's down step restores exactly the schema before it,
//! the whole set reverts to an empty schema and applies again, and docs/migrations.md says for
//! each migration what its down step loses.

use crate::support::{ScratchDb, read_repo_file, repo_file, run_ariza, stdout_of};
use ariza_workers::db::MIGRATOR;
use sqlx::PgPool;

/// The tables the up files create, read from the files themselves (`CREATE TABLE name`), sorted.
fn created_tables() -> Vec<String> {
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(repo_file("migrations")).expect("migrations/") {
        let path = entry.expect("entry").path();
        if !path.to_string_lossy().ends_with(".up.sql") {
            continue;
        }
        let sql = std::fs::read_to_string(&path).expect("read migration");
        for line in sql.lines() {
            let Some(rest) = line.trim_start().strip_prefix("CREATE TABLE ") else { continue };
            let rest = rest.trim_start_matches("IF NOT EXISTS ");
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            tables.push(name);
        }
    }
    tables.sort();
    tables
}

/// The schema as text rows: relations, columns, per-column compression methods, constraints and
/// indexes of `public`, without sqlx's bookkeeping table. Two equal snapshots mean the same schema.
async fn schema(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT format('relation %s %s', c.relname, c.relkind)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v', 'm', 'i') AND c.relname NOT LIKE '_sqlx_migrations%'
         UNION ALL
         SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type, is_nullable, column_default)
           FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'
         UNION ALL
         SELECT format('constraint %s.%s %s', t.relname, k.conname, pg_get_constraintdef(k.oid))
           FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE n.nspname = 'public' AND t.relname <> '_sqlx_migrations'
         UNION ALL
         SELECT format('compression %s.%s %s', c.relname, a.attname, a.attcompression)
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND a.attcompression <> ''
         UNION ALL
         SELECT format('index %s', indexdef) FROM pg_indexes
          WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("schema snapshot")
}

async fn tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        .fetch_all(pool)
        .await
        .expect("list tables")
}

async fn applied_versions(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(pool).await.expect("applied migrations")
}

fn versions() -> Vec<i64> {
    let mut versions: Vec<i64> = MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration()).map(|m| m.version).collect();
    versions.sort_unstable();
    versions.dedup();
    versions
}

#[tokio::test]
async fn every_migration_reverts_to_the_schema_before_it_and_applies_again() {
    let db = ScratchDb::create().await;
    let pool = db.pool().await;

    let mut before = schema(&pool).await;
    let mut previous = 0;
    for version in versions() {
        MIGRATOR.run_to(version, &pool).await.unwrap_or_else(|e| panic!("applying {version}: {e}"));
        let after = schema(&pool).await;
        assert_ne!(after, before, "migration {version} changes nothing");

        MIGRATOR.undo(&pool, previous).await.unwrap_or_else(|e| panic!("reverting {version}: {e}"));
        assert_eq!(schema(&pool).await, before, "reverting {version} leaves the schema as it was before {version}");

        MIGRATOR.run_to(version, &pool).await.unwrap_or_else(|e| panic!("applying {version} again: {e}"));
        assert_eq!(schema(&pool).await, after, "{version} applied again gives the same schema");
        before = after;
        previous = version;
    }
    pool.close().await;
}

#[tokio::test]
async fn all_migrations_revert_to_an_empty_schema_and_apply_again() {
    let db = ScratchDb::create().await;
    let pool = db.pool().await;

    MIGRATOR.run(&pool).await.expect("apply all");
    let applied = schema(&pool).await;
    let mut present = tables(&pool).await;
    present.retain(|t| t != "_sqlx_migrations");
    let expected = created_tables();
    assert!(expected.contains(&"service_requests".to_owned()), "the table list is read from migrations/: {expected:?}");
    assert_eq!(present, expected, "the migrations create ariza's tables");
    assert_eq!(applied_versions(&pool).await, versions());

    MIGRATOR.undo(&pool, 0).await.expect("revert all");
    assert_eq!(tables(&pool).await, ["_sqlx_migrations"], "no ariza table remains, only sqlx's bookkeeping");
    assert!(applied_versions(&pool).await.is_empty(), "no migration is recorded as applied");
    assert!(schema(&pool).await.is_empty(), "nothing of ariza's schema remains");

    MIGRATOR.run(&pool).await.expect("apply all again");
    assert_eq!(schema(&pool).await, applied, "applied again, the schema is the same");
    assert_eq!(applied_versions(&pool).await, versions());
    pool.close().await;
}

#[test]
fn every_migration_has_a_down_step_and_a_section_in_docs_migrations() {
    let doc = read_repo_file("docs/migrations.md");
    let mut ups = 0;
    for entry in std::fs::read_dir(repo_file("migrations")).expect("migrations/") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".up.sql") else { continue };
        ups += 1;
        assert!(repo_file(&format!("migrations/{stem}.down.sql")).exists(), "{name} has no {stem}.down.sql");
        assert!(doc.contains(&format!("## `{stem}`")), "docs/migrations.md has no section `## `{stem}``");
    }
    assert_eq!(ups, versions().len(), "every file in migrations/ is compiled in");
    assert!(
        MIGRATOR.iter().filter(|m| m.migration_type.is_down_migration()).count() == ups,
        "every migration compiled in has its down step"
    );
}

#[tokio::test]
async fn ariza_migrate_reverts_only_with_yes_and_applies_again() {
    let db = ScratchDb::create().await;
    let pool = db.pool().await;
    let env = [("ARIZA__DATABASE__URL", db.url.as_str())];
    let all = versions();
    let first = all[0];

    stdout_of("ariza migrate", &run_ariza(&["migrate"], &env));
    assert_eq!(applied_versions(&pool).await, all);
    let status = stdout_of("ariza migrate --status", &run_ariza(&["migrate", "--status"], &env));
    assert_eq!(status.lines().filter(|l| l.contains(" applied ")).count(), all.len(), "{status}");

    // Without --yes: the plan, a failure exit, and nothing reverted.
    let dry = run_ariza(&["migrate", "--revert-to", "0"], &env);
    assert_eq!(dry.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dry.stdout).contains(&format!("would revert {first}")));
    assert_eq!(applied_versions(&pool).await, all);

    // Back to the first migration, then to nothing.
    stdout_of("revert to the first", &run_ariza(&["migrate", "--revert-to", &first.to_string(), "--yes"], &env));
    assert_eq!(applied_versions(&pool).await, [first]);
    stdout_of("revert all", &run_ariza(&["migrate", "--revert-to", "0", "--yes"], &env));
    assert!(applied_versions(&pool).await.is_empty());
    assert_eq!(tables(&pool).await, ["_sqlx_migrations"]);
    let status = stdout_of("ariza migrate --status", &run_ariza(&["migrate", "--status"], &env));
    assert_eq!(status.lines().filter(|l| l.contains(" pending ")).count(), all.len(), "{status}");

    stdout_of("ariza migrate again", &run_ariza(&["migrate"], &env));
    assert_eq!(applied_versions(&pool).await, all);

    // A migration this binary does not know (a newer release's) is refused, not half-reverted.
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99991231000000, 'from the future', true, '\\x00', 0)")
        .execute(&pool)
        .await
        .expect("record a future migration");
    // The rolled-back release still starts: its `ariza migrate` keeps the newer schema and says so.
    let ahead = run_ariza(&["migrate"], &env);
    stdout_of("ariza migrate on a schema ahead of it", &ahead);
    assert!(String::from_utf8_lossy(&ahead.stderr).contains("ahead of this release"));
    let status = stdout_of("ariza migrate --status", &run_ariza(&["migrate", "--status"], &env));
    assert!(status.contains("99991231000000  unknown"), "{status}");
    let refused = run_ariza(&["migrate", "--revert-to", "0", "--yes"], &env);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("newer release"), "{}", String::from_utf8_lossy(&refused.stderr));
    assert_eq!(applied_versions(&pool).await.len(), all.len() + 1);
    pool.close().await;
}
