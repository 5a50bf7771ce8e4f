-- The application's whole life: what each later transition leaves on the application (assignment,
-- work, completion, rating, cancellation), the workflow actions that were refused (and why), client
-- registrations from the bot, and what each of them published, so a redelivery publishes exactly
-- the same notifications again. Notifications keep their buttons for a send after a link.

ALTER TABLE service_requests
    ADD COLUMN assigned_at       TIMESTAMPTZ,
    ADD COLUMN started_at        TIMESTAMPTZ,
    ADD COLUMN completed_at      TIMESTAMPTZ,
    ADD COLUMN completion_report TEXT,
    ADD COLUMN rating            SMALLINT CHECK (rating BETWEEN 1 AND 5),
    ADD COLUMN rating_comment    TEXT,
    ADD COLUMN rated_at          TIMESTAMPTZ,
    ADD COLUMN cancelled_at      TIMESTAMPTZ,
    ADD COLUMN cancel_reason     TEXT;
-- Staff look at the ratings of completed work.
CREATE INDEX service_requests_rated_idx ON service_requests (rated_at DESC) WHERE rating IS NOT NULL;

-- The notifications a transition published; NULL for transitions recorded before this migration.
ALTER TABLE workflow_transitions ADD COLUMN notifications JSONB;

-- A workflow action that was not applied: who asked, what they saw, what the application was, and
-- the reason they were told. The request id makes a redelivery tell them once.
CREATE TABLE workflow_refusals (
    request_id        UUID        PRIMARY KEY,
    application_id    UUID        NOT NULL,
    correlation_id    UUID        NOT NULL,
    transition        TEXT        NOT NULL,
    actor_telegram_id BIGINT      NOT NULL,
    actor_role        TEXT        NOT NULL,
    expected_state    TEXT        NOT NULL,
    -- NULL when the application does not exist.
    actual_state      TEXT,
    reason_key        TEXT        NOT NULL,
    reason_args       JSONB       NOT NULL DEFAULT '{}',
    reason_text       TEXT        NOT NULL,
    notifications     JSONB       NOT NULL DEFAULT '[]',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX workflow_refusals_application_idx ON workflow_refusals (application_id, created_at DESC);
CREATE INDEX workflow_refusals_reason_idx ON workflow_refusals (reason_key, created_at DESC);

-- A client registering in the bot: a new client, a link of their chat to the record staff made
-- for the same phone, or a refusal.
CREATE TABLE client_registrations (
    request_id       UUID        PRIMARY KEY,
    correlation_id   UUID        NOT NULL,
    telegram_chat_id BIGINT      NOT NULL,
    client_id        BIGINT      REFERENCES clients (id),
    outcome          TEXT        NOT NULL CHECK (outcome IN ('registered', 'linked', 'refused')),
    reason_key       TEXT,
    reason_args      JSONB       NOT NULL DEFAULT '{}',
    notifications    JSONB       NOT NULL DEFAULT '[]',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((outcome = 'refused') = (client_id IS NULL))
);
CREATE INDEX client_registrations_chat_idx ON client_registrations (telegram_chat_id, created_at DESC);

-- The buttons of a notification, as requested (labels are message keys), for a send that happens
-- later than the request (after a client links their chat).
ALTER TABLE notifications ADD COLUMN markup JSONB;
