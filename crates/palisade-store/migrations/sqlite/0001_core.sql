-- Palisade platform schema, version 1 (SQLite). Applied inside one transaction by
-- SqliteStore::open; recorded in schema_migrations. Times are Unix milliseconds (UTC).
-- `search` columns hold the lowercased text the case-insensitive filters match against, written
-- by the store so that SQLite and PostgreSQL compare exactly the same strings.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT,
    oidc_subject  TEXT    UNIQUE,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER
) STRICT;

CREATE TABLE sessions (
    id_hash    TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip         TEXT,
    user_agent TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE login_links (
    secret_hash TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX login_links_expires ON login_links (expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Append-only. actor_user_id is deliberately not a foreign key: entries outlive their users.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    actor         TEXT    NOT NULL,
    actor_user_id INTEGER,
    action        TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    details       TEXT    NOT NULL,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_actor ON audit_log (actor, id DESC);
CREATE INDEX audit_log_at ON audit_log (at);

-- The end of the chain: the last entry's id and hash, so a removed tail is noticed.
CREATE TABLE audit_head (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_id INTEGER NOT NULL,
    hash    TEXT    NOT NULL
) STRICT;
INSERT INTO audit_head (id, last_id, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE assets (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL,
    key            TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    search         TEXT    NOT NULL,
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    last_report_id INTEGER,
    open_critical  INTEGER NOT NULL DEFAULT 0,
    open_high      INTEGER NOT NULL DEFAULT 0,
    open_medium    INTEGER NOT NULL DEFAULT 0,
    open_low       INTEGER NOT NULL DEFAULT 0,
    open_info      INTEGER NOT NULL DEFAULT 0,
    open_unknown   INTEGER NOT NULL DEFAULT 0,
    risk           INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX assets_risk ON assets (risk DESC, last_seen DESC, id);
CREATE INDEX assets_last_seen ON assets (last_seen DESC, id DESC);

CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    asset_id      INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    received_at   INTEGER NOT NULL,
    format        TEXT    NOT NULL,
    scanners      TEXT    NOT NULL, -- JSON array of strings
    uploaded_by   TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    finding_count INTEGER NOT NULL
) STRICT;
CREATE INDEX reports_asset ON reports (asset_id, id DESC);

CREATE TABLE asset_sboms (
    asset_id    INTEGER PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    report_id   INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    sbom        TEXT    NOT NULL
) STRICT;

-- sev_rank: 0 CRITICAL, 1 HIGH, 2 MEDIUM, 3 LOW, 4 INFO, 5 UNKNOWN (the sort order).
CREATE TABLE findings (
    id                INTEGER PRIMARY KEY,
    asset_id          INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    fingerprint       TEXT    NOT NULL,
    rule_id           TEXT    NOT NULL,
    scanner           TEXT    NOT NULL,
    severity          TEXT    NOT NULL,
    sev_rank          INTEGER NOT NULL,
    title             TEXT    NOT NULL,
    message           TEXT    NOT NULL,
    location          TEXT    NOT NULL,
    package           TEXT,
    installed_version TEXT,
    fixed_version     TEXT,
    search            TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('open', 'fixed')),
    first_seen        INTEGER NOT NULL,
    last_seen         INTEGER NOT NULL,
    fixed_at          INTEGER,
    last_report_id    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX findings_asset_fingerprint ON findings (asset_id, fingerprint);
CREATE INDEX findings_asset_status ON findings (asset_id, status, sev_rank);
CREATE INDEX findings_status_severity ON findings (status, sev_rank, last_seen DESC, id);
CREATE INDEX findings_first_seen ON findings (first_seen);
CREATE INDEX findings_fixed_at ON findings (fixed_at) WHERE fixed_at IS NOT NULL;

-- The finding as the last report had it (JSON text), kept apart so ledger scans stay narrow.
CREATE TABLE finding_raw (
    finding_id INTEGER PRIMARY KEY REFERENCES findings (id) ON DELETE CASCADE,
    raw        TEXT    NOT NULL
) STRICT;

-- Platform-wide open findings by severity at the end of each UTC day (days since the epoch).
CREATE TABLE trend_daily (
    day      INTEGER PRIMARY KEY,
    critical INTEGER NOT NULL,
    high     INTEGER NOT NULL,
    medium   INTEGER NOT NULL,
    low      INTEGER NOT NULL,
    info     INTEGER NOT NULL,
    unknown  INTEGER NOT NULL
) STRICT;
