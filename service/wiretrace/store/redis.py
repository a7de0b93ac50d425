"""The shared backend: articles and the band index in one Redis, for many replicas.

Layout, under the prefix ``wt:``:

- ``meta``: hash of the layout version, signature width, banding and shard count the
  data was written with;
- ``next``: counter handing out article keys (never reused);
- ``count`` and ``passages``: counters of stored articles and indexed passages;
- ``i:<id>``: the key of the article stored under a client id;
- ``a:<key>``: hash of one article (metadata, text, signatures);
- ``pub``: sorted set of article keys by publication time (µs), for retention;
- ``b:<shard>``: the index, ``2**shard_bits`` sorted sets whose members are 16 bytes,
  ``band key ‖ passage key`` (big-endian), all at score 0: one band key's passages
  are one ``ZRANGE … BYLEX`` away. A shard holds about
  ``passages * bands / 2**shard_bits`` members; below Redis's
  ``zset-max-listpack-entries`` (128) it is one compact listpack, ~20 bytes a member,
  so size the shards to the corpus (``?shard_bits=`` in the store URL).

A write is native commands in one ``MULTI``/``EXEC``: the article, its id, the
counters and one ``ZADD`` (or ``ZREM``) per band record, built as RESP by numpy. No
record is read, modified and written back, so concurrent writers never collide on
the index. The id is ``WATCH``ed: when another replica changes it between our read
and ``EXEC``, the transaction is dropped whole and we read again (same text: nothing
to do; other text: ``Conflict``). Lookups are one pipeline of ``ZRANGE … BYLEX``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt
import redis
from redis.backoff import NoBackoff
from redis.connection import Connection
from redis.retry import Retry

from wiretrace.engine.index import band_keys
from wiretrace.errors import Conflict, InvalidInput, Unavailable
from wiretrace.store.base import (
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    Put,
    StoredMeta,
    passage_rows,
    text_conflict,
)
from wiretrace.store.resp import FixedCommand, pack_command

__all__ = ["LAYOUT", "SHARD_BITS", "RedisStore", "shard_bits_for"]

#: Version of the layout above, kept in ``meta``: a store refuses data of another.
LAYOUT = 2
SHARD_BITS = 18
PREFIX = b"wt:"
_RETRIES = 8  # optimistic-concurrency retries before giving up on a hot id
_EXPIRE_BATCH = 256
_SHARD = PREFIX + b"b:"
_NEXT, _COUNT, _PASSAGES, _PUB = (
    PREFIX + name for name in (b"next", b"count", b"passages", b"pub")
)
_MULTI, _EXEC = b"*1\r\n$5\r\nMULTI\r\n", b"*1\r\n$4\r\nEXEC\r\n"

T = TypeVar("T")


def shard_bits_for(passages: int, bands: int) -> int:
    """Shard bits for an index of about ``passages``: ~32 members a shard, well inside
    Redis's compact listpacks (beyond 128 members a shard costs ~5x the memory)."""
    return min(26, max(8, math.ceil(math.log2(max(1.0, passages * bands / 32)))))


_KEY = b"$%d\r\n" % (len(_SHARD) + 4) + _SHARD
_ZADD = FixedCommand(
    b"*4\r\n$4\r\nZADD\r\n" + _KEY, ("shard", ">u4"), b"\r\n$1\r\n0\r\n$16\r\n",
    ("band", ">u8"), ("passage", ">i8"), b"\r\n",
)  # fmt: skip
_ZREM = FixedCommand(
    b"*3\r\n$4\r\nZREM\r\n" + _KEY, ("shard", ">u4"), b"\r\n$16\r\n",
    ("band", ">u8"), ("passage", ">i8"), b"\r\n",
)  # fmt: skip
# Members from [band ‖ 0…] to [band ‖ ff…]: every passage under one band key.
_ZRANGE = FixedCommand(
    b"*5\r\n$6\r\nZRANGE\r\n" + _KEY, ("shard", ">u4"), b"\r\n$9\r\n[",
    ("low", ">u8"), b"\r\n$17\r\n[", ("high", ">u8"), b"\xff" * 8 + b"\r\n$5\r\nBYLEX\r\n",
)  # fmt: skip

