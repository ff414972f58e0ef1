-- Alerts raised by detection rules: one row per rule and set of entities while it is open
-- (dedup_key), with a count of the matches; up to 20 sample events each in alert_events.
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    rule_id      TEXT    NOT NULL,
    rule_title   TEXT    NOT NULL,
    level        TEXT    NOT NULL,
    level_rank   INTEGER NOT NULL,  -- 0 informational … 4 critical
    tags         TEXT    NOT NULL,  -- JSON list
    entities     TEXT    NOT NULL,  -- JSON object, keys sorted
    dedup_key    TEXT    NOT NULL,  -- hex SHA-256 of the rule id and the entities
    correlation  INTEGER NOT NULL,
    state        TEXT    NOT NULL,  -- new | acknowledged | closed
    state_reason TEXT,
    state_by     TEXT,
    state_at     INTEGER,
    count        INTEGER NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    event_count  INTEGER NOT NULL,
    search       TEXT    NOT NULL   -- lowercased title, rule id, tags, entity values
) STRICT;
CREATE INDEX alerts_open_by_key ON alerts (dedup_key, last_seen) WHERE state <> 'closed';
CREATE INDEX alerts_by_last_seen ON alerts (last_seen, id);
CREATE INDEX alerts_by_state ON alerts (state, last_seen);
CREATE INDEX alerts_by_rule ON alerts (rule_id);

CREATE TABLE alert_events (
    alert_id  INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    event_id  TEXT,
    time_ns   INTEGER NOT NULL,
    source    TEXT    NOT NULL,
    event     TEXT    NOT NULL,  -- JSON; when truncated, a JSON string of the text's start
    truncated INTEGER NOT NULL,
    PRIMARY KEY (alert_id, seq)
) STRICT;
