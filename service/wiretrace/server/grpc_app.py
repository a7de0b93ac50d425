"""The gRPC layer: a thin adapter proto -> ``ReuseService`` -> proto, and ``serve``,
which starts and stops the server and the domain's sweeper thread.

Errors of the ``WiretraceError`` family are mapped to status codes in one place,
``_STATUS`` and ``_abort``; nothing else here knows about them.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from wiretrace.domain import (
    Article,
    Detection,
    DetectOptions,
    OffsetUnit,
    ReuseService,
    Sweeper,
)
from wiretrace.engine.confidence import Verdict
from wiretrace.engine.detect import Kind, Match
from wiretrace.errors import (
    Conflict,
    Expired,
    InvalidInput,
    NotFound,
    TooLarge,
    Unavailable,
    WiretraceError,
)
from wiretrace.server.config import ServerConfig
from wiretrace.server.interceptors import (
    Admission,
    Authenticator,
    Decoding,
    Interceptor,
    TokenTable,
)
from wiretrace.server.metrics import Metrics
from wiretrace.server.streams import StreamWatch
from wiretrace.store import open_store, redact
from wiretrace_api.v1 import wiretrace_pb2 as pb
from wiretrace_api.v1 import wiretrace_pb2_grpc as pb_grpc

__all__ = ["Servicer", "create_server", "serve"]

log = logging.getLogger("wiretrace.server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Wiretrace"].full_name

# Most specific first: TooLarge is an InvalidInput.
_STATUS: list[tuple[type[WiretraceError], grpc.StatusCode]] = [
    (TooLarge, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Conflict, grpc.StatusCode.ALREADY_EXISTS),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (Expired, grpc.StatusCode.DEADLINE_EXCEEDED),
]

_UNIT: dict[int, OffsetUnit] = {
    pb.CODE_POINTS: OffsetUnit.CODE_POINTS,
    pb.UTF16_CODE_UNITS: OffsetUnit.UTF16_CODE_UNITS,
    pb.UTF8_BYTES: OffsetUnit.UTF8_BYTES,
}

_KIND = {
    Kind.VERBATIM: pb.VERBATIM,
    Kind.NEAR_VERBATIM: pb.NEAR_VERBATIM,
    Kind.REWORDED: pb.REWORDED,
    Kind.QUOTE: pb.QUOTE,
}
_VERDICT = {
    Verdict.NOT_DERIVED: pb.NOT_DERIVED,
    Verdict.PARTIALLY: pb.PARTIALLY,
    Verdict.WHOLLY: pb.WHOLLY,
}

# Timestamps must lie in [0001-01-01, 9999-12-31], as google.protobuf.Timestamp says.
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799

F = TypeVar("F", bound=Callable[..., Any])


def status_for(err: WiretraceError) -> grpc.StatusCode:
    for kind, code in _STATUS:
        if isinstance(err, kind):
            return code
    return grpc.StatusCode.INTERNAL


def _abort(context: grpc.ServicerContext, rpc: str, err: WiretraceError, what: str = "") -> None:
    """End the call with the status code of ``err`` (raises, as ``context.abort`` does)."""
    code = status_for(err)
    log.info("rejected", extra={"rpc": rpc, "code": code.name, "error": str(err)})
    context.abort(code, f"{what}{err}")


def _rpc(method: F) -> F:
    """Map domain errors to gRPC status codes; log each call with its duration."""

    @functools.wraps(method)
    def wrapper(self: Servicer, request: Any, context: grpc.ServicerContext) -> Any:
        t0 = time.perf_counter()
        try:
            return method(self, request, context)
        except WiretraceError as err:
            _abort(context, method.__name__, err)
        finally:
            log.debug(
                "call",
                extra={"rpc": method.__name__, "ms": round((time.perf_counter() - t0) * 1e3, 2)},
            )

    return wrapper  # type: ignore[return-value]


def _timestamp_ns(ts: Timestamp, what: str) -> int:
    if not _MIN_SECONDS <= ts.seconds <= _MAX_SECONDS or not 0 <= ts.nanos < 1_000_000_000:
        raise InvalidInput(
            f"{what} is not a valid timestamp (seconds={ts.seconds}, nanos={ts.nanos}): "
            "seconds must fall in years 1-9999 and nanos in [0, 999999999]"
        )
    return ts.seconds * 1_000_000_000 + ts.nanos


def _to_timestamp(ns: int | None) -> Timestamp | None:
    if ns is None:
        return None
    return Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def _article(article: pb.Article) -> Article:
    published = (
        _timestamp_ns(article.published_at, "published_at")
        if article.HasField("published_at")
        else None
    )
    return Article(
        id=article.id,
        outlet=article.outlet,
        url=article.url,
        published_at_ns=published,
        language=article.language,
        text=article.text,
    )


def _options(o: pb.DetectOptions) -> DetectOptions:
    return DetectOptions(
        min_similarity=o.min_similarity,
        min_tokens=o.min_tokens,
        include_outlets=frozenset(o.include_outlets),
        exclude_outlets=frozenset(o.exclude_outlets),
        exclude_same_outlet=o.exclude_same_outlet,
        published_after_ns=(
            _timestamp_ns(o.published_after, "published_after")
            if o.HasField("published_after")
            else None
        ),
        published_before_ns=(
            _timestamp_ns(o.published_before, "published_before")
            if o.HasField("published_before")
            else None
        ),
        max_results=o.max_results,
        offset_unit=_unit(o.offset_unit),
        include_boilerplate=o.include_boilerplate,
    )


def _unit(value: int) -> OffsetUnit:
    unit = _UNIT.get(value)
    if unit is None:
        raise InvalidInput(f"offset_unit {value} is not one of {sorted(_UNIT)}")
    return unit


def _reuses(detection: Detection) -> list[pb.Reuse]:
    return [
        pb.Reuse(
            source_id=r.source_id,
            source_outlet=r.source_outlet,
            source_published_at=_to_timestamp(r.source_published_at_ns),
            span=pb.Span(start=r.start, end=r.end),
            source_span=pb.Span(start=r.source_start, end=r.source_end),
            similarity=r.similarity,
            kind=_KIND[r.kind],
            confidence=r.confidence,
            boilerplate=r.boilerplate,
        )
        for r in detection.matches
    ]


def _sources(detection: Detection) -> list[pb.SourceVerdict]:
    return [
        pb.SourceVerdict(
            source_id=v.source_id,
            source_outlet=v.source_outlet,
            derived_share=v.derived_share,
            verdict=_VERDICT[v.verdict],
        )
        for v in detection.sources
    ]


def _match(m: Match) -> pb.Match:
    return pb.Match(
        a=pb.Span(start=m.a_start, end=m.a_end),
        b=pb.Span(start=m.b_start, end=m.b_end),
        similarity=m.similarity,
        kind=_KIND[m.kind],
        confidence=m.confidence,
    )


def _alive(context: grpc.ServicerContext) -> bool:
    """The caller still waits: not cancelled, deadline not passed."""
    remaining = context.time_remaining()
    return context.is_active() and (remaining is None or remaining > 0)


class Servicer(pb_grpc.WiretraceServicer):
    def __init__(self, service: ReuseService, streams: StreamWatch) -> None:
        self.service = service
        self.streams = streams

    def _ingest_one(
        self, request: pb.IngestRequest, context: grpc.ServicerContext
    ) -> pb.IngestResult:
        article = _article(request.article)
        options = _options(request.options)
        if not _alive(context):
            raise Expired("deadline passed before the work was done")
        outcome = self.service.ingest(
            article, options, replace=request.replace, wanted=lambda: _alive(context)
        )
        d = outcome.detection
        return pb.IngestResult(
            id=outcome.id,
            created=outcome.created,
            matches=_reuses(d),
            reused_fraction=d.reused_fraction,
            source_count=d.source_count,
            sources=_sources(d),
            boilerplate_suppressed=d.boilerplate_suppressed,
        )

    @_rpc
    def Ingest(self, request: pb.IngestRequest, context: grpc.ServicerContext) -> pb.IngestResult:
        return self._ingest_one(request, context)

    @_rpc
    def IngestStream(
        self, request_iterator: Iterator[pb.IngestRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.IngestResult]:
        # A generator: errors raised while iterating surface here, not in _rpc. An
        # article that fails gets its own error and the stream goes on; a caller that
        # has gone (deadline, cancellation) ends it.
        def results() -> Iterator[pb.IngestResult]:
            with self.streams.watch(context) as watched:
                for request in request_iterator:
                    watched.heard_from_client()
                    try:
                        yield self._ingest_one(request, context)
                    except Expired as err:
                        _abort(context, "IngestStream", err, f"article {request.article.id!r}: ")
                    except WiretraceError as err:
                        code = status_for(err)
                        log.info(
                            "article rejected",
                            extra={"rpc": "IngestStream", "code": code.name, "error": str(err)},
                        )
                        yield pb.IngestResult(
                            id=request.article.id,
                            error=pb.ArticleError(code=code.value[0], message=str(err)),
                        )
                    watched.answered()

        return results()

    @_rpc
    def Query(self, request: pb.QueryRequest, context: grpc.ServicerContext) -> pb.QueryResult:
        d = self.service.query(_article(request.article), _options(request.options))
        return pb.QueryResult(
            matches=_reuses(d),
            reused_fraction=d.reused_fraction,
            source_count=d.source_count,
            sources=_sources(d),
            boilerplate_suppressed=d.boilerplate_suppressed,
        )

    @_rpc
    def Compare(
        self, request: pb.CompareRequest, context: grpc.ServicerContext
    ) -> pb.CompareResult:
        unit = _unit(request.offset_unit)
        c = self.service.compare(request.text_a, request.text_b, unit)
        return pb.CompareResult(
            matches=[_match(m) for m in c.matches],
            derived_share=c.derived_share,
            verdict=_VERDICT[c.verdict],
        )

    @_rpc
    def Get(self, request: pb.GetRequest, context: grpc.ServicerContext) -> pb.Article:
        r = self.service.get(request.id)
        return pb.Article(
            id=r.id,
            outlet=r.outlet,
            url=r.url,
            published_at=_to_timestamp(r.published_at_ns),
            language=r.language,
            text=r.text,
        )

    @_rpc
    def Delete(self, request: pb.DeleteRequest, context: grpc.ServicerContext) -> pb.DeleteResult:
        self.service.delete(request.id)
        return pb.DeleteResult(id=request.id)

    @_rpc
    def Stats(self, request: pb.StatsRequest, context: grpc.ServicerContext) -> pb.StatsResult:
        s = self.service.stats()
        return pb.StatsResult(
            articles=s.articles,
            passages=s.passages,
            index_bytes=s.index_bytes,
            uptime_seconds=s.uptime_seconds,
            version=s.version,
        )


@dataclass(frozen=True, slots=True)
class Guards:
    """The interceptors of one server, outermost first: metrics see every call, load
    shedding refuses before any work, authentication before the servicer."""

    admission: Admission
    tokens: TokenTable | None
    metrics: Metrics | None

    @classmethod
    def from_config(cls, config: ServerConfig, service: ReuseService) -> Guards:
        admission = Admission(config.in_flight_limit)
        tokens = TokenTable(Path(config.auth_tokens)) if config.auth_tokens else None
        metrics = Metrics(service, admission) if config.metrics_address else None
        return cls(admission, tokens, metrics)

    def interceptors(self) -> list[Interceptor]:
        chain: list[Interceptor] = [self.metrics] if self.metrics else []
        chain += [Decoding(), self.admission]
        if self.tokens is not None:
            chain.append(Authenticator(self.tokens))
        return chain


def _credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    if not config.tls_cert:
        return None
    pair = (Path(config.tls_key).read_bytes(), Path(config.tls_cert).read_bytes())
    client_ca = Path(config.tls_client_ca).read_bytes() if config.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def create_server(
    config: ServerConfig,
    service: ReuseService,
    health_servicer: health.HealthServicer,
    guards: Guards | None = None,
) -> tuple[grpc.Server, int]:
    """Build (not start) a server for ``service``; returns it and the bound port."""
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    guards = guards or Guards.from_config(config, service)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="rpc"),
        interceptors=guards.interceptors(),
        options=options,
    )
    streams = StreamWatch(config.stream_idle_seconds, config.stream_max_seconds)
    servicer = Servicer(service, streams)
    pb_grpc.add_WiretraceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if not config.no_reflection:
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
    credentials = _credentials(config)
    if credentials is None:
        port = server.add_insecure_port(config.address)
    else:
        port = server.add_secure_port(config.address, credentials)
    if port == 0:
        raise InvalidInput(f"cannot listen on {config.address}: address in use or not local")
    return server, port


def health_reporter(health_servicer: health.HealthServicer) -> Callable[[bool], None]:
    """Sets the overall and the Wiretrace service's health to SERVING or NOT_SERVING."""

    def report(ok: bool) -> None:
        serving = health_pb2.HealthCheckResponse
        status = serving.SERVING if ok else serving.NOT_SERVING
        for name in (SERVICE_NAME, ""):
            health_servicer.set(name, status)

    return report