# ARGV: prefix, id, fields... Returns {key, values...} or {} when the id is unknown.
_BY_ID = """
local key = redis.call('GET', ARGV[1] .. 'i:' .. ARGV[2])
if not key then return {} end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
local values = redis.call('HMGET', ARGV[1] .. 'a:' .. key, unpack(fields))
table.insert(values, 1, key)
return values
"""

_META_FIELDS = (b"id", b"outlet", b"pub", b"sha")
_RECORD_FIELDS = (b"id", b"outlet", b"url", b"pub", b"lang", b"text")


class _Dropped(Unavailable):
    """The connection failed: the store is unreachable, or was restarted."""


class _Changed(Exception):
    """A watched id changed before ``EXEC``: read again and decide anew."""


@contextmanager
def _reachable() -> Iterator[None]:
    """Redis failures that retrying later may cure become ``Unavailable``."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as err:
        raise _Dropped(f"the Redis store cannot be reached: {err}") from err
    except redis.ResponseError as err:
        # Out of memory, persistence failing, a read-only replica, loading the dataset.
        if str(err).split(" ", 1)[0] in {"OOM", "MISCONF", "READONLY", "LOADING", "BUSY"}:
            raise Unavailable(f"the Redis store refuses writes: {err}") from err
        raise


def _id_key(article_id: str) -> bytes:
    return PREFIX + b"i:" + article_id.encode("utf-8", "surrogatepass")


def _article_key(key: int | bytes) -> bytes:
    return PREFIX + b"a:" + (key if isinstance(key, bytes) else b"%d" % key)


@dataclass(frozen=True, slots=True)
class _Current:
    """What a write needs to know of the article stored under an id."""

    key: int
    sha256: str
    signatures: npt.NDArray[np.uint32]


class _Session:
    """One pooled connection for a ``WATCH`` … ``MULTI`` … ``EXEC`` exchange."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.watching = False

    def ask(self, *args: bytes | str | int) -> Any:
        self.conn.send_command(*args)  # type: ignore[no-untyped-call]
        return self.conn.read_response()

    def watch(self, *keys: bytes) -> None:
        self.ask("WATCH", *keys)
        self.watching = True

    def unwatch(self) -> None:
        if self.watching:
            self.ask("UNWATCH")
            self.watching = False

    def execute(self, commands: list[bytes], count: int) -> list[Any]:
        """Run ``count`` packed commands as one transaction; ``_Changed`` when a
        watched key changed first (nothing was written)."""
        self.conn.send_packed_command([_MULTI, *commands, _EXEC])  # type: ignore[no-untyped-call]
        self.watching = False
        read = self.conn.read_response
        read()  # +OK
        for _ in range(count):
            read()  # +QUEUED; an error reply raises here, and EXEC discards it all
        result = read()
        if result is None:
            raise _Changed
        for reply in result:
            if isinstance(reply, Exception):
                raise reply
        return list(result)


