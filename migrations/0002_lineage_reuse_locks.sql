-- mergeward decision ledger, schema version 2: decision lineage (supersede chains) and reuse
-- counting, run notes, one committed effect per idempotency key, lease locks.
-- Rows written by version 1 are kept; their lineage is computed from time order per subject.

ALTER TABLE runs ADD COLUMN note TEXT;

ALTER TABLE decisions ADD COLUMN supersedes TEXT;
ALTER TABLE decisions ADD COLUMN superseded_by TEXT;
ALTER TABLE decisions ADD COLUMN superseded_at TEXT;
ALTER TABLE decisions ADD COLUMN reuse_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN last_seen_at TEXT;
ALTER TABLE decisions ADD COLUMN last_seen_run_id TEXT;

UPDATE decisions SET last_seen_at = created_at, last_seen_run_id = run_id;

UPDATE decisions SET supersedes = (
    SELECT p.id FROM decisions p
    WHERE p.subject = decisions.subject
      AND (p.created_at < decisions.created_at
           OR (p.created_at = decisions.created_at AND p.id < decisions.id))
    ORDER BY p.created_at DESC, p.id DESC
    LIMIT 1
);

UPDATE decisions SET
    superseded_by = (SELECT n.id FROM decisions n WHERE n.supersedes = decisions.id),
    superseded_at = (SELECT n.created_at FROM decisions n WHERE n.supersedes = decisions.id);

-- At most one current (not superseded) decision per subject.
CREATE UNIQUE INDEX decisions_current ON decisions (subject) WHERE superseded_by IS NULL;

-- Two processes can never both commit the same effect.
CREATE UNIQUE INDEX effects_committed_key ON effects (idempotency_key) WHERE outcome = 'committed';

-- SQLite lease locks (PostgreSQL uses advisory locks and keeps a row here for diagnostics).
CREATE TABLE locks (
    repo TEXT NOT NULL,
    branch TEXT NOT NULL,
    holder TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (repo, branch)
);
