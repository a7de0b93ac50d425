"""What the single-Redis store (``redis``) and the Redis Cluster store (``cluster``)
share: URL options, the mapping of Redis failures to ``Unavailable``, the settings
check, the band records of an article, and the decoding of stored fields and lookup
replies. Both keep the same index: hashes (shards) from 8-byte band keys to the
8-byte passage keys holding them, concatenated; only the key names differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt
import redis
import redis.exceptions as rx

from wiretrace.errors import InvalidInput, Unavailable
from wiretrace.store.base import ArticleRecord, IndexSpec, Lookup, Passages, StoredMeta

__all__ = [
    "META_FIELDS",
    "RECORD_FIELDS",
    "SHARD_BITS",
    "BandRecords",
    "Option",
    "check_meta",
    "decode_meta",
    "decode_record",
    "reachable",
    "redact",
    "shard_bits_for",
    "split_url",
    "tally",
    "tally_pairs",
]

SHARD_BITS = 18

META_FIELDS = (b"id", b"outlet", b"pub", b"sha")
RECORD_FIELDS = (b"id", b"outlet", b"url", b"pub", b"lang", b"text")

# Out of memory, a read-only replica: redis-py strips the error code from these, so
# they are told apart by class (loading the dataset is a ConnectionError there).
# A cluster that is down, resharding (TRYAGAIN) or still redirecting after redis-py's
# retries is as temporary.
_REFUSALS = (
    rx.OutOfMemoryError,
    rx.ReadOnlyError,
    rx.ClusterDownError,
    rx.TryAgainError,
    rx.ClusterError,
    rx.RedisClusterException,
)


@dataclass(frozen=True, slots=True)
class Option:
    """A numeric store-URL option: its default and its inclusive bounds."""

    default: float
    low: float
    high: float
    integer: bool = True


def shard_bits_for(passages: int, bands: int) -> int:
    """Shard bits for an index of about ``passages``: ~32 fields a shard, well inside
    Redis's compact listpacks (past 128 fields a shard costs several times the memory)."""
    return min(26, max(8, math.ceil(math.log2(max(1.0, passages * bands / 32)))))


def redact(url: str) -> str:
    """The URL as logs and error messages show it: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def split_url(url: str, options: Mapping[str, Option]) -> tuple[str, dict[str, float]]:
    """The URL without our ``options``, and their values (defaults where absent). The
    rest of the URL is kept as written (``unix:///path.sock?db=0`` has no host to
    rebuild)."""
    base, _, query = url.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    values: dict[str, float] = {}
    for name, option in options.items():
        given = [value for key, value in pairs if key == name]
        try:
            value = (int if option.integer else float)(given[-1]) if given else option.default
        except ValueError:
            raise InvalidInput(f"bad {name} {given[-1]!r} in {redact(url)}") from None
        if not option.low <= value <= option.high:
            raise InvalidInput(
                f"{name} must be between {option.low:g} and {option.high:g}, got {value}"
            )
        values[name] = value
    rest = urlencode([(key, value) for key, value in pairs if key not in options])
    return base + ("?" + rest if rest else ""), values


@contextmanager
def reachable(what: str = "Redis store") -> Iterator[None]:
    """Redis failures that retrying later may cure become ``Unavailable``."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as err:
        raise Unavailable(f"the {what} cannot be reached: {err}") from err
    except _REFUSALS as err:
        raise Unavailable(f"the {what} refuses writes: {err}") from err
    except redis.ResponseError as err:
        # Persistence failing, a script running too long (redis-py has no class of its
        # own for these).
        if str(err).split(" ", 1)[0] in {"MISCONF", "BUSY"}:
            raise Unavailable(f"the {what} refuses writes: {err}") from err
        raise


def check_meta(
    url: str,
    spec: IndexSpec,
    shard_bits: int,
    hsetnx: Callable[[bytes, int], Any],
    hgetall: Callable[[], Mapping[Any, Any]],
) -> None:
    """Record the settings the store is written with on first use, and refuse a
    server whose settings differ (``hsetnx(name, value)``, ``hgetall()`` of the meta
    hash)."""
    want = {
        b"num_perm": spec.num_perm,
        b"bands": spec.bands,
        b"rows": spec.rows,
        b"shard_bits": shard_bits,
    }
    with reachable():
        for name, value in want.items():
            hsetnx(name, value)
        stored = hgetall()
    for name, value in want.items():
        if int(stored[name]) != value:
            raise InvalidInput(
                f"the Redis store at {redact(url)} was written with {name.decode()}="
                f"{int(stored[name])}, but this server uses {value}; use the same "
                "settings on every replica, or another database"
            )


