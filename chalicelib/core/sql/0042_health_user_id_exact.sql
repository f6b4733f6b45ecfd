-- A user id is an identifier: 'Ana', 'ana' and 'ANA', or 'josé' and 'jose', are different users. The table's
-- default collation (utf8mb4_general_ci) compared them equal, so the unique key (user_id, event_time) merged two
-- users' readings taken at the same time (the later one replaced the other) and per-user analyses summed them.
-- utf8mb4_bin exists on MariaDB and MySQL alike; its trailing-space padding never matters, as ingest strips
-- values. The change only splits keys that were equal, so it cannot fail on the unique key.
ALTER TABLE health_metrics MODIFY user_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;
