"""The shared backend: articles and the band index in one Redis, for many replicas.

Layout, under the prefix ``wt:``:

- ``meta``: hash of the signature width and banding the data was written with;
- ``next``: counter handing out article keys (never reused);
- ``ids``: hash, client id -> article key;
- ``a:<key>``: hash of one article (metadata, text, signatures);
- ``pub``: sorted set of article keys by publication time (µs), for retention;
- ``passages``: counter of indexed passages;
- ``b:<shard>``: the index, ``2**SHARD_BITS`` hashes from 8-byte band keys to the
  8-byte passage keys holding them, concatenated. A shard holds about
  ``passages * bands / 2**SHARD_BITS`` fields; below Redis's
  ``hash-max-listpack-entries`` (128) it is one compact listpack, about 20 bytes per
  field, instead of a table of separate strings (~70 bytes each); so size the shards
  to the corpus when the store is created (``?shard_bits=`` in the store URL).

Every write is one Lua script over prebuilt binary records, so storing an article and
indexing it is atomic (no partial write, whatever fails) and costs one round trip,
never one per band. A script first checks that the id still maps to the key the
caller read; when another replica got there first, the caller reads again and decides
anew (same text: nothing to do; other text: ``Conflict``). Lookups need no atomicity:
an article's are plain ``HGET``s, built in RESP by numpy and sent as one pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from wiretrace.errors import Conflict, InvalidInput, Unavailable
from wiretrace.store.base import (
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    Lookup,
    Passages,
    Put,
    Row,
    StoredMeta,
)
from wiretrace.store.redis_common import (
    META_FIELDS,
    RECORD_FIELDS,
    SHARD_BITS,
    BandRecords,
    Option,
    check_meta,
    decode_meta,
    decode_record,
    reachable,
    redact,
    shard_bits_for,
    split_url,
    tally,
)
from wiretrace.store.resp import FixedCommand, read_replies

__all__ = ["SHARD_BITS", "RedisStore", "redact", "shard_bits_for"]

PREFIX = b"wt:"
_RETRIES = 8  # optimistic-concurrency retries before giving up on a hot id
_EXPIRE_BATCH = 256
#: The options a ``redis://`` URL may carry beyond redis-py's own.
OPTIONS = {"shard_bits": Option(SHARD_BITS, 8, 26)}

_SHARD_PREFIX = PREFIX + b"b:"
# One ``HGET shard band-key`` command in RESP, fixed width: a whole article's lookups
# are built in one numpy pass and sent as one pipeline, with no Lua in the way.
_HGET = FixedCommand(
    b"*3\r\n$4\r\nHGET\r\n$%d\r\n%s" % (len(_SHARD_PREFIX) + 4, _SHARD_PREFIX),
    ("shard", ">u4"), b"\r\n$8\r\n", ("field", ">u8"), b"\r\n",
)  # fmt: skip
_WRITE_RECORD = np.dtype([("shard", ">u4"), ("field", ">u8"), ("passage", "<i8")])

# Shared by the write scripts: add or remove 20-byte records (shard, band key, passage).
_LUA_HELPERS = """
local p = ARGV[1]
local call, sub = redis.call, string.sub
local bp = p .. 'b:'
local function add(blob)
  for i = 1, #blob, 20 do
    local k, f, id = bp .. sub(blob, i, i + 3), sub(blob, i + 4, i + 11), sub(blob, i + 12, i + 19)
    if call('HSETNX', k, f, id) == 0 then
      call('HSET', k, f, call('HGET', k, f) .. id)
    end
  end
