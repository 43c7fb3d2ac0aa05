-- mergeward decision ledger, schema version 3: how a run ended when it did not end by itself.
-- `ended_by` is 'crashed' (its holder died: a later run under the same lock found it
-- unfinished) or 'interrupted' (SIGINT/SIGTERM); the stored `state` is then 'failed', and
-- readers report the run as crashed or interrupted.

ALTER TABLE runs ADD COLUMN ended_by TEXT;
