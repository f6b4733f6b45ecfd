"""The superhero cache in Redis: cache-aside reads, write-through writes, consistent under concurrency.

Views, all under a *generation* that :func:`invalidate_all_heroes` bumps in O(1):

- ``id``: ``{hero:<id>}:<gen>:id`` = ``<version>|<hero json>``, or ``<version>|`` for a deleted or unknown
  hero (a tombstone). A store is a compare-and-set in Lua that keeps the higher ``version``, so a reader that
  read a row before a writer committed can never overwrite the writer's newer value, in any order.
- ``xp``: ``{hero-xp:<xp>}:<gen>:xp`` = JSON list of the heroes with that xp. A list cannot be patched safely by
  writers racing each other, so writers delete the lists they affect (old and new xp) after their commit, and
  a reader fills a missing list only through a *lease*: it marks the key before its SQL read and stores its
  answer only if the mark is still there. Any write committed after that SQL read deletes the mark.
- ``list``: pages of ``GET /heroes``, ``{hero}:<gen>:list:<list gen>:<query>``, keyed by a list generation that
  every write increments.

Where keys live (Redis Cluster, ``REDIS_CLUSTER``): the part in braces is the hash tag that picks the slot. Each
hero and each xp value has its own tag, so the entries spread over every node; the generation, the list
generation, the outage acknowledgement and the pages (at most :data:`MAX_CACHED_PAGES` per list generation)
share the *control* tag ``{hero}``. A Lua script may only touch keys of one slot, so the scripts take their
keys in ``KEYS`` and never read the generation of another slot. Instead the generation is part of each key's
name, and consistency rests on two facts, the same on one node and on a cluster:

- The generation only grows and never takes a value twice, and once it has moved on no one reads the old
  generation's keys again. So an operation may use a generation read *earlier*: a fill or a write that lands
  after a bump lands in a dead keyspace (it expires with its TTL) and every reader of the new generation reads
  MySQL after the bump, i.e. after whatever the bump stands for committed. Never twice even when Redis loses
  the control slot's keys (FLUSH, a node restarted without persistence) or rolls them back (a failover to an
  asynchronous replica): a missing generation starts again at the server's time in microseconds (above any
  value it held: it grows by one per bump), and one found below what the reading process saw jumps above both
  (:data:`_GENERATION_LUA`). A process that never saw the lost bumps cannot tell a rollback; a loss it can.
- A read must not use an *old* generation, so every read checks it in the same round trip: the process names
  the keys with the newest generations it has seen, and a script on the control slot returns the current ones
  (on one node that is the same script, atomically; on a cluster the scripts of the other slots run on other
  nodes in the same pipeline). If they differ, the read is repeated with the current ones. If they agree, the
  generation was the guessed one when the other slots were read, or those were read after a bump that this
  request overlaps; either way nothing older than a write completed before the request is served.

Every read costs one Redis round trip when the process has already seen the current generation (one script
per slot, the slots' nodes in parallel), every write two (the generation is read before the SQL transaction,
after it one pipeline marks the write and stores). A write whose transaction straddles a bulk load's bump
stores its row in the generation it started in (dead by then), and leaves a *floor* in the new one: the row's
version, below which no reader may fill the hero.

Redis failures never fail a request: reads are then served from MySQL (``BYPASS``) and writes skip the
cache. A short circuit breaker stops a dead Redis from adding its timeout to every request. A write (or bulk
load) that could not reach Redis records the fact in MySQL (``cache_invalidations``); every process reads the
newest record at most every :data:`NEWS_CHECK_SECONDS` and bumps the generation once when Redis has not
acknowledged it, so no process serves what the write changed for longer than that after Redis answers again,
even if the writer died.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeGuard

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.logs import log_event
from chalicelib.core.mysql import get_database
from chalicelib.core.redis_client import command, get_redis
from chalicelib.core.settings import get_settings

HIT, MISS, BYPASS = "HIT", "MISS", "BYPASS"
PREFIX = "{hero}:"  # the control slot's keys
GENERATION_KEY = PREFIX + "gen"
LIST_GENERATION_KEY = PREFIX + "listgen"
ACKNOWLEDGED_KEY = PREFIX + "acked"  # the newest cache_invalidations id this generation already accounts for
NEWS_CHECK_SECONDS = 1.0  # the staleness bound after a Redis outage: how often a process reads the news
# Only the newest piece of news matters (its id); the table keeps this many, for operators, so that writes during
# a long outage cannot grow it without bound.
NEWS_KEPT = 100
LEASE_MILLISECONDS = 5000
BREAKER_SECONDS = 2.0
# What unauthenticated reads can make Redis hold: at most this many pages of GET /heroes per list generation
# (every write starts a new one), i.e. at most 100 x ~100 KB for pages of 1,000 heroes. Other pages are served
# from MySQL (X-Cache: MISS), so a client walking through distinct ?after values cannot fill Redis.
MAX_CACHED_PAGES = 100
TTL_JITTER = 0.1  # entries live CACHE_TTL_SECONDS plus up to 10%, so a bulk fill does not expire at once
READ_ATTEMPTS = 3  # reads named with a generation that moved on are repeated; past this, served from MySQL

Hero = dict[str, Any]


def id_key(generation: str, hero_id: object) -> str:
    """The ``id`` entry of a hero: its own hash tag, so heroes spread over a cluster's nodes."""
    return f"{{hero:{hero_id}}}:{generation}:id"