end
local function remove(blob)
  for i = 1, #blob, 20 do
    local k = p .. 'b:' .. string.sub(blob, i, i + 3)
    local f = string.sub(blob, i + 4, i + 11)
    local id = string.sub(blob, i + 12, i + 19)
    local v = redis.call('HGET', k, f)
    if v then
      local kept = {}
      for j = 1, #v, 8 do
        local x = string.sub(v, j, j + 7)
        if x ~= id then kept[#kept + 1] = x end
      end
      if #kept == 0 then redis.call('HDEL', k, f)
      else redis.call('HSET', k, f, table.concat(kept)) end
    end
  end
end
local function drop(key, blob, n)
  remove(blob)
  redis.call('DEL', p .. 'a:' .. key)
  redis.call('ZREM', p .. 'pub', key)
  redis.call('DECRBY', p .. 'passages', n)
end
"""

# ARGV: prefix, count, then per article 16 fields (see RedisStore._put_args).
# All ids are checked before anything is written; returns {1} when all were written,
# or {-1, i, current key} for the first article i whose id changed.
_PUT = (
    _LUA_HELPERS
    + """
local n = tonumber(ARGV[2])
for a = 0, n - 1 do
  local g = 2 + a * 16
  local cur = redis.call('HGET', p .. 'ids', ARGV[g + 1])
  if (cur or '') ~= ARGV[g + 2] then return {-1, a, cur or ''} end
end
for a = 0, n - 1 do
  local g = 2 + a * 16
  local key = ARGV[g + 3]
  if ARGV[g + 2] ~= '' then drop(ARGV[g + 2], ARGV[g + 14], ARGV[g + 15]) end
  redis.call('HSET', p .. 'a:' .. key, 'id', ARGV[g + 1], 'sha', ARGV[g + 4],
    'outlet', ARGV[g + 5], 'url', ARGV[g + 6], 'pub', ARGV[g + 7], 'lang', ARGV[g + 8],
    'text', ARGV[g + 9], 'units', ARGV[g + 10], 'sigs', ARGV[g + 11])
  redis.call('HSET', p .. 'ids', ARGV[g + 1], key)
  if ARGV[g + 16] ~= '' then redis.call('ZADD', p .. 'pub', ARGV[g + 16], key) end
  add(ARGV[g + 12])
  redis.call('INCRBY', p .. 'passages', ARGV[g + 13])
end
return {1}
"""
)

# ARGV: prefix, id, expected key, remove records, passages. 1 removed, 0 absent, -1 changed.
_DELETE = (
    _LUA_HELPERS
    + """
local cur = redis.call('HGET', p .. 'ids', ARGV[2])
if not cur then return 0 end
if cur ~= ARGV[3] then return -1 end
drop(cur, ARGV[4], ARGV[5])
redis.call('HDEL', p .. 'ids', ARGV[2])
return 1
"""
)

# ARGV: prefix, id, fields... Returns {key, values...} or {} when the id is unknown.
_BY_ID = """
local key = redis.call('HGET', ARGV[1] .. 'ids', ARGV[2])
if not key then return {} end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
local values = redis.call('HMGET', ARGV[1] .. 'a:' .. key, unpack(fields))
table.insert(values, 1, key)
return values
"""


class RedisStore(ArticleStore):
    """Thread-safe (redis-py pools connections); safe across processes by the scripts."""

    def __init__(
        self,
        url: str,
        spec: IndexSpec,
        *,
        timeout: float = 2.0,
    ) -> None:
        self.url = url
        self.spec = spec
        plain, options = split_url(url, OPTIONS)
        self.shard_bits = int(options["shard_bits"])
        try:
            # Fail fast while Redis is down; one immediate retry re-opens a connection
            # that a Redis restart closed.
            self._r: redis.Redis = redis.Redis.from_url(
                plain,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 1),
            )
        except ValueError as err:
            raise InvalidInput(f"bad Redis URL {redact(url)}: {err}") from err
        self._put = self._r.register_script(_PUT)
        self._delete = self._r.register_script(_DELETE)
        self._by_id = self._r.register_script(_BY_ID)
        self._check_meta()

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        with reachable():
            return fn(*args)

    def _check_meta(self) -> None:
        key = PREFIX + b"meta"
        check_meta(
            self.url,
            self.spec,
            self.shard_bits,
            lambda name, value: self._r.hsetnx(key, name, value),
            lambda: self._r.hgetall(key),
        )

    # -- binary records ---------------------------------------------------------------

    def _write_records(self, key: int, passages: Passages) -> tuple[bytes, int]:
        """The index records of an article's passages, and how many passages."""
        records = BandRecords.of(key, passages, self.spec.bands, self.shard_bits)
        out = np.empty(records.field.size, dtype=_WRITE_RECORD)
        out["shard"] = records.shard
        out["field"] = records.field
        out["passage"] = records.passage
        return out.tobytes(), len(passages.units)

    def _stored_records(self, key: int, sigs: npt.NDArray[np.uint32]) -> tuple[bytes, int]:
        """The index records of a stored article, found again from its signatures."""
        return self._write_records(key, self.spec.passages(sigs))

    def _decode_sigs(self, units: bytes | None, blob: bytes | None) -> npt.NDArray[np.uint32]:
        return self._signatures(int(units or 0), blob or b"")

    # -- writes ---------------------------------------------------------------------

    def _put_args(
        self, row: Row, key: int, old: tuple[int, npt.NDArray[np.uint32]] | None
    ) -> list[bytes | str | int]:
        add, added = self._write_records(key, row.passages)
        remove, removed = self._stored_records(*old) if old else (b"", 0)
        record = row.record
        pub = record.published_at_ns
        sigs = np.ascontiguousarray(row.signatures, dtype=np.uint32)
        return [
            record.id,
            old[0] if old else "",
            key,
            row.sha256,
            record.outlet,
            record.url,
            "" if pub is None else pub,
            record.language,
            record.text,
            sigs.shape[0],
            sigs.tobytes(),
            add,
            added,
            remove,
            removed,
            "" if pub is None else pub // 1000,  # the retention score, in µs
        ]

    def _current(self, article_id: str) -> tuple[int, str, npt.NDArray[np.uint32]] | None:
        """The key, text hash and signatures stored under ``article_id``."""
        found = self._call(self._by_id, [], [PREFIX, article_id, b"sha", b"units", b"sigs"])
        if not found:
            return None
        key, sha, units, blob = found
        return int(key), sha.decode(), self._decode_sigs(units, blob)

    def put(self, row: Row, *, replace: bool = False) -> Put:
        record = row.record
        for _ in range(_RETRIES):
            current = self._current(record.id)
            if current is not None and current[1] == row.sha256:
                return Put(current[0], created=False)
            if current is not None and not replace:
                raise Conflict.other_text(record.id)
            key = int(self._call(self._r.incr, PREFIX + b"next"))
            old = (current[0], current[2]) if current else None
            args = self._put_args(row, key, old)
            result = self._call(self._put, [], [PREFIX, 1, *args])
            if int(result[0]) == 1 or result[2] == b"%d" % key:  # or a resent call landed
                return Put(key, created=True)
            # Another writer changed this id since we read it: read again.
        raise Unavailable(f"article {record.id!r} kept changing under concurrent writers")

    def insert_many(self, rows: list[Row]) -> list[int]:
        if not rows:
            return []
        last = int(self._call(self._r.incrby, PREFIX + b"next", len(rows)))
        keys = list(range(last - len(rows) + 1, last + 1))
        args: list[bytes | str | int] = [PREFIX, len(rows)]
        for key, row in zip(keys, rows, strict=True):
            args += self._put_args(row, key, None)
        result = self._call(self._put, [], args)
        if int(result[0]) != 1:
            raise Conflict(f"article {rows[int(result[1])].record.id!r} is stored already")
        return keys

    def delete(self, article_id: str) -> bool:
        for _ in range(_RETRIES):
            current = self._current(article_id)
            if current is None:
                return False
            if self._drop(article_id, current[0], current[2]) >= 0:
                return True
        raise Unavailable(f"article {article_id!r} kept changing under concurrent writers")

    def _drop(self, article_id: str, key: int, sigs: npt.NDArray[np.uint32]) -> int:
        remove, removed = self._stored_records(key, sigs)
        return int(self._call(self._delete, [], [PREFIX, article_id, key, remove, removed]))

    def expire(self, before_ns: int) -> int:
        removed = 0
        cutoff = f"({-(-before_ns // 1000)}"  # published_at_ns < before_ns, in µs
        while True:
            keys: list[bytes] = self._call(
                self._r.zrangebyscore, PREFIX + b"pub", "-inf", cutoff, 0, _EXPIRE_BATCH
            )
            if not keys:
                return removed
            with reachable():
                pipe = self._r.pipeline(transaction=False)
                for key in keys:
                    pipe.hmget(PREFIX + b"a:" + key, [b"id", b"units", b"sigs"])
                found = pipe.execute()
            for key, (article_id, units, blob) in zip(keys, found, strict=True):
                if article_id is None:  # gone already; drop the stale entry
                    self._call(self._r.zrem, PREFIX + b"pub", key)
                    continue
                sigs = self._decode_sigs(units, blob)
                removed += self._drop(article_id.decode(), int(key), sigs) == 1

    # -- reads ----------------------------------------------------------------------

    def lookup(self, band_keys: npt.NDArray[np.uint64], *, max_bucket: int | None) -> Lookup:
        if not len(band_keys):
            return Lookup([], [])
        bk = band_keys.ravel()
        packed = _HGET.pack(shard=bk >> np.uint64(64 - self.shard_bits), field=bk)
        return tally(self._pipeline(packed, bk.size), len(band_keys), self.spec.bands, max_bucket)

    def _pipeline(self, packed: bytes, count: int) -> list[Any]:
        """Send ``count`` prebuilt RESP commands on one connection; their replies."""
        pool = self._r.connection_pool
        for attempt in range(2):  # one reconnect, after a Redis restart
            conn = pool.get_connection()
            try:
                with reachable():
                    conn.send_packed_command([packed], check_health=attempt > 0)  # type: ignore[no-untyped-call]
                    return read_replies(conn, count)
            except Unavailable:
                conn.disconnect()  # type: ignore[no-untyped-call]
                if attempt:
                    raise
            except BaseException:
                conn.disconnect()  # type: ignore[no-untyped-call]
                raise
            finally:
                pool.release(conn)
        raise AssertionError("unreachable")

    def meta_by_id(self, article_id: str) -> StoredMeta | None:
        found: list[Any] = self._call(self._by_id, [], [PREFIX, article_id, *META_FIELDS])
        return decode_meta(int(found[0]), found[1:]) if found else None

    def meta_by_key(self, key: int) -> StoredMeta | None:
        values = self._call(self._r.hmget, PREFIX + b"a:%d" % key, META_FIELDS)
        return decode_meta(key, values)

    def record(self, article_id: str) -> ArticleRecord | None:
        found: list[Any] = self._call(self._by_id, [], [PREFIX, article_id, *RECORD_FIELDS])
        if not found or found[1] is None:
            return None
        return decode_record(found[1:])

    def text(self, key: int) -> str | None:
        raw = self._call(self._r.hget, PREFIX + b"a:%d" % key, b"text")
        return None if raw is None else raw.decode("utf-8", "surrogatepass")

    def signatures_many(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        if not keys:
            return {}
        with reachable():
            pipe = self._r.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(PREFIX + b"a:%d" % key, [b"units", b"sigs"])
            found = pipe.execute()
        return {
            key: self._decode_sigs(units, blob)
            for key, (units, blob) in zip(keys, found, strict=True)
            if units is not None
        }

    def count(self) -> int:
        return int(self._call(self._r.hlen, PREFIX + b"ids"))

    def passages(self) -> int:
        return int(self._call(self._r.get, PREFIX + b"passages") or 0)

    def index_bytes(self) -> int:
        return int(self._call(self._r.info, "memory")["used_memory"])

    def ping(self) -> None:
        self._call(self._r.ping)

    def close(self) -> None:
        self._r.close()
