"""The superhero cache in Redis: cache-aside reads, write-through writes, consistent under concurrency.

Views, all under a *generation* that :func:`invalidate_all_heroes` bumps in O(1):

- ``id``: ``{hero}:<gen>:id:<id>`` = ``<version>|<hero json>``, or ``<version>|`` for a deleted or unknown
  hero (a tombstone). A store is a compare-and-set in Lua that keeps the higher ``version``, so a reader that
  read a row before a writer committed can never overwrite the writer's newer value, in any order.
- ``xp``: ``{hero}:<gen>:xp:<xp>`` = JSON list of the heroes with that xp. A list cannot be patched safely by
  writers racing each other, so writers delete the lists they affect (old and new xp) after their commit, and
  a reader fills a missing list only through a *lease*: it marks the key before its SQL read and stores its
  answer only if the mark is still there. Any write committed after that SQL read deletes the mark.
- ``list``: pages of ``GET /heroes``, keyed by a list generation that every write increments.

Every read costs one Redis round trip (a Lua script reads the generation and the keys together), every write
one more (the generation is read before the SQL transaction). A write whose transaction straddles a bulk load's
bump does not store its row in the new generation (the load may have committed after it) but leaves a *floor*
there: the row's version, below which no reader may fill the hero.

Redis failures never fail a request: reads are then served from MySQL (``BYPASS``) and writes skip the
cache. A short circuit breaker stops a dead Redis from adding its timeout to every request. A write (or bulk
load) that could not reach Redis records the fact in MySQL (``cache_invalidations``); every process reads the
newest record at most every :data:`NEWS_CHECK_SECONDS` and bumps the generation once when Redis has not
acknowledged it, so no process serves what the write changed for longer than that after Redis answers again,
even if the writer died. Keys share the ``{hero}`` hash tag: one slot for Redis Cluster.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.logs import log_event
from chalicelib.core.mysql import get_database
from chalicelib.core.redis_client import get_redis
from chalicelib.core.settings import get_settings

HIT, MISS, BYPASS = "HIT", "MISS", "BYPASS"
PREFIX = "{hero}:"
GENERATION_KEY = PREFIX + "gen"
LIST_GENERATION_KEY = PREFIX + "listgen"
ACKNOWLEDGED_KEY = PREFIX + "acked"  # the newest cache_invalidations id this generation already accounts for
NEWS_CHECK_SECONDS = 1.0  # the staleness bound after a Redis outage: how often a process reads the news
LEASE_MILLISECONDS = 5000
BREAKER_SECONDS = 2.0
# What unauthenticated reads can make Redis hold: at most this many pages of GET /heroes per list generation
# (every write starts a new one), i.e. at most 100 x ~100 KB for pages of 1,000 heroes. Other pages are served
# from MySQL (X-Cache: MISS), so a client walking through distinct ?after values cannot fill Redis.
MAX_CACHED_PAGES = 100
TTL_JITTER = 0.1  # entries live CACHE_TTL_SECONDS plus up to 10%, so a bulk fill does not expire at once

Hero = dict[str, Any]

# KEYS: generation, list generation. ARGV: prefix, view, lease token ('' = none), lease ms, members...
# Returns {generation, list generation, one value per member}: the cached value, '+' for a miss this caller
# holds the lease of, '-' for a miss it may not fill.
_READ = """
local gen = redis.call('GET', KEYS[1]) or '0'
local listgen = redis.call('GET', KEYS[2]) or '0'
local view = ARGV[2]
if view == 'list' then view = 'list:' .. listgen end
local base = ARGV[1] .. gen .. ':' .. view .. ':'
local out = {gen, listgen}
for i = 5, #ARGV do
  local key = base .. ARGV[i]
  local value = redis.call('GET', key)
  if value and string.sub(value, 1, 1) ~= 'L' and not string.match(value, '^%d+|%?$') then
    out[#out + 1] = value
  elseif not value and ARGV[3] ~= '' then
    redis.call('SET', key, 'L' .. ARGV[3], 'PX', ARGV[4])
    out[#out + 1] = '+'
  else
    out[#out + 1] = '-'
  end
end
return out
"""

# Stores versioned ``id`` values only when newer than the cached one. A *floor* ``<version>|?`` is not a value
# (readers see a miss) but a lower bound: it accepts a row of its own version or newer, never an older one.
_CAS_ID = """
local function store_id(key, value, ttl)
  local current = redis.call('GET', key)
  if current then
    local have = tonumber(string.match(current, '^(%d+)|'))
    local offered = tonumber(string.match(value, '^(%d+)|'))
    local floor = string.match(current, '^%d+|%?$') ~= nil
    if have and (have > offered or (have == offered and not floor)) then return end
  end
  redis.call('SET', key, value, 'EX', ttl)
end
"""

# KEYS: generation, list generation. ARGV: prefix, generation read, list generation read, lease token,
# then records of (view, member, value, ttl). Nothing is stored when the generation moved on. Pages are counted
# per list generation (the ':#' key): past MAX_CACHED_PAGES they are served but not stored.
_FILL = (
    _CAS_ID
    + """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[2] then return 0 end
local base = ARGV[1] .. ARGV[2] .. ':'
for i = 5, #ARGV, 4 do
  local view, member, value, ttl = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if view == 'id' then
    store_id(base .. 'id:' .. member, value, ttl)
  elseif view == 'xp' then
    local key = base .. 'xp:' .. member
    if redis.call('GET', key) == 'L' .. ARGV[4] then redis.call('SET', key, value, 'EX', ttl) end
  elseif view == 'list' and (redis.call('GET', KEYS[2]) or '0') == ARGV[3] then
    local pages = redis.call('INCR', base .. 'list:' .. ARGV[3] .. ':#')
    if pages == 1 then redis.call('EXPIRE', base .. 'list:' .. ARGV[3] .. ':#', ttl) end
    if pages <= MAX_CACHED_PAGES then
      redis.call('SET', base .. 'list:' .. ARGV[3] .. ':' .. member, value, 'EX', ttl)
    end
  end
end
return 1
""".replace("MAX_CACHED_PAGES", str(MAX_CACHED_PAGES))
)

# KEYS: generation, list generation. ARGV: prefix, generation read before the write, then records of
# ('id', id, value, ttl) to store and ('xp', xp, '', '') to delete (with any lease on it).
# When a bulk load moved the generation while the write ran, the row may be older than what the load committed
# after it, so it is not stored: the current generation gets a floor at the row's version instead, which turns
# away any reader that filled (or will fill) it with the row from before this write.
_WRITE = (
    _CAS_ID
    + """
local current = redis.call('GET', KEYS[1]) or '0'
local moved = current ~= ARGV[2]
redis.call('INCR', KEYS[2])
local base = ARGV[1] .. current .. ':'
for i = 3, #ARGV, 4 do
  if ARGV[i] == 'id' then
    local value = ARGV[i + 2]
    if moved then value = string.match(value, '^%d+|') .. '?' end
    store_id(base .. 'id:' .. ARGV[i + 1], value, ARGV[i + 3])
  else
    redis.call('DEL', base .. 'xp:' .. ARGV[i + 1])
  end
end
return moved and 0 or 1
"""
)


# KEYS: generation, acknowledged. ARGV: the newest cache_invalidations id. Bumps the generation once per piece of
# news, however many processes bring it.
_ACKNOWLEDGE = """
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1])
return 1
"""


class _Connection:
    """The Redis client with its scripts and circuit breaker; rebuilt when ``get_redis()`` gives a new client."""

    def __init__(self, client: Any) -> None:
        from redis.commands.core import Script

        self.client = client
        scripts = (_READ, _FILL, _WRITE, _ACKNOWLEDGE)
        self.read, self.fill, self.write, self.acknowledge = (Script(client, source) for source in scripts)
        self.open_until = 0.0


_connection: _Connection | None = None
_flush_pending = False  # news of a missed write that MySQL could not store either: this process bumps


@dataclass
class _News:
    """What this process knows of ``cache_invalidations``: the newest id read from MySQL, when it was read, and
    the newest id Redis was seen to acknowledge."""

    latest: int = 0
    read_at: float = float("-inf")
    acknowledged: int = 0


_news = _News()


def _latest_news() -> int:
    """The newest ``cache_invalidations`` id, read from MySQL at most every :data:`NEWS_CHECK_SECONDS`."""
    now = time.monotonic()
    if now - _news.read_at >= NEWS_CHECK_SECONDS:
        _news.read_at = now  # also after a failure: MySQL down costs this check once per interval, not per read
        try:
            with get_database().cursor(dicts=False) as cur:
                cur.execute("SELECT COALESCE(MAX(id), 0) FROM cache_invalidations")
                _news.latest = max(_news.latest, int(cur.fetchone()[0]))
        except DependencyUnavailable:
            pass
    return _news.latest


def _record_news(reason: str) -> None:
    """A change the cache missed: tell every process through MySQL (its own statement, committed at once), or
    remember it in this process when MySQL cannot take it either."""
    global _flush_pending
    try:
        with get_database().cursor(dicts=False) as cur:
            cur.execute("INSERT INTO cache_invalidations (cache, reason) VALUES ('heroes', %s)", (reason,))
            _news.latest = max(_news.latest, int(cur.lastrowid))
    except DependencyUnavailable:
        _flush_pending = True
    log_event("hero cache missed a change", logging.WARNING, reason=reason, news=_news.latest)


def _catch_up(connection: _Connection) -> None:
    """Invalidate every view once for news Redis has not acknowledged (a change it missed while unreachable)."""
    global _flush_pending
    if _flush_pending:
        connection.client.incr(GENERATION_KEY)
        _flush_pending = False
        log_event("hero cache generation bumped after an outage")
    latest = _latest_news()
    if latest > _news.acknowledged:
        if connection.acknowledge(keys=[GENERATION_KEY, ACKNOWLEDGED_KEY], args=[latest]):
            log_event("hero cache generation bumped for a change it missed", news=latest)
        _news.acknowledged = latest


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def _run(operation: Callable[[_Connection], Any]) -> tuple[bool, Any]:
    """Run ``operation`` against Redis unless the breaker is open: ``(reached, result)``, never raising for a
    Redis failure."""
    global _connection
    try:
        client = get_redis()
    except DependencyUnavailable:  # e.g. its AUTH token could not be read from SSM
        return False, None
    if _connection is None or _connection.client is not client:
        _connection = _Connection(client)
    connection = _connection
    if time.monotonic() < connection.open_until:
        return False, None
    try:
        _catch_up(connection)
        return True, operation(connection)
    except _redis_errors() as exc:
        connection.open_until = time.monotonic() + BREAKER_SECONDS
        log_event("hero cache unavailable", logging.WARNING, error=repr(exc), retry_in_s=BREAKER_SECONDS)
        return False, None


def _ttl() -> int:
    base = get_settings().cache_ttl_seconds
    return base + random.randint(0, int(base * TTL_JITTER))


def invalidate_all_heroes() -> None:
    """Make every cached hero view unreachable, in O(1): call after changing heroes in MySQL outside this
    module (a bulk load). When Redis is unreachable, every process bumps it once Redis answers again.

    >>> invalidate_all_heroes()
    """
    reached, _ = _run(lambda c: c.client.incr(GENERATION_KEY))
    if not reached:
        _record_news("invalidate_all")


@dataclass
class _Lookup:
    generation: bytes
    list_generation: bytes
    token: str
    values: dict[str, bytes]  # member -> cached value, b'+' (miss, leased) or b'-' (miss)

    def hits(self) -> dict[str, bytes]:
        return {m: v for m, v in self.values.items() if v not in (b"+", b"-")}

    def misses(self) -> list[str]:
        return [m for m, v in self.values.items() if v in (b"+", b"-")]

    def fill(self, connection: _Connection, records: list[tuple[str, str, str]]) -> None:
        args: list[Any] = [PREFIX, self.generation, self.list_generation, self.token]
        for view, member, value in records:
            if view != "xp" or self.values.get(member) == b"+":
                args += [view, member, value, _ttl()]
        if len(args) > 4:
            connection.fill(keys=[GENERATION_KEY, LIST_GENERATION_KEY], args=args)


def _lookup(view: str, members: Sequence[str], lease: bool) -> _Lookup | None:
    token = secrets.token_hex(8) if lease else ""

    def read(connection: _Connection) -> _Lookup:
        reply = connection.read(
            keys=[GENERATION_KEY, LIST_GENERATION_KEY], args=[PREFIX, view, token, LEASE_MILLISECONDS, *members]
        )
        return _Lookup(reply[0], reply[1], token, dict(zip(members, reply[2:], strict=True)))

    reached, lookup = _run(read)
    return lookup if reached else None


def _fill(lookup: _Lookup, records: list[tuple[str, str, str]]) -> None:
    _run(lambda connection: lookup.fill(connection, records))


def _encode_id(hero: Hero | None, version: int) -> str:
    return f"{version}|" + ("" if hero is None else json.dumps(hero, separators=(",", ":")))


def _decode_id(value: bytes) -> Hero | None:
    _, _, payload = value.partition(b"|")
    return json.loads(payload) if payload else None


def _public(row: Hero) -> Hero:
    return {k: v for k, v in row.items() if k != "version"}


def hero_by_id(hero_id: int, load: Callable[[int], Hero | None], *, use_cache: bool) -> tuple[Hero | None, str]:
    """Cache-aside read of one hero: ``(hero or None, HIT|MISS|BYPASS)``. ``load`` reads the row (with its
    ``version``) from MySQL."""
    lookup = _lookup("id", [str(hero_id)], lease=False) if use_cache else None
    if lookup is None:
        row = load(hero_id)
        return (None if row is None else _public(row)), BYPASS
    hits = lookup.hits()
    if hits:
        return _decode_id(hits[str(hero_id)]), HIT
    row = load(hero_id)
    # an unknown id is cached as a version-0 tombstone: any hero created with that id later is newer
    hero = None if row is None else _public(row)
    _fill(lookup, [("id", str(hero_id), _encode_id(hero, 0 if row is None else row["version"]))])
    return hero, MISS


def heroes_by_xp(
    xps: Sequence[int], load: Callable[[list[int]], list[Hero]], *, use_cache: bool
) -> tuple[dict[int, list[Hero]], str]:
    """Cache-aside read of the heroes of several xp values: ``({xp: [heroes by id]}, status)``. One Redis round
    trip when all are cached; otherwise ``load`` is called once with every missing xp (one SQL query)."""
    lookup = _lookup("xp", [str(xp) for xp in xps], lease=True) if use_cache else None
    missing = list(xps) if lookup is None else [int(m) for m in lookup.misses()]
    found: dict[int, list[Hero]] = {}
    if lookup is not None:
        found = {int(m): json.loads(v) for m, v in lookup.hits().items()}
    if missing:
        loaded: dict[int, list[Hero]] = {xp: [] for xp in missing}
        for row in load(missing):
            loaded[row["xp"]].append(_public(row))
        found.update(loaded)
        if lookup is not None:
            _fill(lookup, [("xp", str(xp), json.dumps(heroes, separators=(",", ":"))) for xp, heroes in loaded.items()])
    status = BYPASS if lookup is None else (MISS if missing else HIT)
    return {xp: found[xp] for xp in xps}, status


def hero_page(key: str, load: Callable[[], Any], *, use_cache: bool) -> tuple[Any, str]:
    """Cache-aside read of one page of ``GET /heroes``, ``key`` naming its query; any write invalidates every
    cached page."""
    lookup = _lookup("list", [key], lease=False) if use_cache else None
    if lookup is None:
        return load(), BYPASS
    hits = lookup.hits()
    if hits:
        return json.loads(hits[key]), HIT
    page = load()
    _fill(lookup, [("list", key, json.dumps(page, separators=(",", ":")))])
    return page, MISS


@dataclass
class WriteTicket:
    """The generation seen before a write's SQL transaction; ``None`` when Redis was not reachable."""

    generation: bytes | None


def before_write() -> WriteTicket:
    """Call before a write's SQL transaction, then :func:`after_write` with what it committed."""
    reached, generation = _run(lambda c: c.client.get(GENERATION_KEY) or b"0")
    return WriteTicket(generation if reached else None)


def after_write(
    ticket: WriteTicket,
    *,
    stored: Iterable[Hero] = (),
    deleted: Iterable[tuple[int, int]] = (),
    xps: Iterable[int] = (),
) -> None:
    """Write-through after a commit: ``stored`` rows (with ``version``) replace the cached heroes,
    ``deleted`` ``(id, version)`` pairs become tombstones, the cached answers of ``xps`` (every xp a hero had or
    now has) are dropped. If Redis cannot be reached, the whole cache is invalidated once it can, by every
    process (:func:`_record_news`)."""
    args: list[Any] = [PREFIX, ticket.generation]
    for row in stored:
        args += ["id", row["id"], _encode_id(_public(row), row["version"]), _ttl()]
    for hero_id, version in deleted:
        args += ["id", hero_id, _encode_id(None, version), _ttl()]
    for xp in set(xps):
        args += ["xp", xp, "", ""]
    reached = (
        ticket.generation is not None
        and _run(lambda c: c.write(keys=[GENERATION_KEY, LIST_GENERATION_KEY], args=args))[0]
    )
    if not reached:
        _record_news("write")