def xp_key(generation: str, xp: object) -> str:
    """The ``xp`` entry (the list of heroes with that xp): one hash tag per xp value."""
    return f"{{hero-xp:{xp}}}:{generation}:xp"


def page_key(generation: str, list_generation: str, query: str) -> str:
    """A page of ``GET /heroes``, on the control slot with the list generation it depends on (``#``: the
    count of pages stored in this list generation)."""
    return f"{PREFIX}{generation}:list:{list_generation}:{query}"


class _Generations(NamedTuple):  # a tuple: built on every read
    generation: str = "0"
    list_generation: str = "0"


def _entry_key(view: str, generations: _Generations, member: str) -> str:
    if view == "id":
        return id_key(generations.generation, member)
    if view == "xp":
        return xp_key(generations.generation, member)
    return page_key(generations.generation, generations.list_generation, member)


# The generations never repeat a value, even when Redis loses or rolls back their keys (a FLUSH, a restarted node
# that owned ``{hero}`` without persistence, a failover to an asynchronous replica that had not received the last
# bumps): a missing counter is created at the server's time in microseconds, above every value it can have held
# (it grows by one per bump); a counter found below what the caller saw (``seen``) was rolled back, and jumps
# above both. Otherwise entries of an old generation, still within their TTL, would be served again.
_GENERATION_LUA = """
local function generation(key, seen)
  local value = tonumber(redis.call('GET', key) or '')
  if value == nil or value < seen then
    local now = redis.call('TIME')
    value = math.max(tonumber(now[1]) * 1000000 + tonumber(now[2]), seen + 1)
    redis.call('SET', key, string.format('%.0f', value))
  end
  return string.format('%.0f', value)
end
local function bump(key)
  generation(key, 0)
  return redis.call('INCR', key)
end
"""

# KEYS: [generation, list generation,] then the entries to read. ARGV: '1' when the first two keys are the
# generations, lease token ('' = none), lease ms[, the generation and list generation the caller saw last].
# Returns {[generation, list generation,] one value per entry}: the cached value, '+' for a miss this caller
# holds the lease of, '-' for a miss it may not fill.
_READ = """
local out, first = {}, 1
if ARGV[1] == '1' then
  out = {generation(KEYS[1], tonumber(ARGV[4])), generation(KEYS[2], tonumber(ARGV[5]))}
  first = 3
end
for i = first, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value and string.sub(value, 1, 1) ~= 'L' and not string.match(value, '^%d+|%?$') then
    out[#out + 1] = value
  elseif not value and ARGV[2] ~= '' then
    redis.call('SET', KEYS[i], 'L' .. ARGV[2], 'PX', ARGV[3])
    out[#out + 1] = '+'
  else
    out[#out + 1] = '-'
  end
end
return out
"""