def _split_url(url: str) -> tuple[str, int]:
    """The URL without our ``shard_bits`` option, and the option's value."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = [value for name, value in query if name == "shard_bits"]
    rest = [(name, value) for name, value in query if name != "shard_bits"]
    try:
        bits = int(ours[-1]) if ours else SHARD_BITS
    except ValueError as err:
        raise InvalidInput(f"bad shard_bits in {url!r}: {err}") from err
    if not 8 <= bits <= 26:
        raise InvalidInput(f"shard_bits must be between 8 and 26, got {bits}")
    return urlunsplit(parts._replace(query=urlencode(rest))), bits


class RedisStore(ArticleStore):
    """Thread-safe (redis-py pools connections); safe across processes by ``WATCH``."""

    def __init__(
        self,
        url: str,
        spec: IndexSpec,
        *,
        timeout: float = 2.0,
        shard_bits: int | None = None,
    ) -> None:
        self.url = url
        self.spec = spec
        plain, bits = _split_url(url)
        self.shard_bits = bits if shard_bits is None else shard_bits
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
            raise InvalidInput(f"bad Redis URL {url!r}: {err}") from err
        self._by_id = self._r.register_script(_BY_ID)
        self._check_meta()

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        with _reachable():
            return fn(*args)

    def _check_meta(self) -> None:
        want = {
            b"layout": LAYOUT,
            b"num_perm": self.spec.num_perm,
            b"bands": self.spec.bands,
            b"rows": self.spec.rows,
            b"shard_bits": self.shard_bits,
        }
        key = PREFIX + b"meta"
        with _reachable():
            stored = self._r.hgetall(key)
            if not stored:
                for name, value in want.items():
                    self._r.hsetnx(key, name, value)
                stored = self._r.hgetall(key)
        if b"layout" not in stored:
            raise InvalidInput(
                f"the Redis store at {self.url} holds data of an older wiretrace layout; "
                "use another database (or FLUSHDB this one)"
            )
        for name, value in want.items():
            if int(stored[name]) != value:
                raise InvalidInput(
                    f"the Redis store at {self.url} was written with {name.decode()}="
                    f"{int(stored[name])}, but this server uses {value}; use the same "
                    "settings on every replica, or another database"
                )

    # -- transactions -----------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[_Session]:
        pool = self._r.connection_pool
        session = _Session(pool.get_connection())
        try:
            with _reachable():
                try:
                    yield session
                except (_Changed, Conflict):
                    session.unwatch()  # the connection is fine: only the answer was no
                    raise
                session.unwatch()
        except (_Changed, Conflict):
            raise
        except BaseException:
            session.conn.disconnect()  # type: ignore[no-untyped-call]  # drops any WATCH
            raise
        finally:
            pool.release(session.conn)

    def _retrying(self, what: str, attempt: Callable[[_Session], T]) -> T:
        """Run ``attempt`` in a session until no watched key changed under it; a
        dropped connection is retried once on a new one (after a Redis restart)."""
        reconnect = True
        for _ in range(_RETRIES):
            try:
                with self._session() as session:
                    return attempt(session)
            except _Changed:
                continue
            except _Dropped:
                if not reconnect:
                    raise
                reconnect = False
        raise Unavailable(f"{what} kept changing under concurrent writers")

    def _current(self, session: _Session, article_id: str) -> _Current | None:
        """The article stored under ``article_id``, read in ``session``."""
        raw = session.ask("GET", _id_key(article_id))
        if raw is None:
            return None
        sha, units, blob = session.ask("HMGET", _article_key(raw), b"sha", b"units", b"sigs")
        return _Current(int(raw), (sha or b"").decode(), self._decode_sigs(units, blob))

    # -- binary records ---------------------------------------------------------------

    def _decode_sigs(self, units: bytes | None, blob: bytes | None) -> npt.NDArray[np.uint32]:
        n = int(units or 0)
        return np.frombuffer(blob or b"", dtype=np.uint32).reshape(n, self.spec.num_perm)

    def _records(
        self, command: FixedCommand, key: int, sigs: npt.NDArray[np.uint32]
    ) -> tuple[bytes, int, int]:
        """One command per band record of an article: its RESP, how many, and how many
        passages they index."""
        passages, rows = passage_rows(key, sigs)
        bands = band_keys(rows, self.spec.bands, self.spec.rows).ravel()
        packed = (
            command.pack(
                shard=bands >> np.uint64(64 - self.shard_bits),
                band=bands,
                passage=np.repeat(passages, self.spec.bands),
            )
            if bands.size
            else b""
        )
        return packed, int(bands.size), len(passages)

    def _store_commands(
        self, record: ArticleRecord, sha256: str, signatures: npt.NDArray[np.uint32], key: int
    ) -> tuple[list[bytes], int]:
        """The commands that store and index one new article under ``key``."""
        pub = record.published_at_ns
        sigs = np.ascontiguousarray(signatures, dtype=np.uint32)
        add, count, passages = self._records(_ZADD, key, sigs)
        commands = [
            pack_command(
                "HSET", _article_key(key), "id", record.id, "sha", sha256, "outlet",
                record.outlet, "url", record.url, "pub", "" if pub is None else pub,
                "lang", record.language, "text", record.text, "units", sigs.shape[0],
                "sigs", sigs.tobytes(),
            ),
            pack_command("SET", _id_key(record.id), key),
            pack_command("INCRBY", _PASSAGES, passages),
            pack_command("INCR", _COUNT),
            add,
        ]  # fmt: skip
        count += 4
        if pub is not None:
            commands.append(pack_command("ZADD", _PUB, pub // 1000, key))  # retention score, µs
            count += 1
        return commands, count

    def _drop_commands(self, article_id: str | None, current: _Current) -> tuple[list[bytes], int]:
        """The commands that remove a stored article and its records (and its id,
        unless the same write maps the id anew)."""
        remove, count, passages = self._records(_ZREM, current.key, current.signatures)
        commands = [
            remove,
            pack_command("DEL", _article_key(current.key)),
            pack_command("ZREM", _PUB, current.key),
            pack_command("DECRBY", _PASSAGES, passages),
            pack_command("DECR", _COUNT),
        ]
        count += 4
        if article_id is not None:
            commands.append(pack_command("DEL", _id_key(article_id)))
            count += 1
        return commands, count

    # -- writes ---------------------------------------------------------------------

    def put(
        self,
        record: ArticleRecord,
        sha256: str,
        signatures: npt.NDArray[np.uint32],
        *,
        replace: bool = False,
    ) -> Put:
        tried: set[int] = set()  # keys of our own attempts, in case one landed unseen

        def attempt(session: _Session) -> Put:
            session.watch(_id_key(record.id))
            current = self._current(session, record.id)
            if current is not None and current.key in tried:
                return Put(current.key, created=True)
            if current is not None and current.sha256 == sha256:
                return Put(current.key, created=False)
            if current is not None and not replace:
                raise text_conflict(record.id)
            key = int(session.ask("INCR", _NEXT))
            tried.add(key)
            commands, count = self._store_commands(record, sha256, signatures, key)
            if current is not None:
                drop, dropped = self._drop_commands(None, current)
                commands, count = drop + commands, dropped + count
            session.execute(commands, count)
            return Put(key, created=True)

        return self._retrying(f"article {record.id!r}", attempt)

    def insert_many(
        self, rows: list[tuple[ArticleRecord, str, npt.NDArray[np.uint32]]]
    ) -> list[int]:
        if not rows:
            return []
        ids = [_id_key(record.id) for record, _, _ in rows]
        tried: list[list[int]] = []  # keys of our attempts

        def attempt(session: _Session) -> list[int]:
            session.watch(*ids)
            found = session.ask("MGET", *ids)
            if tried and found == [b"%d" % key for key in tried[-1]]:
                return tried[-1]  # our last attempt landed; its reply was lost
            for (record, _, _), key in zip(rows, found, strict=True):
                if key is not None:
                    raise Conflict(f"article {record.id!r} is stored already")
            last = int(session.ask("INCRBY", _NEXT, len(rows)))
            keys = list(range(last - len(rows) + 1, last + 1))
            tried.append(keys)
            commands: list[bytes] = []
            count = 0
            for key, (record, sha, sigs) in zip(keys, rows, strict=True):
                more, n = self._store_commands(record, sha, sigs, key)
                commands += more
                count += n
            session.execute(commands, count)
            return keys

        return self._retrying("a batch of articles", attempt)

    def delete(self, article_id: str) -> bool:
        return self._remove(article_id, None)

    def _remove(self, article_id: str, key: int | None) -> bool:
        """Remove the article under ``article_id`` (only if its key is ``key``, when
        given); False when there is none."""

        def attempt(session: _Session) -> bool:
            session.watch(_id_key(article_id))
            current = self._current(session, article_id)
            if current is None or (key is not None and current.key != key):
                return False
            commands, count = self._drop_commands(article_id, current)
            session.execute(commands, count)
            return True

        return self._retrying(f"article {article_id!r}", attempt)

    def expire(self, before_ns: int) -> int:
        removed = 0
        cutoff = f"({-(-before_ns // 1000)}"  # published_at_ns < before_ns, in µs
        while True:
            keys: list[bytes] = self._call(
                self._r.zrangebyscore, _PUB, "-inf", cutoff, 0, _EXPIRE_BATCH
            )
            if not keys:
                return removed
            with _reachable():
                pipe = self._r.pipeline(transaction=False)
                for key in keys:
                    pipe.hget(_article_key(key), b"id")
                found = pipe.execute()
            for key, article_id in zip(keys, found, strict=True):
                if article_id is None or not self._remove(article_id.decode(), int(key)):
                    self._call(self._r.zrem, _PUB, key)  # a stale entry: drop it
                else:
                    removed += 1

    # -- reads ----------------------------------------------------------------------

    def query_bands(self, sigs: npt.NDArray[np.uint32]) -> list[dict[int, int]]:
        out: list[dict[int, int]] = [{} for _ in range(len(sigs))]
        if not len(sigs):
            return out
        bands = self.spec.bands
        bk = band_keys(sigs, bands, self.spec.rows).ravel()
        packed = _ZRANGE.pack(shard=bk >> np.uint64(64 - self.shard_bits), low=bk, high=bk)
        for index, members in enumerate(self._pipeline(packed, bk.size)):
            if not members:
                continue
            found = out[index // bands]
            for passage in np.frombuffer(b"".join(members), ">i8")[1::2].tolist():
                found[passage] = found.get(passage, 0) + 1
        return out

    def _pipeline(self, packed: bytes, count: int) -> list[Any]:
        """Send ``count`` prebuilt RESP commands on one connection; their replies."""
        for attempt in range(2):  # one reconnect, after a Redis restart
            try:
                with self._session() as session:
                    session.conn.send_packed_command([packed])  # type: ignore[no-untyped-call]
                    read = session.conn.read_response
                    return [read() for _ in range(count)]
            except _Dropped:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _meta(self, key: int, values: list[Any]) -> StoredMeta | None:
        article_id, outlet, pub, sha = values
        if article_id is None:
            return None
        return StoredMeta(
            key=key,
            id=article_id.decode(),
            outlet=(outlet or b"").decode(),
            published_at_ns=_ns(pub),
            sha256=(sha or b"").decode(),
        )

    def meta_by_id(self, article_id: str) -> StoredMeta | None:
        found: list[Any] = self._call(self._by_id, [], [PREFIX, article_id, *_META_FIELDS])
        return self._meta(int(found[0]), found[1:]) if found else None

    def meta_by_key(self, key: int) -> StoredMeta | None:
        values = self._call(self._r.hmget, _article_key(key), _META_FIELDS)
        return self._meta(key, values)

    def record(self, article_id: str) -> ArticleRecord | None:
        found: list[Any] = self._call(self._by_id, [], [PREFIX, article_id, *_RECORD_FIELDS])
        if not found or found[1] is None:
            return None
        _, aid, outlet, url, pub, lang, text = found
        return ArticleRecord(
            id=aid.decode(),
            outlet=outlet.decode(),
            url=url.decode(),
            published_at_ns=_ns(pub),
            language=lang.decode(),
            text=text.decode("utf-8", "surrogatepass"),
        )

    def text(self, key: int) -> str | None:
        raw = self._call(self._r.hget, _article_key(key), b"text")
        return None if raw is None else raw.decode("utf-8", "surrogatepass")

    def signatures_many(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        if not keys:
            return {}
        with _reachable():
            pipe = self._r.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(_article_key(key), [b"units", b"sigs"])
            found = pipe.execute()
        return {
            key: self._decode_sigs(units, blob)
            for key, (units, blob) in zip(keys, found, strict=True)
            if units is not None
        }

    def count(self) -> int:
        return int(self._call(self._r.get, _COUNT) or 0)

    def passages(self) -> int:
        return int(self._call(self._r.get, _PASSAGES) or 0)

    def index_bytes(self) -> int:
        return int(self._call(self._r.info, "memory")["used_memory"])

    def ping(self) -> None:
        self._call(self._r.ping)

    def close(self) -> None:
        self._r.close()


def _ns(raw: bytes | None) -> int | None:
    return int(raw) if raw else None
