-- The notifications a transition, refusal or registration published, and each notification's
-- arguments and buttons, become `json` instead of `jsonb`: the text the workers wrote, checked to
-- be JSON, instead of a binary form built from it. Nothing queries inside these values; they are
-- read back whole (to publish again after a redelivery, to resend once a client links Telegram)
-- and decoded by the workers. Building the binary form was the costliest part of storing them:
-- for a new application's 1.7 KB of notifications about three times the cost of the check.
-- Every table is rewritten under an ACCESS EXCLUSIVE lock, once.
ALTER TABLE workflow_transitions ALTER COLUMN notifications TYPE json USING notifications::json;
ALTER TABLE workflow_refusals
    ALTER COLUMN notifications DROP DEFAULT,
    ALTER COLUMN notifications TYPE json USING notifications::json,
    ALTER COLUMN notifications SET DEFAULT '[]';
ALTER TABLE client_registrations
    ALTER COLUMN notifications DROP DEFAULT,
    ALTER COLUMN notifications TYPE json USING notifications::json,
    ALTER COLUMN notifications SET DEFAULT '[]';
ALTER TABLE notifications
    ALTER COLUMN args DROP DEFAULT,
    ALTER COLUMN args TYPE json USING args::json,
    ALTER COLUMN args SET DEFAULT '{}',
    ALTER COLUMN markup TYPE json USING markup::json;
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
