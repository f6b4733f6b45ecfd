-- News that a cache missed a change: a write (or a bulk load) that committed in MySQL but could not reach Redis
-- adds a row here in its own transaction. Every process compares the newest id with the one Redis has
-- acknowledged (at most once a second) and invalidates the cache when Redis is behind, so the news survives the
-- writer's process and reaches processes that never saw the outage (docs/heroes-api.md, "After a Redis outage").
CREATE TABLE IF NOT EXISTS cache_invalidations (
    id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    cache      VARCHAR(32)     NOT NULL,
    reason     VARCHAR(64)     NOT NULL,
    created_at TIMESTAMP(3)    NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id)
);
