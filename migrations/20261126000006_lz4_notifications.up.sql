-- The notifications a transition, refusal or registration published are stored beside it as JSONB:
-- for a new application about 1.7 KB of JSON, which takes the row over PostgreSQL's 2 KB threshold,
-- so the value is compressed in place. The default method, pglz, showed in a profile of the
-- benchmark's database (about 2.5% of PostgreSQL's CPU, one compression per application); lz4
-- compresses the same values several times faster. A server built without lz4 keeps pglz: the
-- statements are skipped with a notice.
DO $$
BEGIN
    ALTER TABLE workflow_transitions ALTER COLUMN notifications SET COMPRESSION lz4;
    ALTER TABLE workflow_refusals ALTER COLUMN notifications SET COMPRESSION lz4;
    ALTER TABLE client_registrations ALTER COLUMN notifications SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: the stored notifications stay compressed with pglz';
END
$$;
