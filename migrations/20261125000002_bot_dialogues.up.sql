-- The bot's dialogue state, one row per chat, so a restart of the bot loses no draft.
CREATE TABLE bot_dialogues (
    chat_id    BIGINT      PRIMARY KEY,
    state      JSONB       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