# KEYS: the entries, in the order of ARGV's records. ARGV: lease token, then records of (operation, value, ttl):
#   'id'     store a versioned value only when newer than the cached one. A *floor* ``<version>|?`` is not a
#            value (readers see a miss) but a lower bound: it accepts a row of its own version or newer, never
#            an older one.
#   'lease'  store an xp list if the caller's lease is still on the key (no write touched it since)
#   'del'    delete an xp list, with any lease on it (a writer, after its commit)
#   'page'   count a page on this key (past MAX_CACHED_PAGES pages are served but not stored), store it on the next
_STORE = """
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
local k = 1
for i = 2, #ARGV, 3 do
  local operation, value, ttl = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if operation == 'id' then
    store_id(KEYS[k], value, ttl)
  elseif operation == 'lease' then
    if redis.call('GET', KEYS[k]) == 'L' .. ARGV[1] then redis.call('SET', KEYS[k], value, 'EX', ttl) end
  elseif operation == 'del' then
    redis.call('DEL', KEYS[k])
  else
    local pages = redis.call('INCR', KEYS[k])
    if pages == 1 then redis.call('EXPIRE', KEYS[k], ttl) end
    k = k + 1
    if pages <= MAX_CACHED_PAGES then redis.call('SET', KEYS[k], value, 'EX', ttl) end
  end
  k = k + 1
end
return 1
""".replace("MAX_CACHED_PAGES", str(MAX_CACHED_PAGES))

# KEYS: generation, list generation. A write makes every cached page stale; returns the generation whose keys
# the write must reach.
_MARK_WRITE = """
bump(KEYS[2])
return generation(KEYS[1], 0)
"""

# KEYS: generation, acknowledged. ARGV: the newest cache_invalidations id. Bumps the generation once per piece of
# news, however many processes bring it.
_ACKNOWLEDGE = """
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[1]) then return 0 end
bump(KEYS[1])
redis.call('SET', KEYS[2], ARGV[1])
return 1
"""

# KEYS: generation. Invalidates every view (returns the new generation). _READ, _MARK_WRITE, _ACKNOWLEDGE and
# this run after _GENERATION_LUA's functions.
_BUMP = "return bump(KEYS[1])"


class _Script:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()  # what EVALSHA calls it by


_Call = tuple[_Script, list[str], list[Any]]  # a script, its keys (all in one slot), its arguments
_Entry = tuple[list[str], list[Any]]  # keys (one slot) and arguments of one record of a script


