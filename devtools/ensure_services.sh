#!/usr/bin/env bash
# Make MySQL (MariaDB) and Redis reachable at DB_HOST:DB_PORT and REDIS_URL's host:port.
# Starts them when installed; on Debian/Ubuntu as root installs them with apt; otherwise prints the command.
set -euo pipefail

db_host=${DB_HOST:-127.0.0.1}
db_port=${DB_PORT:-3306}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
redis_hostport=${redis_url#*://}
redis_hostport=${redis_hostport#*@}
redis_hostport=${redis_hostport%%/*}
redis_host=${redis_hostport%%:*}
redis_port=${redis_hostport##*:}
[ "$redis_port" = "$redis_host" ] && redis_port=6379

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {  # name host port
  for _ in $(seq 1 60); do reachable "$2" "$3" && return 0; sleep 0.5; done
  echo "[services] $1 did not come up on $2:$3" >&2
  return 1
}

is_local() { [ "$1" = 127.0.0.1 ] || [ "$1" = localhost ]; }

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

ensure_mysql() {
  reachable "$db_host" "$db_port" && return 0
  if ! is_local "$db_host"; then
    echo "[services] MySQL at $db_host:$db_port is not reachable; check DB_HOST/DB_PORT" >&2; return 1
  fi
  if ! command -v mariadbd >/dev/null && ! command -v mysqld >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    if can_apt; then
      echo "[services] installing MariaDB with apt-get"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
    else
      echo "[services] MySQL is not installed. Install it, e.g.: sudo apt-get install -y mariadb-server" \
           "(macOS: brew install mariadb && brew services start mariadb)" >&2
      return 1
    fi
  fi
  echo "[services] starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  if command -v start-stop-daemon >/dev/null; then
    start-stop-daemon --start --oknodo --background --exec "$(command -v mariadbd || echo /usr/sbin/mariadbd)"
  else
    (mysqld_safe >/dev/null 2>&1 &)
  fi
  wait_for MySQL "$db_host" "$db_port"
  # a fresh Debian install authenticates root by unix socket only; the platform's local stage uses
  # root with an empty password over TCP, as the machine images here do
  mysql -uroot -h"$db_host" -P"$db_port" -e "SELECT 1" >/dev/null 2>&1 || \
    mysql -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket" 2>/dev/null || true
}

ensure_redis() {
  reachable "$redis_host" "$redis_port" && return 0
  if ! is_local "$redis_host"; then
    echo "[services] Redis at $redis_host:$redis_port is not reachable; check REDIS_URL" >&2; return 1
  fi
  if ! command -v redis-server >/dev/null; then
    if can_apt; then
      echo "[services] installing Redis with apt-get"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
      echo "[services] Redis is not installed. Install it, e.g.: sudo apt-get install -y redis-server" \
           "(macOS: brew install redis && brew services start redis)" >&2
      return 1
    fi
  fi
  echo "[services] starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --logfile /tmp/platform-redis.log
  wait_for Redis "$redis_host" "$redis_port"
}

ensure_mysql
ensure_redis
