"""The shared backend on Redis Cluster: the same index as ``redis`` (hashes of band key
-> passage keys), partitioned over the cluster's primaries by slot.

URL: ``redis+cluster://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/?shard_bits=N
&wait_replicas=N&repair_after=S``.

Layout (every key carries a hash tag chosen by ``slots.slot_tags``, ``{T}`` below):

- ``wt:{T}b:<shard>``: index shard, a string of 16-byte records (band key, big-endian;
  passage key, little-endian); its tag is the slot of the shard's top 14 bits, so
  the 16384 slots share the shards evenly and one shard lives in one slot;
- per *home* (256 of them, each on its own slot, a home every 64 slots): ``i:<id>``,
  the id map (``key``, ``sha`` of the committed article; ``next``, ``nsha`` of one
  being written); ``a:<key>``, the article hash (fields, signatures, ``n`` passages,
  ``state`` p/c/d, ``old``: the key it replaces); ``pend``, the sorted set of keys
  being written or removed, by the time (ms) that began; ``live``, committed keys by
  publication time (µs; ``inf`` when undated); ``n``, passages committed. An id's home
  is CRC-32 of the id mod 256; an article key is ``counter << 8 | home``.
- ``wt:meta`` (settings, and ``layout``: this one is ``LAYOUT``) and ``wt:next``
  (the key counter).

No visible partial article. One article's records span many slots, so no script can
write them all; instead:

1. *claim*: on the home slot, one script writes the whole article hash with
   ``state=p``, puts its key in ``next`` of the id map and in ``pend``. It refuses
   while another write of the id is under way (``busy``) or when the committed key
   is not the one read (``changed``: read again and decide again);
2. *index*: the band records are appended on every primary: one native ``APPEND``
   a shard with all the batch's records of that shard (appending never overwrites,
   so two writers never lose each other's records). Records an ``APPEND`` did not
   reach (a moved slot, a lost connection) go again through a script that adds a
   record only where it is missing, and so does every later write of the same
   records (repair, a racing replica finishing the write): a retry never stores a
   record twice. Only a racing finish interleaved with the first writer's
   ``APPEND`` can, and readers count a record once (a lookup drops repeats);
3. *commit*: on the home slot, one script flips the id map to the new key, sets
   ``state=c``, moves the key from ``pend`` to ``live`` and counts its passages; a
   replaced article becomes ``state=d`` and enters ``pend`` in the same step;
4. a removed or replaced article: *unlink* (home slot: ``state=d``, gone from the id
   map and ``live``, into ``pend``), its records removed on every primary, then
   *forget* (its hash deleted, out of ``pend``). Removing a record takes out every
   copy of it.

Readers see only committed articles: by id through the id map's ``key``, by key only
with ``state=c`` (so index records of an article being written or removed are
ignored: their signatures are not returned); counts come from ``live`` and ``n``.
A write left half-done by a crash stays in ``pend``; ``repair`` (at open and from
the sweeper) finishes every entry older than ``repair_after`` seconds: a claim is
always completed (the article hash holds all it needs), a removal always finished.
A put that finds the id busy waits for that write, finishes it at once when it is
the same text, and after ``repair_after`` finishes it whatever it is. So two replicas
racing on one id end with one winner; the other finds the same text (``created``
False) or gets ``Conflict``.

``wait_replicas=N``: after its commands, every primary a write touched is sent
``WAIT N`` on the same connection; fewer replicas within ``WAIT_MS`` fail the call
with ``Unavailable`` (the write may still complete, by repair). Then an acknowledged
article is on N replicas of every primary it touched, and survives a failover.

``WIRETRACE_FAULT=after-claim|after-index`` (tests only) SIGKILLs the process at that
point of a put, to test repair.
"""

from __future__ import annotations

import functools
import os
import signal
import time
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import redis
import redis.exceptions as rx
from redis.cluster import ClusterNode, RedisCluster