class _Connection:
    """The Redis client with its circuit breaker; rebuilt when ``get_redis()`` gives a new client."""

    def __init__(self, client: Any, cluster: bool) -> None:
        from redis.crc import key_slot
        from redis.exceptions import NoScriptError

        self.client = client
        self.cluster = cluster
        self.open_until = 0.0
        self._key_slot = key_slot
        self._no_script = NoScriptError
        self.control_slot = key_slot(PREFIX.encode())

    def slot(self, key: str) -> int:
        """The key's hash slot on a cluster. On one node any script may touch any key, so every key counts as
        the control slot's: one script per request, as before cluster mode."""
        return self._key_slot(key.encode()) if self.cluster else self.control_slot

    def batches(self, entries: Iterable[_Entry]) -> dict[int, _Entry]:
        """The entries grouped by slot: what one script may take."""
        grouped: dict[int, _Entry] = {}
        for keys, args in entries:
            batch = grouped.setdefault(self.slot(keys[0]), ([], []))
            batch[0].extend(keys)
            batch[1].extend(args)
        return grouped

    def by_control_slot(self, keys: list[str]) -> tuple[list[str], list[list[str]]]:
        """``keys`` split into the control slot's and the batches of every other slot (one per slot)."""
        if not self.cluster:
            return keys, []
        batches = self.batches(([key], []) for key in keys)
        checked, _ = batches.pop(self.control_slot, ([], []))
        return checked, [batch for batch, _ in batches.values()]

    def execute(self, calls: Sequence[_Call]) -> list[Any]:
        """Run the scripts in one pipeline (on a cluster, one batch per node, sent to all before any answer is
        read). A node that does not know a script (new, restarted, failed over) gets it loaded and runs it again;
        any other error is raised."""
        replies = self._pipeline(calls)
        unknown = [i for i, reply in enumerate(replies) if isinstance(reply, self._no_script)]
        if unknown:
            for script in {calls[i][0] for i in unknown}:
                self.client.script_load(script.source)  # on a cluster: on every primary
            for i, reply in zip(unknown, self._pipeline([calls[i] for i in unknown]), strict=True):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    def mget(self, batches: Sequence[list[str]]) -> list[list[bytes | None]]:
        """The values of each batch of keys (each batch in one slot): one ``MGET`` per batch in one round trip;
        on one node a single command, without a pipeline's own cost."""
        if len(batches) == 1 and not self.cluster:
            return [command(self.client, "MGET", *batches[0])]
        pipe = self.client.pipeline(transaction=False)
        for keys in batches:
            pipe.execute_command("MGET", *keys, **self._route(keys[0]))
        return list(pipe.execute())

    def _pipeline(self, calls: Sequence[_Call]) -> list[Any]:
        # execute_command, not pipe.evalsha(): redis-py 8.1's cluster pipeline blocks its evalsha() helper
        # (redis-py #2914, lifted upstream by #4206) although it routes EVALSHA by its keys like any keyed
        # command. Each call's keys are in one slot, and execute() loads what a node lacks.
        if len(calls) == 1 and not self.cluster:  # one command: without a pipeline's own cost
            script, keys, args = calls[0]
            try:
                return [command(self.client, "EVALSHA", script.sha, len(keys), *keys, *args)]
            except self._no_script as missing:
                return [missing]
        pipe = self.client.pipeline(transaction=False)
        for script, keys, args in calls:
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args, **self._route(keys[0]))
        return list(pipe.execute(raise_on_error=False))

    def _route(self, key: str) -> dict[str, Any]:
        """On a cluster, the node owning ``key``'s slot in the client's slot map. Without it, redis-py 8.1's
        cluster pipeline asks a node for the keys of every EVALSHA (``COMMAND GETKEYS``), one round trip per
        script: 4.5 ms for a cached read of 50 xp values on loopback. A slot that moved meanwhile answers
        ``MOVED``, and the pipeline sends that script again the usual way (and refreshes the map)."""
        return {"target_nodes": self.client.get_node_from_key(key)} if self.cluster else {}


_STORE_SCRIPT = _Script(_STORE)
_READ_SCRIPT, _MARK_WRITE_SCRIPT, _ACKNOWLEDGE_SCRIPT, _BUMP_SCRIPT = (
    _Script(_GENERATION_LUA + source) for source in (_READ, _MARK_WRITE, _ACKNOWLEDGE, _BUMP)
)
_connection: _Connection | None = None
_seen = _Generations()  # the newest generations this process saw: how it names the keys of its next read
_flush_pending = False  # news of a missed write that MySQL could not store either: this process bumps


@dataclass
class _News:
    """What this process knows of ``cache_invalidations``: the newest id read from MySQL, when it was read, and
    the newest id Redis was seen to acknowledge."""

    latest: int = 0
    read_at: float = float("-inf")
    acknowledged: int = 0


_news = _News()


def reset_process_state() -> None:
    """Forget what this process knows of the cache, as a new process starts: its connection (and breaker), the
    generations it saw, the news it read and acknowledged, a pending bump. For tests, which empty Redis and
    ``cache_invalidations`` under it; a running process never needs it."""
    global _connection, _seen, _flush_pending, _news
    _connection, _seen, _flush_pending, _news = None, _Generations(), False, _News()


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
            cur.execute("DELETE FROM cache_invalidations WHERE id <= %s", (_news.latest - NEWS_KEPT,))
    except DependencyUnavailable:
        _flush_pending = True
    log_event("hero cache missed a change", logging.WARNING, reason=reason, news=_news.latest)


