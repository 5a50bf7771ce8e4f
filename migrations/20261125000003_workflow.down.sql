-- Reverts the workflow migration. Loses the refusal history, the registration records, the
-- buttons of notifications not sent yet, and the assignment/work/completion/rating/cancellation
-- columns of applications (the transitions in workflow_transitions keep who did what and when,
-- with the rating and comments in their data). Take a backup first (docs/runbooks).
ALTER TABLE notifications DROP COLUMN IF EXISTS markup;
DROP TABLE IF EXISTS client_registrations;
DROP TABLE IF EXISTS workflow_refusals;
ALTER TABLE workflow_transitions DROP COLUMN IF EXISTS notifications;
DROP INDEX IF EXISTS service_requests_rated_idx;
ALTER TABLE service_requests
    DROP COLUMN IF EXISTS assigned_at,
    DROP COLUMN IF EXISTS started_at,
    DROP COLUMN IF EXISTS completed_at,
    DROP COLUMN IF EXISTS completion_report,
    DROP COLUMN IF EXISTS rating,
    DROP COLUMN IF EXISTS rating_comment,
    DROP COLUMN IF EXISTS rated_at,
    DROP COLUMN IF EXISTS cancelled_at,
    DROP COLUMN IF EXISTS cancel_reason;