def open_service(config: ServerConfig) -> ReuseService:
    """The domain service over the configured store."""
    settings = config.service_settings()
    return ReuseService(settings, open_store(config.store_url, settings.index))


def serve(config: ServerConfig, *, ready: Callable[[int], None] | None = None) -> None:
    """Run until SIGTERM or SIGINT, then drain calls in flight for ``grace_seconds``."""
    t0 = time.perf_counter()
    service = open_service(config)
    store_seconds = time.perf_counter() - t0
    health_servicer = health.HealthServicer()
    guards = Guards.from_config(config, service)
    server, port = create_server(config, service, health_servicer, guards)
    metrics_port = guards.metrics.serve(config.metrics_address) if guards.metrics else None
    sweeper = Sweeper(service, config.sweep_seconds, health_reporter(health_servicer))
    sweeper.start()
    server.start()
    log.info(
        "serving",
        extra={
            "address": config.address.rpartition(":")[0] + f":{port}",
            "port": port,
            "store": redact(config.store_url),
            "ready_seconds": round(time.perf_counter() - t0, 3),
            "store_open_seconds": round(store_seconds, 3),
            "tls": bool(config.tls_cert),
            "mutual_tls": bool(config.tls_client_ca),
            "auth": bool(guards.tokens),
            "metrics_port": metrics_port,
        },
    )
    if ready is not None:
        ready(port)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info(
            "stopping", extra={"signal": signal.Signals(signum).name, "grace": config.grace_seconds}
        )
        health_servicer.enter_graceful_shutdown()
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if guards.tokens is not None:
        tokens = guards.tokens
        signal.signal(signal.SIGHUP, lambda _signum, _frame: tokens.reload())
    stop.wait()
    server.stop(config.grace_seconds).wait()
    sweeper.stop()
    service.close()
    log.info("stopped")