def _catch_up(connection: _Connection) -> None:
    """Invalidate every view once for news Redis has not acknowledged (a change it missed while unreachable)."""
    global _flush_pending
    if _flush_pending:
        _bump(connection)
        _flush_pending = False
        log_event("hero cache generation bumped after an outage")
    latest = _latest_news()
    if latest > _news.acknowledged:
        if connection.execute([(_ACKNOWLEDGE_SCRIPT, [GENERATION_KEY, ACKNOWLEDGED_KEY], [latest])])[0]:
            log_event("hero cache generation bumped for a change it missed", news=latest)
        _news.acknowledged = latest


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisClusterException, RedisError

    return (RedisError, RedisClusterException, OSError)


def _run(operation: Callable[[_Connection], Any]) -> tuple[bool, Any]:
    """Run ``operation`` against Redis unless the breaker is open: ``(reached, result)``, never raising for a
    Redis failure."""
    global _connection
    try:
        client = get_redis()
    except DependencyUnavailable:  # e.g. its AUTH token could not be read from SSM, or no cluster node answered
        return False, None
    if _connection is None or _connection.client is not client:
        _connection = _Connection(client, get_settings().redis_cluster)
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


def _bump(connection: _Connection) -> None:
    connection.execute([(_BUMP_SCRIPT, [GENERATION_KEY], [])])


def invalidate_all_heroes() -> None:
    """Make every cached hero view unreachable, in O(1): call after changing heroes in MySQL outside this
    module (a bulk load). When Redis is unreachable, every process bumps it once Redis answers again.

    >>> invalidate_all_heroes()
    """
    reached, _ = _run(_bump)
    if not reached:
        _record_news("invalidate_all")


_MISSING = (b"+", b"-")  # what _READ answers for a miss: leased to this caller, or not


@dataclass
class _Lookup:
    generations: _Generations  # what the keys were named with, checked current when they were read
    token: str
    values: dict[str, bytes]  # member -> cached value, b'+' (miss, leased) or b'-' (miss)

    def hits(self) -> dict[str, bytes]:
        return {m: v for m, v in self.values.items() if v not in _MISSING}

    def hit(self, member: str) -> bytes | None:
        value = self.values[member]
        return None if value in _MISSING else value

    def misses(self) -> list[str]:
        return [m for m, v in self.values.items() if v in _MISSING]

    def fill(self, connection: _Connection, records: list[tuple[str, str, str]]) -> None:
        """Store what was read from MySQL under the generations of the read: if they moved on meanwhile, into
        keys no one reads any more (see the module's docstring)."""
        entries: list[_Entry] = []
        for view, member, value in records:
            key = _entry_key(view, self.generations, member)
            if view == "id":
                entries.append(([key], ["id", value, _ttl()]))
            elif view == "xp" and self.values.get(member) == b"+":
                entries.append(([key], ["lease", value, _ttl()]))
            elif view == "list":
                count = page_key(self.generations.generation, self.generations.list_generation, "#")
                entries.append(([count, key], ["page", value, _ttl()]))
        batches = connection.batches(entries).values()
        connection.execute([(_STORE_SCRIPT, keys, [self.token, *args]) for keys, args in batches])


def _generations_call(seen: _Generations, entries: list[str], lease: list[Any]) -> _Call:
    """The control slot's read: the current generations (never below ``seen``) and ``entries``."""
    keys = [GENERATION_KEY, LIST_GENERATION_KEY, *entries]
    return _READ_SCRIPT, keys, ["1", *lease, seen.generation, seen.list_generation]


def _read_entries(
    connection: _Connection, seen: _Generations, keys: list[str], token: str
) -> tuple[_Generations, list[bytes]]:
    """The current generations and the value of each key, in one round trip: one read per slot, the control
    slot's (which also reads the generations) first."""
    checked, others = connection.by_control_slot(keys)
    plain = None if token else _read_plainly(connection, seen, checked, others)
    first, *replies = plain or _read_by_script(connection, seen, checked, others, token)
    generations = _Generations(first[0].decode(), first[1].decode())
    if not others:  # every key in the control slot (always on one node), in the order asked
        return generations, first[2:]
    found = dict(zip(checked, first[2:], strict=True))
    for batch, reply in zip(others, replies, strict=True):
        found.update(zip(batch, reply, strict=True))
    return generations, [found[key] for key in keys]


