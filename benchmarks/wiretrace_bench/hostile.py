"""Hostile requests for every RPC, drawn from a seeded generator: the proto's whole
value space (timestamps at the extremes, NaN and huge floats, ids with NUL, slashes and
control characters, huge repeated fields, texts of odd shapes) and bytes that are no
valid message at all. ``wiretrace bench fuzz`` sends them; the fuzz tests use them too.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf.message import Message

from wiretrace_api.v1 import wiretrace_pb2 as pb

__all__ = ["RPCS", "Hostile", "hostile", "send"]

#: Each RPC with its request type and whether it streams requests.
RPCS: dict[str, tuple[type[Message], bool]] = {
    "Ingest": (pb.IngestRequest, False),
    "IngestStream": (pb.IngestRequest, True),
    "IngestBatch": (pb.IngestBatchRequest, False),
    "Query": (pb.QueryRequest, False),
    "Compare": (pb.CompareRequest, False),
    "Get": (pb.GetRequest, False),
    "Delete": (pb.DeleteRequest, False),
    "Stats": (pb.StatsRequest, False),
}

_INT64 = (0, 1, -1, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63))
_SECONDS = (
    -62135596800, -62135596801, 253402300799, 253402300800,  # the Timestamp range ± 1
    -9223372037, 9223372037, 0, 1, -1, 2**63 - 1, -(2**63),  # int64 nanoseconds ± 1
)  # fmt: skip
_FLOATS = (math.nan, math.inf, -math.inf, -0.0, 1e38, -1e38, 3.4e38, 1.5, -0.5, 0.999)
_UINT32 = (0, 1, 2**31, 2**32 - 1, 10_000, 10_001)
_ODD = "\x00/\\\n\r\t\x7f\u200b\u202e\ufeff\U0001f600é\u0301\ud7ff\uffff"


@dataclass(frozen=True, slots=True)
class Hostile:
    """One request: the RPC, and its messages (several for a stream) or raw bytes."""

    rpc: str
    messages: tuple[Message, ...] = ()
    raw: bytes | None = None

    def articles(self) -> list[pb.Article]:
        """The articles it asks to store, in order (a batch's, or a stream's)."""
        if self.rpc == "IngestBatch":
            return [r.article for m in self.messages for r in m.articles]  # type: ignore[attr-defined]
        if self.rpc.startswith("Ingest"):
            return [m.article for m in self.messages]  # type: ignore[attr-defined]
        return []


def _text(rng: random.Random, limit: int) -> str:
    shape = rng.randrange(7)
    if shape == 0:
        return ""
    if shape == 1:
        return "".join(rng.choice(_ODD) for _ in range(rng.randrange(1, 40)))
    if shape == 2:  # one word repeated, up to the limit and past it
        return ("Lorem " * (limit // 6 + rng.randrange(-50, 50)))[: limit + rng.randrange(-5, 5)]
    if shape == 3:  # one sentence repeated
        return "The minister said the talks would resume. " * rng.randrange(1, 400)
    if shape == 4:  # random code points of every plane but surrogates
        points = [rng.randrange(0x20, 0x10FFFF) for _ in range(rng.randrange(1, 300))]
        return "".join(chr(p) for p in points if not 0xD800 <= p < 0xE000)
    if shape == 5:
        return " ".join(
            rng.choice(["a", "the", "of", "x", "1", "%s", "'", '"']) for _ in range(200)
        )
    return "word " * rng.randrange(1, 30)


def _timestamp(rng: random.Random, ts: object) -> None:
    ts.seconds = rng.choice(_SECONDS)  # type: ignore[attr-defined]
    ts.nanos = rng.choice((0, 999_999_999, 1_000_000_000, -1, 2**31 - 1))  # type: ignore[attr-defined]


def _article(rng: random.Random, a: pb.Article, limit: int, prefix: str) -> None:
    """Each field is plausible half the time, so that some articles get stored."""

    def pick(good: list[str], bad: list[str]) -> str:
        return rng.choice(good if rng.random() < 0.6 else bad)

    good = [f"id{rng.randrange(50)}", "a/b", "..", "id\x00nul", _ODD]
    a.id = pick([prefix + g for g in good], ["", "a" * 257])
    a.text = _text(rng, limit)
    a.outlet = pick(["", "Daily", _ODD], ["o" * 300])
    a.url = pick(["", "http://x"], ["h" * 3000])
    a.language = pick(["", "en", "ru"], ["x" * 40])
    if rng.random() < 0.5:
        _timestamp(rng, a.published_at)


def _options(rng: random.Random, o: pb.DetectOptions) -> None:
    if rng.random() < 0.5:
        return  # the defaults
    o.min_similarity = rng.choice(_FLOATS)
    o.min_tokens = rng.choice(_UINT32)
    o.max_results = rng.choice(_UINT32)
    o.exclude_same_outlet = rng.random() < 0.5
    o.offset_unit = rng.choice((0, 1, 2, 3, 99, -1))  # type: ignore[assignment]
    many = rng.choice((0, 1, 1001, 20_000))
    o.include_outlets.extend(f"o{k}" for k in range(many))
    o.exclude_outlets.extend(rng.choice(["", _ODD]) for _ in range(rng.randrange(3)))
    if rng.random() < 0.3:
        _timestamp(rng, o.published_after)
    if rng.random() < 0.3:
        _timestamp(rng, o.published_before)


def _message(rng: random.Random, rpc: str, limit: int, prefix: str) -> Message:
    build: dict[str, Callable[[], Message]] = {
        "Ingest": lambda: _ingest_request(rng, limit, prefix),
        "IngestStream": lambda: _ingest_request(rng, limit, prefix),
        "Query": pb.QueryRequest,
        "Compare": lambda: pb.CompareRequest(
            text_a=_text(rng, limit),
            text_b=_text(rng, limit),
            offset_unit=rng.choice((0, 1, 2, 7)),  # type: ignore[arg-type]
        ),
        "Get": lambda: pb.GetRequest(id=rng.choice([prefix + "a/b", _text(rng, 300)])),
        "Delete": lambda: pb.DeleteRequest(
            id=rng.choice([f"{prefix}id{rng.randrange(50)}", _text(rng, 300)])
        ),
        "Stats": pb.StatsRequest,
    }
    if rpc == "IngestBatch":  # none, a few hostile articles, or one over the count
        batch = pb.IngestBatchRequest()
        for _ in range(rng.choice((0, 1, 2, 4))):
            batch.articles.append(_ingest_request(rng, limit, prefix))
        if rng.random() < 0.1:
            batch.articles.extend(pb.IngestRequest() for _ in range(1001))
        return batch
    message = build[rpc]()
    if isinstance(message, pb.QueryRequest):
        _article(rng, message.article, limit, prefix)
        _options(rng, message.options)
    return message


def _ingest_request(rng: random.Random, limit: int, prefix: str) -> pb.IngestRequest:
    message = pb.IngestRequest(replace=rng.random() < 0.2)
    _article(rng, message.article, limit, prefix)
    _options(rng, message.options)
    return message


def _raw(rng: random.Random) -> bytes:
    """Bytes that are no valid message: random, truncated varints, a string field
    holding invalid UTF-8, a length past the end."""
    return rng.choice(
        [
            bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))),
            b"\x0a\xff\xff\xff\xff\x0f",
            b"\x0a\x03\xff\xfe\xfd",  # field 1 (a string) with invalid UTF-8
            b"\x12\x05ab",
            b"\x08" + b"\xff" * 11,
        ]
    )


def hostile(rng: random.Random, *, limit: int = 200_000, prefix: str = "") -> Hostile:
    """One hostile request; texts reach about ``limit`` code points; the ids it may
    store or delete start with ``prefix`` (senders side by side keep apart)."""
    rpc = rng.choice(list(RPCS))
    if rpc != "Stats" and rng.random() < 0.15:
        return Hostile(rpc, raw=_raw(rng))
    count = rng.randrange(1, 5) if RPCS[rpc][1] else 1
    return Hostile(rpc, messages=tuple(_message(rng, rpc, limit, prefix) for _ in range(count)))


def send(
    channel: grpc.Channel, request: Hostile, *, timeout: float
) -> tuple[grpc.StatusCode, list[tuple[str, str]]]:
    """Send ``request``; its status code (OK, or the error's) and the id and text of
    each article the server acknowledged as stored by it."""
    method = f"/wiretrace.v1.Wiretrace/{request.rpc}"
    payloads = (
        [request.raw]
        if request.raw is not None
        else [m.SerializeToString() for m in request.messages]
    )
    try:
        if RPCS[request.rpc][1]:
            call = channel.stream_stream(method, None, None)
            answers = list(call(iter(payloads), timeout=timeout))
        else:
            answers = [channel.unary_unary(method, None, None)(payloads[0], timeout=timeout)]
    except grpc.RpcError as err:
        code: grpc.StatusCode = err.code()
        return code, []
    if not request.rpc.startswith("Ingest"):
        return grpc.StatusCode.OK, []
    if request.rpc == "IngestBatch":
        results = list(pb.IngestBatchResult.FromString(answers[0]).results)
    else:
        results = [pb.IngestResult.FromString(a) for a in answers]
    # One result an article, in order: the article a created result stored.
    sent = request.articles()
    stored = zip(sent, results, strict=False)  # a batch cut short answers fewer
    return grpc.StatusCode.OK, [(a.id, a.text) for a, r in stored if r.created]
