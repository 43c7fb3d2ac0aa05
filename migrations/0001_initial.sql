-- mergeward decision ledger, schema version 1.
-- Common SQL dialect for SQLite and PostgreSQL: TEXT ids (uuid v7) and timestamps
-- (RFC 3339 UTC, millisecond precision, `Z`), BIGINT flags (0/1), JSON as TEXT.
-- Never edit an applied migration: add a new one (the runner checks a sha256 of each file).

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    forge TEXT NOT NULL,
    repo TEXT NOT NULL,
    branch TEXT NOT NULL,
    dry_run BIGINT NOT NULL DEFAULT 0,
    tool_version TEXT NOT NULL,
    config_digest TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL CHECK (state IN ('planned', 'running', 'completed', 'partially_committed', 'failed', 'skipped'))
);
CREATE INDEX runs_started ON runs (started_at, id);

CREATE TABLE decisions (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    subject TEXT NOT NULL,
    action TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    reason_text TEXT NOT NULL,
    evidence TEXT NOT NULL,
    head_sha TEXT,
    base_sha TEXT,
    dry_run BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX decisions_subject ON decisions (subject, created_at);
CREATE INDEX decisions_run ON decisions (run_id);

CREATE TABLE effects (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    decision_id TEXT REFERENCES decisions (id),
    subject TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('merge', 'update', 'label', 'comment', 'status')),
    idempotency_key TEXT NOT NULL,
    discriminator TEXT NOT NULL,
    head_sha TEXT,
    base_sha TEXT,
    payload TEXT NOT NULL,
    intent_at TEXT NOT NULL,
    outcome TEXT CHECK (outcome IN ('committed', 'failed', 'unknown')),
    error TEXT,
    outcome_at TEXT
);
CREATE INDEX effects_key ON effects (idempotency_key);
CREATE INDEX effects_run ON effects (run_id);