def _read_by_script(
    connection: _Connection, seen: _Generations, checked: list[str], others: list[list[str]], token: str
) -> list[list[bytes]]:
    lease = [token, LEASE_MILLISECONDS]
    calls = [_generations_call(seen, checked, lease), *((_READ_SCRIPT, batch, ["0", *lease]) for batch in others)]
    return connection.execute(calls)


def _read_plainly(
    connection: _Connection, seen: _Generations, checked: list[str], others: list[list[str]]
) -> list[list[bytes]] | None:
    """What :data:`_READ` answers when no lease is asked for (the ``id`` and ``list`` views), read with one
    ``MGET`` per slot (the control slot's with the generations): atomic per slot like the script, at the cost
    of a ``GET``. ``None`` when a generation is missing, not a number or behind ``seen``: only the script sets it."""
    (generation, list_generation, *values), *replies = connection.mget(
        [[GENERATION_KEY, LIST_GENERATION_KEY, *checked], *others]
    )
    if not (_at_least(generation, seen.generation) and _at_least(list_generation, seen.list_generation)):
        return None
    return [[generation, list_generation, *map(_as_read, values)], *(list(map(_as_read, r)) for r in replies)]


def _at_least(generation: bytes | None, seen: str) -> TypeGuard[bytes]:
    return generation is not None and generation.isdigit() and int(generation) >= int(seen)


def _as_read(value: bytes | None) -> bytes:
    """A cached value as :data:`_READ` answers it: ``-`` for a miss, a lease or a floor."""
    if value is None or value[:1] == b"L" or (value[-2:] == b"|?" and value[:-2].isdigit()):
        return b"-"
    return value


def _read(connection: _Connection, view: str, members: Sequence[str], token: str) -> _Lookup | None:
    """Read ``members`` under the generations this process saw last, again under the current ones when they
    moved on (a page also depends on the list generation); ``None`` when they keep moving."""
    global _seen
    for _ in range(READ_ATTEMPTS):
        guess = _seen
        current, values = _read_entries(connection, guess, [_entry_key(view, guess, m) for m in members], token)
        _seen = current
        if current.generation == guess.generation and (view != "list" or current == guess):
            return _Lookup(guess, token, dict(zip(members, values, strict=True)))
    return None


def _lookup(view: str, members: Sequence[str], lease: bool) -> _Lookup | None:
    token = secrets.token_hex(8) if lease else ""
    reached, lookup = _run(lambda connection: _read(connection, view, members, token))
    return lookup if reached else None


def _fill(lookup: _Lookup, records: list[tuple[str, str, str]]) -> None:
    _run(lambda connection: lookup.fill(connection, records))


def _json(value: Any) -> str:
    """``value`` as JSON text exactly as Chalice encodes a body, so that cached text can be served as is."""
    return json.dumps(value, separators=(",", ":"))


def _hero_json(row: Hero | None) -> str | None:
    return None if row is None else _json(_public(row))


def _encode_id(hero_json: str | None, version: int) -> str:
    return f"{version}|{hero_json or ''}"


def _decode_id(value: bytes) -> str | None:
    """The hero's JSON text of an ``id`` entry (``None``: a tombstone), not decoded: it is the response body."""
    _, _, payload = value.partition(b"|")
    return payload.decode() if payload else None


def _public(row: Hero) -> Hero:
    return {k: v for k, v in row.items() if k != "version"}


