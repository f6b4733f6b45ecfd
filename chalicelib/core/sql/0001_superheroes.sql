-- The superhero store: the columns of the original createTable.sql, plus what reads and the cache need.
CREATE TABLE IF NOT EXISTS superheroes (
    id      INT UNSIGNED NOT NULL AUTO_INCREMENT,
    name    VARCHAR(20)  NOT NULL,
    hero    VARCHAR(20)  NOT NULL,
    power   VARCHAR(20)  NOT NULL,
    xp      INT UNSIGNED NOT NULL,
    color   VARCHAR(20)  NOT NULL,
    -- bumped on every write; the cache keeps the newest version it has seen so a slow reader cannot
    -- overwrite a newer write-through with the row it read before that write committed
    version BIGINT UNSIGNED NOT NULL DEFAULT 1,
    PRIMARY KEY (id),
    KEY idx_superheroes_xp (xp),
    KEY idx_superheroes_power_id (power, id),
    KEY idx_superheroes_color_id (color, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
