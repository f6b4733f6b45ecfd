-- The notifications of analyses: one row per analysed file (its analysis key and the ETag of the analysed
-- content) and channel ('sns', 'email'). A sender claims the row (claim_token, claimed_at) before sending and
-- sets sent_at after; a redelivered trigger finds sent_at and sends nothing. A claim older than the lease
-- (the sender crashed between claiming and marking) may be taken over, so that case resends rather than loses.
CREATE TABLE IF NOT EXISTS analysis_notifications (
    analysis_key_sha256 CHAR(64)      NOT NULL,  -- the key itself (up to 1024 bytes) is too long for a key
    content_etag        VARCHAR(128)  NOT NULL,
    channel             VARCHAR(16)   NOT NULL,
    analysis_key        VARCHAR(1024) NOT NULL,
    claim_token         CHAR(32)               DEFAULT NULL,
    claimed_at          DATETIME(6)            DEFAULT NULL,
    attempts            INT UNSIGNED  NOT NULL DEFAULT 0,
    sent_at             DATETIME(6)            DEFAULT NULL,
    message_id          VARCHAR(255)           DEFAULT NULL,
    PRIMARY KEY (analysis_key_sha256, content_etag, channel),
    KEY idx_analysis_notifications_sent (sent_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
