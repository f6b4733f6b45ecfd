-- The same data is never counted twice (docs/ingest.md, "Duplicates").
-- 1. The ledger knows each key's current content (current_key) and which key holds a content now
--    (current_content, per dataset): bytes that are the current content of any key are a duplicate; bytes
--    superseded under their key (A, then B, then A again) load again. source_hash is no longer unique.
-- 2. health_metrics stores a reading once per (user_id, event_time): readings already stored twice are
--    removed first, keeping the first one (the migration's log line gives the number of rows removed).
-- MySQL has no ADD COLUMN/INDEX IF NOT EXISTS: each ALTER runs only when its change is missing, so the file
-- can be re-run whole after an interruption.
SET @ddl = IF(
    (SELECT COUNT(*) FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name = 'ingest_ledger' AND column_name = 'current_key') = 0,
    'ALTER TABLE ingest_ledger ADD COLUMN current_key CHAR(64) NULL, ADD COLUMN current_content CHAR(64) NULL, DROP INDEX uq_ingest_ledger_source, ADD INDEX idx_ingest_ledger_source (source_hash)',
    'DO 0');
PREPARE ddl FROM @ddl;
EXECUTE ddl;
DEALLOCATE PREPARE ddl;

-- The backfill runs until the unique keys exist (then the ledger keeps them right itself).
SET @backfill = (SELECT COUNT(*) FROM information_schema.statistics
                  WHERE table_schema = DATABASE() AND table_name = 'ingest_ledger'
                    AND index_name = 'uq_ingest_ledger_current_key') = 0;

UPDATE ingest_ledger SET current_key = NULL, current_content = NULL WHERE @backfill;

UPDATE ingest_ledger l
  JOIN (SELECT key_hash, MAX(id) AS id FROM ingest_ledger WHERE status <> 'duplicate' GROUP BY key_hash) latest
    ON l.id = latest.id
   SET l.current_key = l.key_hash
 WHERE @backfill;

UPDATE ingest_ledger l
  JOIN (SELECT MIN(id) AS id FROM ingest_ledger WHERE current_key IS NOT NULL GROUP BY dataset, content_sha256) kept
    ON l.id = kept.id
   SET l.current_content = l.content_sha256
 WHERE @backfill;

SET @ddl = IF(
    (SELECT COUNT(*) FROM information_schema.statistics
      WHERE table_schema = DATABASE() AND table_name = 'ingest_ledger'
        AND index_name = 'uq_ingest_ledger_current_key') = 0,
    'ALTER TABLE ingest_ledger ADD UNIQUE KEY uq_ingest_ledger_current_key (current_key), ADD UNIQUE KEY uq_ingest_ledger_current_content (current_content, dataset)',
    'DO 0');
PREPARE ddl FROM @ddl;
EXECUTE ddl;
DEALLOCATE PREPARE ddl;

-- (a self-join on the readings instead takes minutes on MariaDB for a few 10,000 rows: this is one index scan)
DELETE h FROM health_metrics h
  JOIN (SELECT user_id, event_time, MIN(id) AS kept_id FROM health_metrics
         GROUP BY user_id, event_time HAVING COUNT(*) > 1) repeated
    ON h.user_id = repeated.user_id AND h.event_time = repeated.event_time AND h.id > repeated.kept_id;

SET @ddl = IF(
    (SELECT COUNT(*) FROM information_schema.statistics
      WHERE table_schema = DATABASE() AND table_name = 'health_metrics' AND index_name = 'uq_health_reading') = 0,
    'ALTER TABLE health_metrics ADD UNIQUE KEY uq_health_reading (user_id, event_time), DROP INDEX idx_health_user_time',
    'DO 0');
PREPARE ddl FROM @ddl;
EXECUTE ddl;
DEALLOCATE PREPARE ddl;
