-- The operator console: its users (argon2-hashed passwords, administrator or read-only viewer), their
-- sessions (only a hash of each session token is stored), and the log of every operator action.

CREATE TABLE console_users (
    id            BIGSERIAL   PRIMARY KEY,
    name          TEXT        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
    role          TEXT        NOT NULL CHECK (role IN ('administrator', 'viewer')),
    -- A PHC string ($argon2id$v=19$...): never the password itself.
    password_hash TEXT        NOT NULL CHECK (password_hash LIKE '$argon2%'),
    active        BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE console_sessions (
    -- SHA-256 of the session token, hex: a leaked table gives no usable session.
    token_hash    TEXT        PRIMARY KEY,
    -- NULL for a session opened with the configured operator token.
    user_id       BIGINT      REFERENCES console_users (id) ON DELETE CASCADE,
    operator      TEXT        NOT NULL,
    role          TEXT        NOT NULL CHECK (role IN ('administrator', 'viewer')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- Who did what from the console: logins, replays, discards, acknowledged alerts, users added.
CREATE TABLE operator_actions (
    id         BIGSERIAL   PRIMARY KEY,
    operator   TEXT        NOT NULL,
    role       TEXT        NOT NULL,
    action     TEXT        NOT NULL,
    -- What the action was applied to (ids, the filter) and what came of it (counts, skipped ids).
    target     JSONB       NOT NULL DEFAULT '{}',
    outcome    JSONB       NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX operator_actions_created_idx ON operator_actions (created_at DESC);