from wiretrace.errors import Conflict, InvalidInput, Unavailable
from wiretrace.store import cluster_lua as lua
from wiretrace.store.base import (
    ArticleRecord,
    ArticleStore,
    IndexSpec,
    Lookup,
    Put,
    Row,
    StoredMeta,
)
from wiretrace.store.cluster_io import Call, Router, pack
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
    split_url,
    tally_pairs,
)
from wiretrace.store.resp import FixedCommand
from wiretrace.store.slots import SLOTS, TAG_WIDTH, slot_tags

__all__ = ["HOMES", "LAYOUT", "ClusterStore"]

SCHEME = "redis+cluster://"
#: The index layout, kept in ``wt:meta``: a cluster written with another is refused.
LAYOUT = b"append16"
HOMES = 256
_HOME_STEP = SLOTS // HOMES
WAIT_MS = 2000
_RETRY_SECONDS = 5.0  # how long one step is retried while the cluster changes
_CHUNK = 16_384  # records per index script: keeps one script call to a few ms
_BATCH = 256
OPTIONS = {
    "shard_bits": Option(SHARD_BITS, 14, 26),
    "wait_replicas": Option(0, 0, 16),
    "repair_after": Option(10.0, 0.0, 3600.0, integer=False),
}

_RECORD = np.dtype(
    [("tag", f"S{TAG_WIDTH}"), ("shard", ">u4"), ("field", ">u8"), ("passage", "<i8")]
)
_KEY_LEN = 4 + TAG_WIDTH + 3 + 4  # wt:{TAG}b:SSSS
#: One stored record of a shard: band key, passage key.
_PAIR = np.dtype([("field", ">u8"), ("passage", "<i8")])
_GET = FixedCommand(
    b"*2\r\n$3\r\nGET\r\n$%d\r\nwt:{" % _KEY_LEN, ("tag", f"S{TAG_WIDTH}"), b"}b:",
    ("shard", ">u4"), b"\r\n",
)  # fmt: skip


@functools.cache
def _append_command(size: int) -> FixedCommand:
    """``APPEND`` of ``size`` records to one shard, as raw RESP."""
    return FixedCommand(
        b"*3\r\n$6\r\nAPPEND\r\n$%d\r\nwt:{" % _KEY_LEN, ("tag", f"S{TAG_WIDTH}"), b"}b:",
        ("shard", ">u4"), b"\r\n$%d\r\n" % (16 * size), ("body", f"V{16 * size}"), b"\r\n",
    )  # fmt: skip


def _parse(url: str) -> tuple[list[ClusterNode], str | None, str | None, dict[str, float]]:
    """Startup nodes, user, password and our options of a ``redis+cluster://`` URL."""
    plain, options = split_url(url, OPTIONS)
    rest = plain[len(SCHEME) :]
    netloc, _, tail = rest.partition("/")
    if tail.strip("/").partition("?")[0]:
        raise InvalidInput(f"a cluster has no database number: {redact(url)}")
    auth, _, hosts = netloc.rpartition("@")
    user, _, password = auth.partition(":") if auth else ("", "", "")
    nodes = []
    for hostport in hosts.split(","):
        host, sep, port = hostport.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise InvalidInput(f"cluster nodes must be HOST:PORT[,HOST:PORT...]: {redact(url)}")
        nodes.append(ClusterNode(host, int(port)))  # type: ignore[no-untyped-call]
    return nodes, user or None, password or None, options


def _home_of_id(article_id: str) -> int:
    return zlib.crc32(article_id.encode("utf-8", "surrogatepass")) % HOMES


