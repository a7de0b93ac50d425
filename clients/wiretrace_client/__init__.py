"""A small typed client for the wiretrace gRPC service.

    from wiretrace_client import Client
    with Client("127.0.0.1:50051") as c:
        result = c.ingest("id-1", text, outlet="Daily")
        for reuse in result.matches: ...

Unary calls are retried on UNAVAILABLE with exponential backoff; streams are not
(part of a stream may already be stored).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from wiretrace_api.v1 import wiretrace_pb2 as pb
from wiretrace_api.v1 import wiretrace_pb2_grpc as pb_grpc

__all__ = [
    "Client",
    "article",
    "articles_from_folder",
    "articles_from_jsonl",
    "pb",
]

#: Trailing metadata of a call the server shed, with the milliseconds to wait.
PUSHBACK_KEY = "grpc-retry-pushback-ms"

_ARTICLE_FIELDS = ("id", "outlet", "url", "published_at", "language", "text")


def _timestamp(value: datetime | str | None) -> Timestamp | None:
    if value is None or value == "":
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


def article(
    id: str,
    text: str,
    *,
    outlet: str = "",
    url: str = "",
    published_at: datetime | str | None = None,
    language: str = "",
) -> pb.Article:
    """Build an Article; ``published_at`` is a datetime or an ISO 8601 string."""
    return pb.Article(
        id=id,
        text=text,
        outlet=outlet,
        url=url,
        published_at=_timestamp(published_at),
        language=language,
    )


def _from_mapping(row: Mapping[str, Any]) -> pb.Article:
    unknown = set(row) - set(_ARTICLE_FIELDS)
    if unknown:
        raise ValueError(f"unknown article fields {sorted(unknown)}; known: {_ARTICLE_FIELDS}")
    return article(
        str(row["id"]),
        str(row["text"]),
        outlet=str(row.get("outlet", "")),
        url=str(row.get("url", "")),
        published_at=row.get("published_at"),
        language=str(row.get("language", "")),
    )


def articles_from_jsonl(path: str | Path) -> Iterator[pb.Article]:
    """One article per line: ``{"id", "text", "outlet"?, "url"?, "published_at"?, "language"?}``."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield _from_mapping(json.loads(line))
                except (ValueError, KeyError) as err:
                    raise ValueError(f"{path}:{number}: {err}") from err


def articles_from_folder(path: str | Path, *, outlet: str = "") -> Iterator[pb.Article]:
    """Every ``*.txt`` file in name order; the id is the file name without ``.txt``."""
    for file in sorted(Path(path).glob("*.txt")):
        yield article(file.stem, file.read_text(encoding="utf-8"), outlet=outlet)


def _retry_after(err: grpc.RpcError) -> float | None:
    """Seconds to wait before retrying a failed call, or None when retrying is futile."""
    code = err.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        return 0.0
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        trailing: Any = err.trailing_metadata() or ()
        for key, value in trailing:
            if key == PUSHBACK_KEY:
                return int(value) / 1000.0
    return None


