-- The same data is never counted twice (docs/ingest.md, "Duplicates").
-- 1. The ledger knows each key's current content (current_key) and which key holds a content now
--    (current_content, per dataset): bytes that are the current content of any key are a duplicate; bytes
--    superseded under their key (A, then B, then A again) load again. source_hash is no longer unique.
-- 2. health_metrics stores a reading once per (user_id, event_time): readings already stored twice are
--    removed first, keeping the first one (the migration's log line gives the number of rows removed).
-- Re-run whole after an interruption: an ALTER already applied is passed over (chalicelib/core/migrations.py),
-- and the backfill computes the same pointers the ledger keeps.
ALTER TABLE ingest_ledger
    ADD COLUMN current_key CHAR(64) NULL,
    ADD COLUMN current_content CHAR(64) NULL,
    DROP INDEX uq_ingest_ledger_source,
    ADD INDEX idx_ingest_ledger_source (source_hash);

UPDATE ingest_ledger SET current_key = NULL, current_content = NULL;

-- a key's current content: its latest ingest
UPDATE ingest_ledger l
  JOIN (SELECT key_hash, MAX(id) AS id FROM ingest_ledger WHERE status <> 'duplicate' GROUP BY key_hash) latest
    ON l.id = latest.id
   SET l.current_key = l.key_hash;

-- bytes current under several keys: the first of them holds them
UPDATE ingest_ledger l
  JOIN (SELECT MIN(id) AS id FROM ingest_ledger WHERE current_key IS NOT NULL GROUP BY dataset, content_sha256) kept
    ON l.id = kept.id
   SET l.current_content = l.content_sha256;

ALTER TABLE ingest_ledger
    ADD UNIQUE KEY uq_ingest_ledger_current_key (current_key),
    ADD UNIQUE KEY uq_ingest_ledger_current_content (current_content, dataset);

-- (a self-join on the readings instead takes minutes on MariaDB for a few 10,000 rows: this is one index scan)
DELETE h FROM health_metrics h
  JOIN (SELECT user_id, event_time, MIN(id) AS kept_id FROM health_metrics
         GROUP BY user_id, event_time HAVING COUNT(*) > 1) repeated
    ON h.user_id = repeated.user_id AND h.event_time = repeated.event_time AND h.id > repeated.kept_id;

ALTER TABLE health_metrics
    ADD UNIQUE KEY uq_health_reading (user_id, event_time),
    DROP INDEX idx_health_user_time;
