-- Alerts on unusual creation activity (config [alerts]): the workers evaluate the rules against
-- service_requests and store each alert here once; the console shows them and administrators
-- acknowledge them. `subject` names who or what the burst is about: `staff:<staff.id>` for
-- staff_burst, `client:<clients.id>` for client_phone_burst. `window_start`..`window_end` spans the
-- creations that crossed the threshold (`count` of them); `notified` is set once the Telegram
-- messages to the administrators are handed to the notification stage.

CREATE TABLE creation_alerts (
    id              BIGSERIAL   PRIMARY KEY,
    rule            TEXT        NOT NULL,
    subject         TEXT        NOT NULL,
    details         JSONB       NOT NULL DEFAULT '{}',
    window_start    TIMESTAMPTZ NOT NULL,
    window_end      TIMESTAMPTZ NOT NULL,
    count           INT         NOT NULL,
    fired_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    notified        BOOLEAN     NOT NULL DEFAULT false,
    acknowledged_at TIMESTAMPTZ NULL,
    acknowledged_by TEXT        NULL,
    CHECK (window_start <= window_end),
    CHECK (count > 0),
    -- One burst is one alert, however many worker processes evaluate it at once: the creation that
    -- crossed the threshold identifies the burst.
    UNIQUE (rule, subject, window_end)
);
-- The console lists the newest first, and the open (unacknowledged) ones.
CREATE INDEX creation_alerts_fired_idx ON creation_alerts (fired_at DESC);
CREATE INDEX creation_alerts_open_idx ON creation_alerts (fired_at DESC) WHERE acknowledged_at IS NULL;
-- The workers look for alerts still to be sent.
CREATE INDEX creation_alerts_unnotified_idx ON creation_alerts (id) WHERE NOT notified;
