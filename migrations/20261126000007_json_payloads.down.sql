-- Back to `jsonb`: the same values in binary form (key order and white space normalised).
ALTER TABLE workflow_transitions ALTER COLUMN notifications TYPE jsonb USING notifications::jsonb;
ALTER TABLE workflow_refusals
    ALTER COLUMN notifications DROP DEFAULT,
    ALTER COLUMN notifications TYPE jsonb USING notifications::jsonb,
    ALTER COLUMN notifications SET DEFAULT '[]';
ALTER TABLE client_registrations
    ALTER COLUMN notifications DROP DEFAULT,
    ALTER COLUMN notifications TYPE jsonb USING notifications::jsonb,
    ALTER COLUMN notifications SET DEFAULT '[]';
ALTER TABLE notifications
    ALTER COLUMN args DROP DEFAULT,
    ALTER COLUMN args TYPE jsonb USING args::jsonb,
    ALTER COLUMN args SET DEFAULT '{}',
    ALTER COLUMN markup TYPE jsonb USING markup::jsonb;
-- A change of type resets the compression method: the stored notifications keep lz4, as
-- migration 20261126000006 set it, where the server has lz4.
DO $$
BEGIN
    ALTER TABLE workflow_transitions ALTER COLUMN notifications SET COMPRESSION lz4;
    ALTER TABLE workflow_refusals ALTER COLUMN notifications SET COMPRESSION lz4;
    ALTER TABLE client_registrations ALTER COLUMN notifications SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: the stored notifications stay compressed with pglz';
END
$$;