class Client:
    """A connection to one wiretrace server."""

    def __init__(
        self,
        address: str,
        *,
        tls: bool = False,
        root_certificates: bytes | None = None,
        private_key: bytes | None = None,
        certificate_chain: bytes | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.1,
        max_message_bytes: int = 4 * 1024 * 1024,
        offset_unit: pb.OffsetUnit = pb.CODE_POINTS,
        token: str | None = None,
    ) -> None:
        """``offset_unit`` is the unit of every offset in the answers: code points (as
        Python slices), ``pb.UTF16_CODE_UNITS`` (JavaScript, Java, C#) or
        ``pb.UTF8_BYTES`` (Go, Rust); a request's own ``options.offset_unit`` wins.
        ``token`` is sent as ``authorization: Bearer TOKEN`` on every call (a server
        with ``--auth-tokens``); over TLS, give the server's CA as
        ``root_certificates`` (and ``private_key``/``certificate_chain`` for mutual
        TLS)."""
        options = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
        if tls or root_certificates or certificate_chain:
            creds = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
            self.channel = grpc.secure_channel(address, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(address, options=options)
        # The generated stub is untyped; every method below states what it returns.
        self.stub: Any = pb_grpc.WiretraceStub(self.channel)  # type: ignore[no-untyped-call]
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.offset_unit = offset_unit
        self.metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ()
        )

    def _options(self, options: pb.DetectOptions | None) -> pb.DetectOptions:
        out = pb.DetectOptions()
        if options is not None:
            out.CopyFrom(options)
        if not out.offset_unit:
            out.offset_unit = self.offset_unit
        return out

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def _call(self, method: Callable[..., Any], request: Any) -> Any:
        """One unary call, retried with exponential backoff while the server is
        unreachable (UNAVAILABLE) or sheds load (RESOURCE_EXHAUSTED with a retry hint;
        the same code without one, a text over the limit, is final)."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return method(request, timeout=self.timeout, metadata=self.metadata)
            except grpc.RpcError as err:
                wait = _retry_after(err)
                if wait is None or attempt == self.retries:
                    raise
                time.sleep(max(delay, wait))
                delay *= 2
        raise AssertionError("unreachable")

    def ingest(
        self,
        article_or_id: pb.Article | str,
        text: str | None = None,
        *,
        options: pb.DetectOptions | None = None,
        replace: bool = False,
        **fields: Any,
    ) -> pb.IngestResult:
        a = (
            article_or_id
            if isinstance(article_or_id, pb.Article)
            else article(article_or_id, text or "", **fields)
        )
        result: pb.IngestResult = self._call(
            self.stub.Ingest,
            pb.IngestRequest(article=a, options=self._options(options), replace=replace),
        )
        return result

    def ingest_stream(
        self,
        articles: Iterable[pb.Article | Mapping[str, Any]],
        *,
        options: pb.DetectOptions | None = None,
        replace: bool = False,
        timeout: float | None = None,
    ) -> Iterator[pb.IngestResult]:
        """One result per article, in order, as the server answers. An article that
        failed has ``result.HasField("error")`` (its status code and message); the
        stream goes on past it."""
        requests = self._ingest_requests(articles, options, replace)
        return iter(self.stub.IngestStream(requests, timeout=timeout, metadata=self.metadata))

    def _ingest_requests(
        self,
        articles: Iterable[pb.Article | Mapping[str, Any]],
        options: pb.DetectOptions | None,
        replace: bool,
    ) -> Iterator[pb.IngestRequest]:
        """An ``IngestRequest`` of each article (a message, or a mapping of its fields),
        made as it is asked for."""
        opts = self._options(options)
        for a in articles:
            msg = a if isinstance(a, pb.Article) else _from_mapping(a)
            yield pb.IngestRequest(article=msg, options=opts, replace=replace)

    def ingest_batch(
        self,
        articles: Iterable[pb.Article | Mapping[str, Any]],
        *,
        options: pb.DetectOptions | None = None,
        replace: bool = False,
    ) -> list[pb.IngestResult]:
        """Up to 1,000 articles in one call, ingested in order (each finds the ones
        before it); one result per article, in order. An article that failed has
        ``result.HasField("error")``, and the batch went on past it. Cheaper than a
        stream for both sides when articles come in bulk."""
        request = pb.IngestBatchRequest(articles=self._ingest_requests(articles, options, replace))
        result: pb.IngestBatchResult = self._call(self.stub.IngestBatch, request)
        return list(result.results)

    def query(
        self, text: str, *, options: pb.DetectOptions | None = None, **fields: Any
    ) -> pb.QueryResult:
        a = article(fields.pop("id", ""), text, **fields)
        result: pb.QueryResult = self._call(
            self.stub.Query, pb.QueryRequest(article=a, options=self._options(options))
        )
        return result

    def compare(self, text_a: str, text_b: str) -> pb.CompareResult:
        request = pb.CompareRequest(text_a=text_a, text_b=text_b, offset_unit=self.offset_unit)
        result: pb.CompareResult = self._call(self.stub.Compare, request)
        return result

    def get(self, article_id: str) -> pb.Article:
        result: pb.Article = self._call(self.stub.Get, pb.GetRequest(id=article_id))
        return result

    def delete(self, article_id: str) -> pb.DeleteResult:
        result: pb.DeleteResult = self._call(self.stub.Delete, pb.DeleteRequest(id=article_id))
        return result

    def stats(self) -> pb.StatsResult:
        result: pb.StatsResult = self._call(self.stub.Stats, pb.StatsRequest())
        return result
