-- mergeward decision ledger, schema version 4: effects of kind 'push' (batch mode's git
-- pushes: a staging commit to the staging branch, a tested staging commit to the base).
-- The kind's CHECK constraint is part of the table, so the table is rebuilt (SQLite cannot
-- alter a constraint); every row and index is kept. Nothing references `effects`.

CREATE TABLE effects_v4 (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (id),
    decision_id TEXT REFERENCES decisions (id),
    subject TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('merge', 'update', 'label', 'comment', 'status', 'push')),
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

INSERT INTO effects_v4 (id, run_id, decision_id, subject, kind, idempotency_key, discriminator,
    head_sha, base_sha, payload, intent_at, outcome, error, outcome_at)
SELECT id, run_id, decision_id, subject, kind, idempotency_key, discriminator,
    head_sha, base_sha, payload, intent_at, outcome, error, outcome_at
FROM effects;

DROP TABLE effects;
ALTER TABLE effects_v4 RENAME TO effects;

CREATE INDEX effects_key ON effects (idempotency_key);
CREATE INDEX effects_run ON effects (run_id);
CREATE UNIQUE INDEX effects_committed_key ON effects (idempotency_key) WHERE outcome = 'committed';