class ClusterStore(ArticleStore):
    """Thread-safe; safe across processes and replicas by the protocol above."""

    def __init__(self, url: str, spec: IndexSpec, *, timeout: float = 2.0) -> None:
        self.url = url
        self.spec = spec
        nodes, user, password, options = _parse(url)
        self.shard_bits = int(options["shard_bits"])
        self.wait_replicas = int(options["wait_replicas"])
        self.repair_after = float(options["repair_after"])
        self._fault = os.environ.get("WIRETRACE_FAULT", "")
        self._tags = slot_tags()
        try:
            rc = RedisCluster(
                startup_nodes=nodes,
                username=user,
                password=password,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
        except (redis.RedisError, rx.RedisClusterException) as err:
            raise Unavailable(f"the Redis cluster {redact(url)} cannot be reached: {err}") from err
        self._rc = rc
        self._io = Router(
            rc, retry_seconds=_RETRY_SECONDS, wait_replicas=self.wait_replicas, wait_ms=WAIT_MS
        )
        self._index_sha = self._io.script(lua.INDEX)
        self._sha = {
            name: self._io.script(getattr(lua, name))
            for name in ("CLAIM", "COMMIT", "UNLINK", "FORGET", "ABORT")
        }
        self._check_layout()
        check_meta(
            url,
            spec,
            self.shard_bits,
            lambda name, value: rc.hsetnx(b"wt:meta", name, value),
            lambda: rc.hgetall(b"wt:meta"),
        )
        self.repair()

    def _check_layout(self) -> None:
        """Refuse a cluster whose index was written in another layout."""
        with reachable("Redis cluster"):
            stored = self._rc.hgetall(b"wt:meta")
            if not stored:
                self._rc.hsetnx(b"wt:meta", b"layout", LAYOUT)
                stored = self._rc.hgetall(b"wt:meta")
        layout = stored.get(b"layout", b"")
        if layout != LAYOUT:
            raise InvalidInput(
                f"the Redis cluster at {redact(self.url)} holds an index in another layout "
                f"({layout!r}; none: hashes of band keys); this server writes "
                f"{LAYOUT.decode()}: use a new cluster"
            )

    # -- key names ------------------------------------------------------------------

    def _home(self, home: int) -> tuple[int, bytes]:
        """A home's slot and key prefix."""
        slot = home * _HOME_STEP
        return slot, b"wt:{" + bytes(self._tags[slot]) + b"}"

    def _id_key(self, article_id: str) -> tuple[int, bytes]:
        slot, prefix = self._home(_home_of_id(article_id))
        return slot, prefix + b"i:" + article_id.encode("utf-8", "surrogatepass")

    def _art(self, key: int) -> tuple[int, bytes]:
        slot, prefix = self._home(key % HOMES)
        return slot, prefix + b"a:%d" % key

    def _shard_slots(self, shards: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        return ((shards.astype(np.int64) << 14) >> self.shard_bits).astype(np.int64)

    # -- plumbing -------------------------------------------------------------------

    def _run(
        self, calls: list[Call], *, wait: bool = False, patience: float | None = None
    ) -> list[Any]:
        with reachable("Redis cluster"):
            return self._io.run(calls, wait=wait and self.wait_replicas > 0, patience=patience)

    def _one(self, slot: int, *args: Any, wait: bool = False) -> Any:
        return self._run([Call(slot, args)], wait=wait)[0]

    def _script(self, name: str, slot: int, keys: list[bytes], args: list[Any]) -> Any:
        return self._one(slot, "EVALSHA", self._sha[name], len(keys), *keys, *args, wait=True)

    def _crash(self, point: str) -> None:
        if self._fault == point:  # fault injection for the crash test; see module doc
            os.kill(os.getpid(), signal.SIGKILL)

    # -- the index ------------------------------------------------------------------

    def _records(self, records: BandRecords) -> npt.NDArray[Any]:
        out = np.empty(records.field.size, dtype=_RECORD)
        out["tag"] = self._tags[self._shard_slots(records.shard)]
        out["shard"] = records.shard
        out["field"] = records.field
        out["passage"] = records.passage
        return out

    def _by_primary(
        self, slots: npt.NDArray[np.int64]
    ) -> tuple[dict[str, npt.NDArray[np.intp]], npt.NDArray[np.intp]]:
        """The positions in ``slots`` grouped by the primary (by name) that serves
        their slot in the current view, and the positions no primary serves."""
        nodes, table = self._io.view()
        owner = table[slots]
        order = np.argsort(owner, kind="stable")
        bounds = np.flatnonzero(np.diff(owner[order])) + 1
        groups: dict[str, npt.NDArray[np.intp]] = {}
        unrouted = order[:0]
        for part in np.split(order, bounds) if order.size else []:
            at = int(owner[part[0]])
            if at < 0:
                unrouted = part
            else:
                groups[nodes[at].name] = part
        return groups, unrouted

    def _index(self, mode: str, records: BandRecords, *, first: bool = False) -> None:
        """Add (``add``) or remove (``del``) band records on every primary. The first
        write of a new article's records (``first``) goes as native ``APPEND``s
        (``_append``); the rest (records not reached, any later write of the same
        records, and removals) go as one script a primary, which adds a record only
        where it is missing; records a script could not reach (their slot moved) go
        again one slot at a time, with the redirections followed."""
        recs = self._records(records)
        if first:
            recs = self._append(recs)
        for _ in range(2):
            if not recs.size:
                return
            recs = self._index_round(mode, recs)
            if recs.size:
                self._io.refresh()
        self._index_by_slot(mode, recs)

    def _append(self, recs: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Append the records to their shards with native ``APPEND``s, one a shard
        with all its records, all primaries at once; the records still to add (those
        whose primary did not take them). Appending never overwrites, so it is safe to
        send blind; it is not idempotent, so only the first write of new records comes
        here. A native command costs Redis a fraction of a call from Lua, and one
        command a shard, not one a record, most of the rest (RESULTS.md, section 9)."""
        recs = recs[np.argsort(recs["shard"], kind="stable")]
        shard = recs["shard"]
        starts = np.flatnonzero(np.r_[True, shard[1:] != shard[:-1]])
        sizes = np.diff(np.r_[starts, len(recs)])
        heads = recs[starts]
        groups, _ = self._by_primary(self._shard_slots(heads["shard"].astype(np.uint64)))
        pairs = np.empty(len(recs), dtype=_PAIR)
        pairs["field"] = recs["field"]
        pairs["passage"] = recs["passage"]
        body = pairs.view(np.uint8).reshape(-1)
        batches: dict[str, list[bytes]] = {}
        sent: dict[str, npt.NDArray[np.intp]] = {}
        for name, part in groups.items():
            part = part[np.argsort(sizes[part], kind="stable")]
            batches[name], sent[name] = [], part
            for size, lo in zip(*np.unique(sizes[part], return_index=True), strict=True):
                mine = part[lo : lo + int(np.count_nonzero(sizes[part] == size))]
                at = (starts[mine] * 16)[:, None] + np.arange(16 * int(size))
                command = _append_command(int(size)).array(
                    tag=heads["tag"][mine],
                    shard=heads["shard"][mine],
                    body=body[at].view(f"V{16 * int(size)}").reshape(-1),
                )
                batches[name].append(command.tobytes())
        wait = self.wait_replicas > 0
        with reachable("Redis cluster"):
            replies = self._io.exchange(batches, {n: len(p) for n, p in sent.items()}, wait=wait)
        added = np.zeros(len(heads), dtype=bool)
        for name, order in sent.items():
            answers = replies[name]
            done = np.fromiter(
                (not isinstance(a, Exception) for a in answers[: len(order)]), bool, len(order)
            )
            added[order[done]] = True
            if wait and done.any():
                self._io.check_wait(name, answers[-1])
        left: npt.NDArray[Any] = recs[np.repeat(~added, sizes)]
        return left

    def _index_round(self, mode: str, recs: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """One script a primary with the records its slots hold, all primaries at
        once; the records that are still to write."""
        slots = self._shard_slots(recs["shard"].astype(np.uint64))
        nodes, table = self._io.view()
        owner = table[slots]
        order = np.argsort(owner, kind="stable")
        recs, owner = recs[order], owner[order]
        batches: dict[str, list[bytes]] = {}
        counts: dict[str, int] = {}
        parts: dict[str, list[tuple[int, int]]] = {}
        bounds = np.flatnonzero(np.diff(owner)) + 1
        failed: list[npt.NDArray[Any]] = []
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(owner)], strict=True):
            if owner[lo] < 0:
                failed.append(recs[lo:hi])
                continue
            name = nodes[int(owner[lo])].name
            for start in range(lo, hi, _CHUNK):
                end = min(hi, start + _CHUNK)
                command = ("EVALSHA", self._index_sha, 0, mode, recs[start:end].tobytes())
                batches.setdefault(name, []).extend(pack([command]))
                counts[name] = counts.get(name, 0) + 1
                parts.setdefault(name, []).append((start, end))
        wait = self.wait_replicas > 0
        with reachable("Redis cluster"):
            replies = self._io.exchange(batches, counts, wait=wait)
        for name, spans in parts.items():
            answers = replies[name]
            for (start, end), reply in zip(spans, answers, strict=False):
                if isinstance(reply, redis.exceptions.NoScriptError):
                    self._io.load(name)
                if isinstance(reply, Exception):
                    failed.append(recs[start:end])
                elif reply:  # the records of slots this primary no longer serves
                    failed.append(np.frombuffer(reply, dtype=_RECORD))
            if wait and not any(isinstance(a, Exception) for a in answers[:-1]):
                self._io.check_wait(name, answers[-1])
        # concatenate() would turn the big-endian fields native: keep the layout.
        return np.concatenate(failed).astype(_RECORD) if failed else recs[:0]

    def _index_by_slot(self, mode: str, recs: npt.NDArray[Any]) -> None:
        """The slow path of ``_index``: one script a slot, its keys declared, so that
        the cluster redirects it (``ASK``, ``TRYAGAIN``) while the slot moves."""
        slots = self._shard_slots(recs["shard"].astype(np.uint64))
        calls = []
        for slot in np.unique(slots).tolist():
            mine = recs[slots == slot]
            keys = sorted(
                {b"wt:{%s}b:%s" % (r["tag"], int(r["shard"]).to_bytes(4, "big")) for r in mine}
            )
            command = ("EVALSHA", self._index_sha, len(keys), *keys, mode, mine.tobytes())
            calls.append(Call(slot, command))
        replies = self._run(calls, wait=True)
        if any(replies):
            raise Unavailable("the Redis cluster kept moving slots under a write; try again")

    def lookup(self, band_keys: npt.NDArray[np.uint64], *, max_bucket: int | None) -> Lookup:
        if not len(band_keys):
            return Lookup([], [])
        bk = band_keys.ravel()
        shards = bk >> np.uint64(64 - self.shard_bits)
        slots = self._shard_slots(shards)
        commands = _GET.array(tag=self._tags[slots], shard=shards)
        spans, unrouted = self._by_primary(slots)
        batches = {name: [commands[part].tobytes()] for name, part in spans.items()}
        with reachable("Redis cluster"):
            replies = self._io.exchange(batches, {n: len(p) for n, p in spans.items()})
        out: list[Any] = [None] * bk.size
        retry: list[int] = unrouted.tolist()
        for name, part in spans.items():
            for index, reply in zip(part.tolist(), replies[name], strict=True):
                if isinstance(reply, Exception):
                    retry.append(index)
                else:
                    out[index] = reply
        if retry:  # a slot moved or a primary failed: these go one by one, redirected
            self._io.refresh()
            calls = [
                Call(int(slots[i]), ("GET", b"wt:{%s}b:%s" % (self._tags[slots[i]],
                     int(shards[i]).to_bytes(4, "big"))))
                for i in retry
            ]  # fmt: skip
            for i, reply in zip(retry, self._run(calls), strict=True):
                out[i] = reply
        bucket, passage = _found(out, bk)
        rows, bands = len(band_keys), self.spec.bands
        return tally_pairs(bucket, passage, rows, bands, max_bucket, repeats=True)

    # -- writes ---------------------------------------------------------------------

    def _new_keys(self, homes: list[int]) -> list[int]:
        last = int(self._one(_slot_of(b"wt:next"), "INCRBY", b"wt:next", len(homes)))
        first = last - len(homes) + 1
        return [(first + k) << 8 | home for k, home in enumerate(homes)]

    def _commit(self, key: int, article_id: str, old: int | None) -> bytes:
        slot, id_key = self._id_key(article_id)
        _, prefix = self._home(key % HOMES)
        keys = [id_key, self._art(key)[1], prefix + b"pend", prefix + b"live", prefix + b"n"]
        keys.append(self._art(old)[1] if old is not None else keys[1])
        reply: bytes = self._script("COMMIT", slot, keys, [key, _now_ms()])
        return reply

    def _id_state(self, article_id: str) -> tuple[int | None, bytes, int | None, bytes]:
        """The committed key and text hash of ``article_id``, and the key and text hash
        of a write of it under way."""
        slot, id_key = self._id_key(article_id)
        key, sha, nxt, nsha = self._one(slot, "HMGET", id_key, "key", "sha", "next", "nsha")
        return _int(key), sha or b"", _int(nxt), nsha or b""

    def put(self, row: Row, *, replace: bool = False) -> Put:
        article_id = row.record.id
        sha = row.sha256.encode()
        patience = time.monotonic() + self.repair_after
        while True:
            key, stored_sha, busy, busy_sha = self._id_state(article_id)
            if busy is not None:
                if busy_sha == sha or time.monotonic() > patience:
                    self._finish(busy)  # the same text, or a writer that died
                else:
                    time.sleep(0.02)  # another text of this id is being written
                continue
            if key is not None and stored_sha == sha:
                return Put(key, created=False)
            if key is not None and not replace:
                raise Conflict.other_text(article_id)
            new = self._new_keys([_home_of_id(article_id)])[0]
            slot = self._id_key(article_id)[0]
            if self._one(slot, *self._claim_args(row, new, key))[0] != b"ok":
                continue  # another writer got there first: read again
            self._crash("after-claim")
            records = BandRecords.of(new, row.passages, self.spec.bands, self.shard_bits)
            self._index("add", records, first=True)
            self._crash("after-index")
            self._commit(new, article_id, key)
            if key is not None:
                self._remove(key)
            return Put(new, created=True)

    def insert_many(self, rows: list[Row]) -> list[int]:
        if not rows:
            return []
        keys = self._new_keys([_home_of_id(r.record.id) for r in rows])
        claims = []
        for row, key in zip(rows, keys, strict=True):
            slot, id_key = self._id_key(row.record.id)
            claims.append((slot, id_key, row, key))
        replies = self._run([Call(s, self._claim_args(r, k)) for s, _, r, k in claims])
        refused = [k for k, reply in enumerate(replies) if reply[0] != b"ok"]
        if refused:
            for (slot, id_key, _, key), reply in zip(claims, replies, strict=True):
                if reply[0] == b"ok":
                    _, prefix = self._home(key % HOMES)
                    art = self._art(key)[1]
                    self._script("ABORT", slot, [id_key, art, prefix + b"pend"], [key])
                    self._script("FORGET", slot, [art, prefix + b"pend"], [key])
            raise Conflict(f"article {rows[refused[0]].record.id!r} is stored already")
        parts = [
            BandRecords.of(key, row.passages, self.spec.bands, self.shard_bits)
            for row, key in zip(rows, keys, strict=True)
        ]
        self._index("add", BandRecords.join(parts), first=True)
        calls = []
        for slot, id_key, _, key in claims:
            _, prefix = self._home(key % HOMES)
            art = self._art(key)[1]
            commit_keys = [id_key, art, prefix + b"pend", prefix + b"live", prefix + b"n", art]
            calls.append(Call(slot, ("EVALSHA", self._sha["COMMIT"], 6, *commit_keys, key, 0)))
        self._run(calls, wait=True)
        return keys

    def _claim_args(self, row: Row, key: int, expected: int | None = None) -> tuple[Any, ...]:
        """The CLAIM of ``key`` for ``row``, whose id's committed key is ``expected``."""
        record = row.record
        pub = record.published_at_ns
        sigs = np.ascontiguousarray(row.signatures, dtype=np.uint32)
        _, id_key = self._id_key(record.id)
        _, prefix = self._home(key % HOMES)
        return (
            "EVALSHA", self._sha["CLAIM"], 3, id_key, self._art(key)[1], prefix + b"pend",
            b"" if expected is None else expected, key, _now_ms(),
            record.id, row.sha256, record.outlet, record.url,
            b"" if pub is None else pub, record.language, record.text, sigs.shape[0],
            sigs.tobytes(), len(row.passages.units), b"inf" if pub is None else pub // 1000,
        )  # fmt: skip

    def _stored(self, key: int) -> tuple[bytes | None, str, npt.NDArray[np.uint32], int | None]:
        """State, id, signatures and replaced key of the article hash ``key``."""
        slot, art = self._art(key)
        fields = ("state", "id", "units", "sigs", "old")
        state, aid, units, blob, old = self._one(slot, "HMGET", art, *fields)
        sigs = self._signatures(int(units or 0), blob or b"")
        return state, (aid or b"").decode("utf-8", "surrogatepass"), sigs, _int(old)

    def _finish(self, key: int) -> None:
        """Complete whatever was under way on ``key`` (a claim or a removal); safe to
        run while the writer that began it is still at it (every step is idempotent)."""
        state, article_id, sigs, old = self._stored(key)
        if state == b"p":
            passages = self.spec.passages(sigs)
            self._index("add", BandRecords.of(key, passages, self.spec.bands, self.shard_bits))
            if self._commit(key, article_id, old) != b"gone" and old is not None:
                self._remove(old)
        elif state == b"d":
            self._remove(key)
        else:
            slot, art = self._art(key)
            self._script("FORGET", slot, [art, self._home(key % HOMES)[1] + b"pend"], [key])

    def _remove(self, key: int) -> None:
        """The records and hash of an unlinked (``state=d``) article."""
        state, _, sigs, _ = self._stored(key)
        if state == b"d":
            passages = self.spec.passages(sigs)
            self._index("del", BandRecords.of(key, passages, self.spec.bands, self.shard_bits))
        slot, art = self._art(key)
        self._script("FORGET", slot, [art, self._home(key % HOMES)[1] + b"pend"], [key])

    def _unlink(self, article_id: str, key: int) -> int:
        slot, id_key = self._id_key(article_id)
        _, prefix = self._home(key % HOMES)
        keys = [id_key, self._art(key)[1], prefix + b"pend", prefix + b"live", prefix + b"n"]
        return int(self._script("UNLINK", slot, keys, [key, _now_ms()]))

    def delete(self, article_id: str) -> bool:
        patience = time.monotonic() + self.repair_after
        while True:
            key, _, busy, _ = self._id_state(article_id)
            if busy is not None:
                if time.monotonic() > patience:
                    self._finish(busy)
                else:
                    time.sleep(0.02)
                continue
            if key is None:
                return False
            done = self._unlink(article_id, key)
            if done == 1:
                self._remove(key)
                return True

    def _per_home(self, *args: Any) -> Iterator[tuple[int, Any]]:
        """Each home and its reply to the command ``args`` with the home's key prefix
        joined to the key ``args[1]``."""
        calls = []
        for home in range(HOMES):
            slot, prefix = self._home(home)
            calls.append(Call(slot, (args[0], prefix + args[1], *args[2:])))
        yield from enumerate(self._run(calls))

    def _scored(self, name: bytes, cutoff: int | str) -> list[int]:
        """Up to ``_BATCH`` keys a home from its sorted set ``name`` scored below
        ``cutoff``."""
        command = ("ZRANGEBYSCORE", name, "-inf", cutoff, "LIMIT", 0, _BATCH)
        return [int(k) for _, keys in self._per_home(*command) for k in keys]

    def expire(self, before_ns: int) -> int:
        removed = 0
        cutoff = f"({-(-before_ns // 1000)}"  # published_at_ns < before_ns, in µs
        while True:
            found = self._scored(b"live", cutoff)
            if not found:
                return removed
            for key in found:
                _, article_id, _, _ = self._stored(key)
                if self._unlink(article_id, key) == 1:
                    self._remove(key)
                    removed += 1
                else:  # being rewritten right now: the next sweep sees it again
                    return removed

    def repair(self) -> int:
        """Finish every write or removal pending longer than ``repair_after``."""
        cutoff = _now_ms() - int(self.repair_after * 1000)
        pending = self._scored(b"pend", cutoff)
        for key in pending:
            self._finish(key)
        return len(pending)

    # -- reads ----------------------------------------------------------------------

    def meta_by_id(self, article_id: str) -> StoredMeta | None:
        key = self._id_state(article_id)[0]
        return None if key is None else self.meta_by_key(key)

    def meta_by_key(self, key: int) -> StoredMeta | None:
        slot, art = self._art(key)
        state, *values = self._one(slot, "HMGET", art, "state", *META_FIELDS)
        return decode_meta(key, values) if state == b"c" else None

    def record(self, article_id: str) -> ArticleRecord | None:
        key = self._id_state(article_id)[0]
        if key is None:
            return None
        slot, art = self._art(key)
        state, *values = self._one(slot, "HMGET", art, "state", *RECORD_FIELDS)
        return decode_record(values) if state == b"c" else None

    def text(self, key: int) -> str | None:
        slot, art = self._art(key)
        state, raw = self._one(slot, "HMGET", art, "state", "text")
        return raw.decode("utf-8", "surrogatepass") if state == b"c" else None

    def signatures_many(self, keys: list[int]) -> dict[int, npt.NDArray[np.uint32]]:
        arts = [self._art(k) for k in keys]
        calls = [Call(slot, ("HMGET", art, "state", "units", "sigs")) for slot, art in arts]
        return {
            key: self._signatures(int(units), blob)
            for key, (state, units, blob) in zip(keys, self._run(calls), strict=True)
            if state == b"c"
        }

    def count(self) -> int:
        return sum(int(n) for _, n in self._per_home("ZCARD", b"live"))

    def passages(self) -> int:
        return sum(int(n or 0) for _, n in self._per_home("GET", b"n"))

    def index_bytes(self) -> int:
        calls = [Call(0, ("INFO", "memory"), node=node.name) for node in self._io.primaries()]
        return sum(_info_field(reply, b"used_memory") for reply in self._run(calls))

    def ping(self) -> None:
        calls = [Call(0, ("PING",), node=node.name) for node in self._io.primaries()]
        self._run(calls, patience=0.5)  # a health check answers at once

    def close(self) -> None:
        self._rc.close()


def _found(
    shards: list[bytes | None], band_keys: npt.NDArray[np.uint64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The (bucket, passage key) pairs of the band keys looked up, out of the shard
    read for each band key (bucket ``i``): the shard's records whose band key is
    ``band_keys[i]``. A record stored twice (a rare race; see the module) is here
    twice: the tally counts it once."""
    read = [s or b"" for s in shards]
    length = np.fromiter(map(len, read), np.int64, len(read))
    if (length & 15).any():  # not a shard of this layout: its whole records only
        read = [s[: len(s) // 16 * 16] for s in read]
        length -= length & 15
    blob = b"".join(read)
    owner = np.repeat(np.arange(len(read), dtype=np.int64), length >> 4)
    # Band keys compared as stored (big-endian), not converted record by record.
    stored = np.frombuffer(blob, np.uint64)[::2]
    hit = stored == band_keys.astype(">u8").view(np.uint64)[owner]
    return owner[hit], np.frombuffer(blob, "<i8")[1::2][hit].astype(np.int64)


def _slot_of(key: bytes) -> int:
    from redis.crc import key_slot

    return int(key_slot(key))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _int(raw: bytes | None) -> int | None:
    return int(raw) if raw else None


def _info_field(raw: bytes, name: bytes) -> int:
    for line in raw.splitlines():
        if line.startswith(name + b":"):
            return int(line.split(b":", 1)[1])
    return 0