def hero_by_id(hero_id: int, load: Callable[[int], Hero | None], *, use_cache: bool) -> tuple[str | None, str]:
    """Cache-aside read of one hero: ``(its JSON text or None, HIT|MISS|BYPASS)``. ``load`` reads the row (with
    its ``version``) from MySQL. The text is the response body as cached: a hit is never decoded and encoded
    again."""
    lookup = _lookup("id", [str(hero_id)], lease=False) if use_cache else None
    if lookup is None:
        return _hero_json(load(hero_id)), BYPASS
    cached = lookup.hit(str(hero_id))
    if cached is not None:
        return _decode_id(cached), HIT
    row = load(hero_id)
    hero_json = _hero_json(row)
    # an unknown id is cached as a version-0 tombstone: any hero created with that id later is newer
    _fill(lookup, [("id", str(hero_id), _encode_id(hero_json, 0 if row is None else row["version"]))])
    return hero_json, MISS


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
            _fill(lookup, [("xp", str(xp), _json(heroes)) for xp, heroes in loaded.items()])
    status = BYPASS if lookup is None else (MISS if missing else HIT)
    return {xp: found[xp] for xp in xps}, status


def hero_page(key: str, load: Callable[[], Any], *, use_cache: bool) -> tuple[Any, str]:
    """Cache-aside read of one page of ``GET /heroes``, ``key`` naming its query; any write invalidates every
    cached page."""
    lookup = _lookup("list", [key], lease=False) if use_cache else None
    if lookup is None:
        return load(), BYPASS
    cached = lookup.hit(key)
    if cached is not None:
        return json.loads(cached), HIT
    page = load()
    _fill(lookup, [("list", key, _json(page))])
    return page, MISS


@dataclass
class WriteTicket:
    """The generation seen before a write's SQL transaction; ``None`` when Redis was not reachable."""

    generation: str | None


def before_write() -> WriteTicket:
    """Call before a write's SQL transaction, then :func:`after_write` with what it committed."""
    reached, generation = _run(_current_generation)
    return WriteTicket(generation if reached else None)


def _current_generation(connection: _Connection) -> str:
    global _seen
    reply = connection.execute([_generations_call(_seen, [], ["", LEASE_MILLISECONDS])])[0]
    _seen = _Generations(reply[0].decode(), reply[1].decode())
    return _seen.generation


# A write's effect on the cache: ('id', hero id, versioned value, ttl) to compare-and-set, ('del', xp, '', '')
# to drop the list of an xp value.
_Change = tuple[str, Any, str, Any]


def _floor(value: str) -> str:
    """``<version>|<json>`` -> ``<version>|?``: the row's version as a lower bound for readers' fills."""
    return value.partition("|")[0] + "|?"


def _store_changes(connection: _Connection, generation: str, changes: list[_Change], floors: bool) -> list[_Call]:
    entries: list[_Entry] = []
    for operation, member, value, ttl in changes:
        if operation == "id":
            entries.append(([id_key(generation, member)], ["id", _floor(value) if floors else value, ttl]))
        else:
            entries.append(([xp_key(generation, member)], [operation, value, ttl]))
    return [(_STORE_SCRIPT, keys, ["", *args]) for keys, args in connection.batches(entries).values()]


def _write_through(connection: _Connection, ticket_generation: str, changes: list[_Change]) -> None:
    """Store ``changes`` in the generation the write started in, mark the write (every page goes stale) and read
    the current generation, in one pipeline. The stores are right: either that generation is still current, and
    no bulk load bumped it during the write, or it is dead. If it moved on, a bulk load may have committed a
    newer row after the write, so the current generation gets floors at the rows' versions (readers that filled
    it from before the write are turned away) and loses the xp lists the write touched."""
    mark: _Call = (_MARK_WRITE_SCRIPT, [GENERATION_KEY, LIST_GENERATION_KEY], [])
    current, *_ = connection.execute([mark, *_store_changes(connection, ticket_generation, changes, floors=False)])
    if current.decode() != ticket_generation:
        connection.execute(_store_changes(connection, current.decode(), changes, floors=True))


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
    changes: list[_Change] = [("id", row["id"], _encode_id(_hero_json(row), row["version"]), _ttl()) for row in stored]
    changes += [("id", hero_id, _encode_id(None, version), _ttl()) for hero_id, version in deleted]
    changes += [("del", xp, "", "") for xp in set(xps)]
    generation = ticket.generation
    reached = generation is not None and _run(lambda c: _write_through(c, generation, changes))[0]
    if not reached:
        _record_news("write")
