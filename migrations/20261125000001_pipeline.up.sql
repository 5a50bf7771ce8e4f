-- The pipeline's schema: staff, clients, applications (service_requests) with their staff-creation
-- columns, the client-selection record, the staff audit, rejected requests, workflow transitions,
-- notifications with their delivery state, and the dead letters.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE staff (
    id          BIGSERIAL PRIMARY KEY,
    telegram_id BIGINT      NOT NULL UNIQUE,
    full_name   TEXT        NOT NULL DEFAULT '',
    role        TEXT        NOT NULL CHECK (role IN ('manager', 'junior_manager', 'controller',
                                                     'call_centre_operator', 'technician', 'administrator')),
    language    TEXT        NOT NULL DEFAULT 'uz' CHECK (language IN ('uz', 'ru')),
    active      BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- "all active staff of the assigned role" is asked for every routed application.
CREATE INDEX staff_active_role_idx ON staff (role) WHERE active;

CREATE TABLE clients (
    id               BIGSERIAL PRIMARY KEY,
    full_name        TEXT        NOT NULL,
    -- Canonical +998XXXXXXXXX. Unique, so two staff members registering the same new phone at the
    -- same moment end with one client (the second insert finds the first).
    phone            TEXT        NOT NULL UNIQUE CHECK (phone ~ '^\+998[1-9][0-9]{8}$'),
    address          TEXT        NOT NULL CHECK (length(btrim(address)) > 0),
    telegram_chat_id BIGINT      UNIQUE,
    language         TEXT        NOT NULL DEFAULT 'uz' CHECK (language IN ('uz', 'ru')),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Search by name: case-insensitive and partial.
CREATE INDEX clients_name_trgm_idx ON clients USING gin (lower(full_name) gin_trgm_ops);
-- Search by a part of the phone number.
CREATE INDEX clients_phone_trgm_idx ON clients USING gin (phone gin_trgm_ops);

CREATE TABLE service_requests (
    -- The application id chosen by the creator: the idempotency key of the whole pipeline.
    id                 UUID        PRIMARY KEY,
    -- The number people say on the phone.
    number             BIGSERIAL   NOT NULL UNIQUE,
    kind               TEXT        NOT NULL CHECK (kind IN ('connection', 'technical')),
    state              TEXT        NOT NULL DEFAULT 'new'
                       CHECK (state IN ('new', 'awaiting_manager', 'awaiting_controller', 'assigned', 'in_progress',
                                        'waiting_equipment', 'completed', 'rated', 'cancelled')),
    client_id          BIGINT      NOT NULL REFERENCES clients (id),
    address            TEXT        NOT NULL CHECK (length(btrim(address)) > 0),
    tariff             TEXT,
    problem            TEXT,
    comment            TEXT,
    created_by_staff   BOOLEAN     NOT NULL,
    staff_creator_id   BIGINT      REFERENCES staff (id),
    staff_creator_role TEXT,
    creation_source    TEXT        NOT NULL CHECK (creation_source IN ('staff', 'client')),
    creator_telegram_id BIGINT     NOT NULL,
    correlation_id     UUID        NOT NULL,
    assigned_role      TEXT,
    assigned_staff_id  BIGINT      REFERENCES staff (id),
    workflow_data      JSONB       NOT NULL DEFAULT '{}',
    submitted_at       TIMESTAMPTZ NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (created_by_staff = (creation_source = 'staff')),
    CHECK (NOT created_by_staff OR (staff_creator_id IS NOT NULL AND staff_creator_role IS NOT NULL)),
    CHECK (kind <> 'technical' OR problem IS NOT NULL)
);
CREATE INDEX service_requests_creator_idx ON service_requests (staff_creator_id, created_at DESC);
CREATE INDEX service_requests_role_idx ON service_requests (staff_creator_role, created_at DESC);
CREATE INDEX service_requests_source_idx ON service_requests (creation_source, created_at DESC);
CREATE INDEX service_requests_state_idx ON service_requests (state, created_at DESC);
CREATE INDEX service_requests_created_idx ON service_requests (created_at DESC);
CREATE INDEX service_requests_client_idx ON service_requests (client_id, created_at DESC);
CREATE INDEX service_requests_assignee_idx ON service_requests (assigned_staff_id, state) WHERE assigned_staff_id IS NOT NULL;

-- How the client of an application was chosen, and what their record said at that moment.
CREATE TABLE client_selection_data (
    application_id   UUID        PRIMARY KEY REFERENCES service_requests (id),
    client_id        BIGINT      NOT NULL REFERENCES clients (id),
    selection_method TEXT        NOT NULL CHECK (selection_method IN ('existing', 'existing_corrected', 'new', 'new_matched_existing')),
    selected_by_staff_id BIGINT  REFERENCES staff (id),
    client_snapshot  JSONB       NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Who created which application for which client, in which role, from which source.
CREATE TABLE staff_application_audit (
    id              BIGSERIAL   PRIMARY KEY,
    application_id  UUID        NOT NULL REFERENCES service_requests (id),
    action          TEXT        NOT NULL DEFAULT 'created',
    staff_id        BIGINT      REFERENCES staff (id),
    staff_role      TEXT,
    client_id       BIGINT      NOT NULL REFERENCES clients (id),
    kind            TEXT        NOT NULL,
    creation_source TEXT        NOT NULL,
    correlation_id  UUID        NOT NULL,
    details         JSONB       NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (application_id, action)
);
CREATE INDEX staff_application_audit_staff_idx ON staff_application_audit (staff_id, created_at DESC);
CREATE INDEX staff_application_audit_created_idx ON staff_application_audit (created_at DESC);

-- A rejected request makes no application row; it is kept here with its reason.
CREATE TABLE rejected_requests (
    application_id      UUID        PRIMARY KEY,
    correlation_id      UUID        NOT NULL,
    creator_telegram_id BIGINT      NOT NULL,
    claimed_role        TEXT        NOT NULL,
    creation_source     TEXT        NOT NULL,
    kind                TEXT        NOT NULL,
    reason_key          TEXT        NOT NULL,
    reason_args         JSONB       NOT NULL DEFAULT '{}',
    reason_text         TEXT        NOT NULL,
    payload             JSONB       NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX rejected_requests_reason_idx ON rejected_requests (reason_key, created_at DESC);
CREATE INDEX rejected_requests_creator_idx ON rejected_requests (creator_telegram_id, created_at DESC);

CREATE TABLE workflow_transitions (
    id              BIGSERIAL   PRIMARY KEY,
    application_id  UUID        NOT NULL REFERENCES service_requests (id),
    -- The idempotency key of the action; the first transition uses the application id.
    request_id      UUID        NOT NULL UNIQUE,
    transition      TEXT        NOT NULL,
    from_state      TEXT        NOT NULL,
    to_state        TEXT        NOT NULL,
    actor_staff_id  BIGINT      REFERENCES staff (id),
    actor_client_id BIGINT      REFERENCES clients (id),
    actor_role      TEXT        NOT NULL,
    comment         TEXT,
    data            JSONB       NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX workflow_transitions_application_idx ON workflow_transitions (application_id, id);

CREATE TABLE notifications (
    id                  BIGSERIAL   PRIMARY KEY,
    -- Makes a send happen at most once however often its request is delivered.
    dedupe_key          TEXT        NOT NULL UNIQUE,
    application_id      UUID,
    correlation_id      UUID        NOT NULL,
    recipient_kind      TEXT        NOT NULL CHECK (recipient_kind IN ('client', 'staff', 'chat')),
    recipient_id        BIGINT      NOT NULL,
    chat_id             BIGINT,
    template_key        TEXT        NOT NULL,
    args                JSONB       NOT NULL DEFAULT '{}',
    language            TEXT,
    text                TEXT,
    status              TEXT        NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sent', 'waiting_link', 'blocked', 'failed')),
    attempts            INTEGER     NOT NULL DEFAULT 0,
    last_error          TEXT,
    telegram_message_id BIGINT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at             TIMESTAMPTZ
);
CREATE INDEX notifications_application_idx ON notifications (application_id);
CREATE INDEX notifications_waiting_idx ON notifications (recipient_kind, recipient_id) WHERE status = 'waiting_link';
CREATE INDEX notifications_status_idx ON notifications (status, created_at DESC);

-- The archive of the dead-letter queue: quorum queues cannot be browsed without consuming, so the
-- console and replay read this table.
CREATE TABLE dead_letters (
    id              BIGSERIAL   PRIMARY KEY,
    -- x-ariza-dead-letter-id, or a key derived from x-death for what the broker dead-lettered.
    dedupe_key      TEXT        NOT NULL UNIQUE,
    stage           TEXT,
    source_queue    TEXT,
    reason          TEXT        NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT,
    application_id  UUID,
    correlation_id  TEXT,
    message_id      TEXT,
    payload         BYTEA       NOT NULL,
    headers         JSONB       NOT NULL DEFAULT '{}',
    death_history   JSONB       NOT NULL DEFAULT '[]',
    first_failed_at TIMESTAMPTZ,
    last_failed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    archived_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    status          TEXT        NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'replayed', 'discarded')),
    replayed_at     TIMESTAMPTZ,
    replay_count    INTEGER     NOT NULL DEFAULT 0,
    discarded_at    TIMESTAMPTZ
);
CREATE INDEX dead_letters_status_idx ON dead_letters (status, last_failed_at DESC);
CREATE INDEX dead_letters_stage_idx ON dead_letters (stage, status);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason, status);
CREATE INDEX dead_letters_application_idx ON dead_letters (application_id);
