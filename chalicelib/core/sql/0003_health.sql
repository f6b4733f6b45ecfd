-- Health-metrics readings loaded by the `health` dataset's ingest; analysed per user and for anomalies.
CREATE TABLE IF NOT EXISTS health_metrics (
    id           BIGINT UNSIGNED   NOT NULL AUTO_INCREMENT,
    event_time   DATETIME(6)       NOT NULL,
    user_id      VARCHAR(64)       NOT NULL,
    heart_rate   SMALLINT UNSIGNED NOT NULL,
    spo2         TINYINT UNSIGNED  NOT NULL,
    steps        INT UNSIGNED      NOT NULL,
    temp_c       DECIMAL(4,1)      NOT NULL,
    systolic_bp  SMALLINT UNSIGNED NOT NULL,
    diastolic_bp SMALLINT UNSIGNED NOT NULL,
    PRIMARY KEY (id),
    KEY idx_health_user_time (user_id, event_time),
    KEY idx_health_time (event_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
