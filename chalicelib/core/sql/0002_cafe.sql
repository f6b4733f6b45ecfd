-- The café database of the original create-db.sql, with the index one day's aggregation needs.
CREATE TABLE IF NOT EXISTS product_group (
    product_group_number INT(3)      NOT NULL,
    product_group_name   VARCHAR(25) NOT NULL DEFAULT '',
    PRIMARY KEY (product_group_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS product (
    id            INT(3)        NOT NULL AUTO_INCREMENT,
    product_name  VARCHAR(40)   NOT NULL DEFAULT '',
    description   VARCHAR(200)  NOT NULL DEFAULT '',
    price         DECIMAL(10,2) NOT NULL DEFAULT 0.0,
    product_group INT(2)        NOT NULL DEFAULT 1,
    image_url     VARCHAR(256)           DEFAULT 'images/default-image.jpg',
    PRIMARY KEY (id),
    KEY idx_product_group (product_group),
    CONSTRAINT fk_product_group FOREIGN KEY (product_group) REFERENCES product_group (product_group_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `order` (
    order_number    INT(5)        NOT NULL AUTO_INCREMENT,
    order_date_time TIMESTAMP     NOT NULL DEFAULT CURRENT_TIMESTAMP,
    amount          DECIMAL(10,2) NOT NULL DEFAULT 0.0,
    PRIMARY KEY (order_number),
    KEY idx_order_date_time (order_date_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS order_item (
    order_number      INT(5)        NOT NULL,
    order_item_number INT(5)        NOT NULL,
    product_id        INT(3)                 DEFAULT NULL,
    quantity          INT(2)                 DEFAULT NULL,
    amount            DECIMAL(10,2) NOT NULL,
    PRIMARY KEY (order_number, order_item_number),
    KEY idx_order_item_product (product_id),
    CONSTRAINT fk_order_item_order FOREIGN KEY (order_number) REFERENCES `order` (order_number),
    CONSTRAINT fk_order_item_product FOREIGN KEY (product_id) REFERENCES product (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
