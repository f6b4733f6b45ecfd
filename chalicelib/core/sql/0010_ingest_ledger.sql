-- One row per ingested source file (bucket, key, content). It is written in the same transaction as the
-- file's rows, so a file is loaded exactly once: a crash before the commit loads nothing and leaves no row,
-- and a redelivery after the commit finds the row and does not load again.
CREATE TABLE IF NOT EXISTS ingest_ledger (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    -- sha256 of "bucket\nkey\ncontent sha256": the identity of "these bytes under this key"
    source_hash    CHAR(64)        NOT NULL,
    -- sha256 of "bucket\nkey": with etag, finds a redelivery before the object is read again
    key_hash       CHAR(64)        NOT NULL,
    bucket         VARCHAR(63)     NOT NULL,
    object_key     VARCHAR(1024)   NOT NULL,
    etag           VARCHAR(64)     NOT NULL,
    version_id     VARCHAR(1024)       NULL,
    content_sha256 CHAR(64)        NOT NULL,
    dataset        VARCHAR(64)     NOT NULL,
    status         VARCHAR(16)     NOT NULL,
    -- the manifest as first written; a redelivery re-publishes it (completed_at NULL) or reports a duplicate
    manifest       MEDIUMTEXT      NOT NULL,
    created_at     TIMESTAMP(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    -- set once the manifest is written and the completion event published
    completed_at   TIMESTAMP(3)        NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_ingest_ledger_source (source_hash),
    KEY idx_ingest_ledger_key_etag (key_hash, etag)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