@dataclass(frozen=True, slots=True)
class BandRecords:
    """An article's index records, one a band of each passage: the shard (top
    ``shard_bits`` of the band key), the band key, and the passage key."""

    shard: npt.NDArray[np.uint64]
    field: npt.NDArray[np.uint64]
    passage: npt.NDArray[np.int64]

    @classmethod
    def of(cls, key: int, passages: Passages, bands: int, shard_bits: int) -> BandRecords:
        bk = passages.band_keys.ravel()
        return cls(
            shard=bk >> np.uint64(64 - shard_bits),
            field=bk,
            passage=np.repeat(passages.keys(key), bands),
        )

    @classmethod
    def join(cls, parts: list[BandRecords]) -> BandRecords:
        return cls(
            shard=np.concatenate([p.shard for p in parts]),
            field=np.concatenate([p.field for p in parts]),
            passage=np.concatenate([p.passage for p in parts]),
        )


def tally(replies: list[Any], rows: int, bands: int, max_bucket: int | None) -> Lookup:
    """Lookup replies (one per band of each row: the concatenated passage keys, or
    None) as, per row, passage key -> bands shared; a bucket of more than
    ``max_bucket`` passages (boilerplate) is counted as capped, not decoded. The
    passage keys of all buckets are decoded and counted at once (numpy), not bucket
    by bucket: a query has hundreds of buckets."""
    length = np.fromiter(
        (0 if value is None else len(value) for value in replies), np.int64, len(replies)
    )
    over = length > 8 * max_bucket if max_bucket is not None else np.zeros(length.size, bool)
    capped = np.bincount(np.flatnonzero(over) // bands, minlength=rows).tolist()
    found = tally_pairs(*_pairs(replies, np.where(over, 0, length)), rows, bands, None)
    return Lookup(found.found, capped)


def _pairs(
    replies: list[Any], length: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The bucket and passage key of every passage key in ``replies``."""
    taken = np.flatnonzero(length)
    if not taken.size:
        return taken.astype(np.int64), taken.astype(np.int64)
    buckets = replies if taken.size == len(replies) else [replies[i] for i in taken.tolist()]
    passage = np.frombuffer(b"".join(buckets), "<i8").astype(np.int64)
    return np.repeat(taken, length[taken] >> 3).astype(np.int64), passage


def tally_pairs(
    bucket: npt.NDArray[np.int64],
    passage: npt.NDArray[np.int64],
    rows: int,
    bands: int,
    max_bucket: int | None,
    *,
    repeats: bool = False,
) -> Lookup:
    """``tally`` of the passage keys found, as (bucket, passage key) pairs; bucket
    ``r * bands + b`` is band ``b`` of row ``r``. With ``repeats``, a pair given more
    than once counts once (in the bucket's size too)."""
    out: list[dict[int, int]] = [{} for _ in range(rows)]
    capped = [0] * rows
    if not bucket.size:
        return Lookup(out, capped)
    row = bucket // bands
    order = np.lexsort((bucket, passage, row) if repeats else (passage, row))
    row, passage, bucket = row[order], passage[order], bucket[order]
    if repeats:
        again = (bucket[1:] == bucket[:-1]) & (passage[1:] == passage[:-1])
        if again.any():
            kept = np.r_[True, ~again]
            row, passage, bucket = row[kept], passage[kept], bucket[kept]
    if max_bucket is not None:
        over = np.bincount(bucket) > max_bucket
        if over.any():
            capped = np.bincount(np.flatnonzero(over) // bands, minlength=rows).tolist()
            kept = ~over[bucket]
            row, passage = row[kept], passage[kept]
            if not row.size:
                return Lookup(out, capped)
    first = np.flatnonzero(np.r_[True, (row[1:] != row[:-1]) | (passage[1:] != passage[:-1])])
    shared = np.diff(np.r_[first, row.size]).tolist()
    row, passage = row[first], passage[first]
    bounds = [*np.flatnonzero(np.r_[True, row[1:] != row[:-1]]).tolist(), row.size]
    keys = passage.tolist()
    for lo, hi, r in zip(bounds[:-1], bounds[1:], row[bounds[:-1]].tolist(), strict=True):
        out[r] = dict(zip(keys[lo:hi], shared[lo:hi], strict=True))
    return Lookup(out, capped)


def ns(raw: bytes | None) -> int | None:
    return int(raw) if raw else None


def decode_meta(key: int, values: list[Any]) -> StoredMeta | None:
    """``META_FIELDS`` values as read from an article hash."""
    article_id, outlet, pub, sha = values
    if article_id is None:
        return None
    return StoredMeta(
        key=key,
        id=article_id.decode(),
        outlet=(outlet or b"").decode(),
        published_at_ns=ns(pub),
        sha256=(sha or b"").decode(),
    )


def decode_record(values: list[Any]) -> ArticleRecord:
    """``RECORD_FIELDS`` values as read from an article hash."""
    aid, outlet, url, pub, lang, text = values
    return ArticleRecord(
        id=aid.decode(),
        outlet=outlet.decode(),
        url=url.decode(),
        published_at_ns=ns(pub),
        language=lang.decode(),
        text=text.decode("utf-8", "surrogatepass"),
    )
