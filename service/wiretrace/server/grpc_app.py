"""The gRPC layer: a thin adapter proto -> ``ReuseService`` -> proto, and ``serve``,
which starts and stops the server and the domain's sweeper thread.

The server is gRPC's asyncio server: a call waiting for its client (an idle stream)
holds no thread. The domain's work runs on a pool of ``--workers`` threads, the
detection of ingested articles on ``--ingest-workers`` of their own; a call whose
caller has gone stops there at the engine's next check.

Errors of the ``WiretraceError`` family are mapped to status codes in one place,
``_STATUS`` and ``_abort``; nothing else here knows about them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeGuard, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from grpc_reflection.v1alpha import reflection

from wiretrace.domain import (
    Article,
    Detection,
    DetectOptions,
    Ingest,
    IngestOutcome,
    OffsetUnit,
    ReuseService,
    Sweeper,
)
from wiretrace.engine.confidence import Verdict
from wiretrace.engine.detect import Kind, Match
from wiretrace.engine.work import CancelToken, Work
from wiretrace.errors import (
    Conflict,
    EngineFault,
    Exhausted,
    Expired,
    InvalidInput,
    NotFound,
    TooLarge,
    Unavailable,
    WiretraceError,
)
from wiretrace.server.config import ServerConfig
from wiretrace.server.inbox import Inbox
from wiretrace.server.interceptors import (
    Admission,
    Around,
    Authenticator,
    Chain,
    Context,
    Decoding,
    TokenTable,
)
from wiretrace.server.metrics import Metrics
from wiretrace.server.rounds import Rounds
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
    (Exhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
    (Expired, grpc.StatusCode.DEADLINE_EXCEEDED),
    (EngineFault, grpc.StatusCode.INTERNAL),
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


async def _abort(context: Context, rpc: str, err: Exception, what: str = "") -> NoReturn:
    """End the call with the status code of ``err`` (raises, as ``context.abort`` does).

    Our errors are expected and logged as one line; a store's resource or
    availability error at warning level, since an operator must act. Anything else is
    a bug: logged with its traceback, and the caller gets INTERNAL without details."""
    if not isinstance(err, WiretraceError):
        log.error("unexpected error", exc_info=err, extra={"rpc": rpc})
        await context.abort(
            grpc.StatusCode.INTERNAL, f"{what}internal error; the server log has it"
        )
    code = status_for(err)
    level = logging.WARNING if isinstance(err, Exhausted | Unavailable) else logging.INFO
    if isinstance(err, EngineFault):  # a bug: the operator must see it
        level = logging.ERROR
    log.log(level, "rejected", extra={"rpc": rpc, "code": code.name, "error": str(err)})
    await context.abort(code, f"{what}{err}")


class InFlight:
    """Calls whose handler is still running (a stream counts until it ends), so that
    shutdown can wait for them. Thread-safe."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._idle:
            self._count -= 1
            if not self._count:
                self._idle.notify_all()

    @property
    def idle(self) -> bool:
        """No call is being worked on (read without the lock: a hint)."""
        return not self._count

    def wait_idle(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for no call to run; returns how many still do."""
        with self._idle:
            self._idle.wait_for(lambda: not self._count, timeout)
            return self._count


#: The outcome or error of each article ``Servicer._start`` was given, once settled.
Started = asyncio.Future[list[IngestOutcome | BaseException]]

#: Articles in one IngestBatch, at most (the API says so).
MAX_BATCH_ARTICLES = 1000

#: A Compare of at most this many code points (both texts) runs on the event loop's
#: own thread when no other call is being worked on. Handing it to a worker thread and
#: back costs two thread wake-ups, 0.1-0.17 ms measured on this project's 2-core
#: machine, against ~0.6 ms for the compare of two 5,000-character articles. While it
#: runs, the loop accepts no call: at this size the worst text shapes we know take
#: 15 ms (`wiretrace bench shapes --chars 6000`), a news article well under 1 ms.
INLINE_CHARS = 12_000


def _rpc(method: F) -> F:
    """Map domain errors to gRPC status codes; log each call with its duration."""

    @functools.wraps(method)
    async def wrapper(self: Servicer, request: Any, context: Context) -> Any:
        t0 = time.perf_counter()
        try:
            return await method(self, request, context)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except Exception as err:
            await _abort(context, method.__name__, err)
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


_NO_OPTIONS = DetectOptions()


def _options(o: pb.DetectOptions) -> DetectOptions:
    if not o.ByteSize():  # nothing set, as most calls send: the defaults, built once
        return _NO_OPTIONS
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


def _ingest_result(outcome: IngestOutcome) -> pb.IngestResult:
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


def _match(m: Match) -> pb.Match:
    return pb.Match(
        a=pb.Span(start=m.a_start, end=m.a_end),
        b=pb.Span(start=m.b_start, end=m.b_end),
        similarity=m.similarity,
        kind=_KIND[m.kind],
        confidence=m.confidence,
    )


def _the_articles_own(error: BaseException) -> TypeGuard[WiretraceError]:
    """Whether ``error`` concerns one article of a call alone (the call goes on), not
    the call (its caller gone, or a bug)."""
    return isinstance(error, WiretraceError) and not isinstance(error, Expired)


async def _article_answer(
    rpc: str, request: pb.IngestRequest, outcome: IngestOutcome | BaseException, context: Context
) -> pb.IngestResult:
    """The answer to one article of a stream or a batch: its result, or its own error
    when it failed, and the call goes on; the caller gone, or a bug, ends the call."""
    if isinstance(outcome, IngestOutcome):
        return _ingest_result(outcome)
    err = outcome
    if _the_articles_own(err):
        code = status_for(err)
        log.info("article rejected", extra={"rpc": rpc, "code": code.name, "error": str(err)})
        return pb.IngestResult(
            id=request.article.id,
            error=pb.ArticleError(code=code.value[0], message=str(err)),
        )
    if isinstance(err, Exception):
        await _abort(context, rpc, err, f"article {request.article.id!r}: ")
    raise err  # cancelled, or the interpreter stopping


class CallWatch:
    """Whether a call's caller still waits: its deadline, and a flag set once gRPC
    is done with the call (cancelled, or the server stopping). Read from the worker
    thread by the engine's cancellation check."""

    def __init__(self, context: Context) -> None:
        # One flag and deadline, which the compiled core reads without the GIL.
        self.token = CancelToken(context.time_remaining())
        context.add_done_callback(lambda _call: self.token.cancel())  # type: ignore[arg-type]

    def alive(self) -> bool:
        return not self.token.cancelled()

    def work(self) -> Work:
        """The engine's counters for this call, which stop it once the caller is gone."""
        return Work(cancelled=self.token)


class _Chain:
    """The articles of one call, each ingested in a round of its own once the one
    before it has settled: ``outcomes`` holds each one's outcome or error, in order,
    and ``finish`` is called once the chain ends (its last article settled, or an
    error that ends the call: the caller gone, or a bug)."""

    __slots__ = ("caller", "finish", "outcomes", "requests", "rounds")

    def __init__(
        self,
        requests: Sequence[pb.IngestRequest],
        caller: CallWatch,
        rounds: Rounds[_Chain],
    ) -> None:
        self.requests = requests
        self.caller = caller
        self.rounds = rounds
        self.outcomes: list[IngestOutcome | BaseException] = []
        self.finish: Callable[[], None] = lambda: None

    def next_item(self) -> Ingest | None:
        """The next article to ingest, converted; None when the chain has ended (and
        ``finish`` is called)."""
        while len(self.outcomes) < len(self.requests):
            request = self.requests[len(self.outcomes)]
            try:
                if not self.caller.alive():
                    raise Expired("deadline passed before the work was done")
                return Ingest(
                    _article(request.article),
                    _options(request.options),
                    replace=request.replace,
                    work=self.caller.work(),
                )
            except BaseException as err:
                self.outcomes.append(err)
                if not _the_articles_own(err):
                    break
        self.finish()
        return None

    def ended(self, error: BaseException) -> None:
        self.outcomes.append(error)
        self.finish()

    def committed(self, done: futures.Future[IngestOutcome]) -> None:
        """On the commit's thread (or the round's, for an article that failed before
        its write): record the article, start the next."""
        error = done.exception()
        self.outcomes.append(done.result() if error is None else error)
        if len(self.outcomes) < len(self.requests) and (error is None or _the_articles_own(error)):
            try:
                self.rounds.submit(self)
                return
            except BaseException as err:  # the threads are shut down: the server stops
                self.outcomes.append(err)
        self.finish()


class Servicer(pb_grpc.WiretraceServicer):
    """The API over ``ReuseService``; made inside the event loop that serves it."""

    def __init__(
        self,
        service: ReuseService,
        pool: futures.ThreadPoolExecutor,
        config: ServerConfig,
    ) -> None:
        self.service = service
        self.pool = pool
        self.rounds: Rounds[_Chain] = Rounds(
            self._round, config.ingest_threads, most=config.ingest_round, name="ingest"
        )
        self.idle_seconds = config.stream_idle_seconds
        self.max_seconds = config.stream_max_seconds
        self.window = config.stream_window
        self.in_flight = InFlight()
        # Workers settle the articles' answers through it; an answer that cannot reach
        # a closed loop is no longer in flight.
        self.inbox = Inbox(asyncio.get_running_loop(), dropped=self.in_flight.__exit__)

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` on a worker thread, counted as in flight."""

        def counted() -> Any:
            with self.in_flight:
                return fn(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.pool, counted)

    async def _here(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` on the event loop's own thread, counted as in flight:
        for small work on an idle server (``INLINE_CHARS``)."""
        with self.in_flight:
            return fn(*args, **kwargs)

    def _start(self, requests: Sequence[pb.IngestRequest], caller: CallWatch) -> Started:
        """Start articles (one for Ingest and each article of a stream, a batch's for
        IngestBatch): ingested one after another, each in an ingest round once the one
        before it is committed (so that it finds it), with no turn through the event
        loop between them. The future holds each article's outcome or error, in
        order, once the last is settled; it stops short after an error that ends the
        call (the caller gone, or a bug)."""
        loop = asyncio.get_running_loop()
        answer: Started = loop.create_future()
        chain = _Chain(requests, caller, self.rounds)

        def settle() -> None:
            """On the loop: the call's articles are done."""
            self.in_flight.__exit__()
            if not answer.cancelled():
                answer.set_result(chain.outcomes)

        chain.finish = functools.partial(self.inbox.put, settle)
        self.in_flight.__enter__()
        try:
            self.rounds.submit(chain)
        except BaseException:
            self.in_flight.__exit__()
            raise
        return answer

    def _round(self, chains: list[_Chain]) -> None:
        """On an ingest thread: the next article of each of ``chains``, as one round of
        the domain; each one's commit starts its chain's next round."""
        items, owners = [], []
        for chain in chains:
            item = chain.next_item()
            if item is not None:
                items.append(item)
                owners.append(chain)
        try:
            pending = self.service.ingest_round(items)
        except BaseException as err:  # a bug: the chains end with it
            for chain in owners:
                chain.ended(err)
            raise
        for chain, outcome in zip(owners, pending, strict=True):
            outcome.add_done_callback(chain.committed)

    @_rpc
    async def Ingest(self, request: pb.IngestRequest, context: Context) -> pb.IngestResult:
        (outcome,) = await self._start([request], CallWatch(context))
        if not isinstance(outcome, IngestOutcome):
            raise outcome
        return _ingest_result(outcome)

    async def IngestStream(
        self, request_iterator: AsyncIterator[pb.IngestRequest], context: Context
    ) -> AsyncIterator[pb.IngestResult]:
        """An article that fails gets its own error and the stream goes on; a caller
        that has gone (deadline, cancellation) ends it. A stream that waits longer than
        ``idle_seconds`` for its next article, or is open longer than ``max_seconds``,
        is cancelled; while it waits it holds no thread.

        Up to ``window`` articles are worked on at once (read ahead while the first
        ones are detected and committed, so that they can share a commit); the
        answers go back in the order the articles came."""
        caller = CallWatch(context)
        loop = asyncio.get_running_loop()
        closes = loop.time() + self.max_seconds
        incoming = aiter(request_iterator)
        if self.window == 1:  # the default: no read-ahead, so no task or wait an article
            while True:
                wait = min(self.idle_seconds, closes - loop.time())
                try:
                    async with asyncio.timeout(max(0.0, wait)):
                        request = await anext(incoming)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    await self._stream_timeout(context, idle=wait >= self.idle_seconds)
                yield await self._stream_answer(request, self._start([request], caller), context)
        working: deque[tuple[pb.IngestRequest, Started]] = deque()
        reading: asyncio.Task[pb.IngestRequest] | None = None
        ended = False
        try:
            while working or not ended:
                if reading is None and not ended and len(working) < self.window:
                    reading = asyncio.ensure_future(anext(incoming))
                if working:  # busy, not idle: wait for the first answer or the next article
                    first: set[asyncio.Future[Any]] = {working[0][1]}
                    if reading is not None:
                        first.add(reading)
                    await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
                elif reading is not None:
                    wait = min(self.idle_seconds, closes - loop.time())
                    done, _ = await asyncio.wait({reading}, timeout=max(0.0, wait))
                    if not done:
                        await self._stream_timeout(context, idle=wait >= self.idle_seconds)
                if reading is not None and reading.done():
                    try:
                        request = reading.result()
                    except StopAsyncIteration:
                        ended = True
                    else:
                        task = self._start([request], caller)
                        working.append((request, task))
                    reading = None
                while working and working[0][1].done():
                    request, task = working.popleft()
                    yield await self._stream_answer(request, task, context)
        finally:
            for _, task in working:
                task.cancel()
            if reading is not None:
                reading.cancel()

    @_rpc
    async def IngestBatch(
        self, request: pb.IngestBatchRequest, context: Context
    ) -> pb.IngestBatchResult:
        """Articles in one message, ingested in order as on a stream: each article
        that fails gets its own error and the batch goes on."""
        count = len(request.articles)
        if not 1 <= count <= MAX_BATCH_ARTICLES:
            raise InvalidInput(
                f"a batch holds 1 to {MAX_BATCH_ARTICLES:,} articles, this one {count:,}"
                + (": split it" if count else "")
            )
        requests = list(request.articles)
        outcomes = await self._start(requests, CallWatch(context))
        results = []
        for article, outcome in zip(requests, outcomes, strict=False):
            results.append(await _article_answer("IngestBatch", article, outcome, context))
        return pb.IngestBatchResult(results=results)

    async def _stream_timeout(self, context: Context, *, idle: bool) -> NoReturn:
        why, limit = ("idle", self.idle_seconds) if idle else ("open", self.max_seconds)
        flag = "--stream-idle-seconds" if idle else "--stream-max-seconds"
        log.info("stream cancelled", extra={"reason": why, "limit_seconds": limit})
        await context.abort(
            grpc.StatusCode.CANCELLED,
            f"the stream was {why} for {limit:g} s ({flag}): open a new one",
        )

    @staticmethod
    async def _stream_answer(
        request: pb.IngestRequest,
        task: Started,
        context: Context,
    ) -> pb.IngestResult:
        """The answer to one article of a stream (``_start`` of it alone), once it has
        one."""
        (outcome,) = await task
        return await _article_answer("IngestStream", request, outcome, context)

    @_rpc
    async def Query(self, request: pb.QueryRequest, context: Context) -> pb.QueryResult:
        caller = CallWatch(context)
        d = await self._run(
            self.service.query,
            _article(request.article),
            _options(request.options),
            work=caller.work(),
        )
        return pb.QueryResult(
            matches=_reuses(d),
            reused_fraction=d.reused_fraction,
            source_count=d.source_count,
            sources=_sources(d),
            boilerplate_suppressed=d.boilerplate_suppressed,
        )

    @_rpc
    async def Compare(self, request: pb.CompareRequest, context: Context) -> pb.CompareResult:
        unit = _unit(request.offset_unit)
        text_a, text_b = request.text_a, request.text_b
        small = len(text_a) + len(text_b) <= INLINE_CHARS and self.in_flight.idle
        run = self._here if small else self._run
        c = await run(self.service.compare, text_a, text_b, unit, work=CallWatch(context).work())
        return pb.CompareResult(
            matches=[_match(m) for m in c.matches],
            derived_share=c.derived_share,
            verdict=_VERDICT[c.verdict],
        )

    @_rpc
    async def Get(self, request: pb.GetRequest, context: Context) -> pb.Article:
        r = await self._run(self.service.get, request.id)
        return pb.Article(
            id=r.id,
            outlet=r.outlet,
            url=r.url,
            published_at=_to_timestamp(r.published_at_ns),
            language=r.language,
            text=r.text,
        )

    @_rpc
    async def Delete(self, request: pb.DeleteRequest, context: Context) -> pb.DeleteResult:
        await self._run(self.service.delete, request.id)
        return pb.DeleteResult(id=request.id)

    @_rpc
    async def Stats(self, request: pb.StatsRequest, context: Context) -> pb.StatsResult:
        # Not on the worker pool: Stats answers even while every worker computes.
        s = await asyncio.to_thread(self.service.stats)
        return pb.StatsResult(
            articles=s.articles,
            passages=s.passages,
            index_bytes=s.index_bytes,
            uptime_seconds=s.uptime_seconds,
            version=s.version,
            write_transactions=s.write_transactions,
            articles_written=s.articles_written,
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
        admission = Admission(config.max_in_flight)
        tokens = TokenTable(Path(config.auth_tokens)) if config.auth_tokens else None
        metrics = Metrics(service, admission) if config.metrics_address else None
        return cls(admission, tokens, metrics)

    def interceptors(self) -> list[Chain]:
        arounds: list[Around] = [self.metrics] if self.metrics else []
        arounds += [Decoding(), self.admission]
        if self.tokens is not None:
            arounds.append(Authenticator(self.tokens))
        return [Chain(arounds)]


def _credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    if not config.tls_cert:
        return None
    pair = (Path(config.tls_key).read_bytes(), Path(config.tls_cert).read_bytes())
    client_ca = Path(config.tls_client_ca).read_bytes() if config.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


@dataclass(frozen=True, slots=True)
class Built:
    """A server made by ``create_server`` (not started), with what it needs to stop."""

    server: grpc.aio.Server
    port: int
    servicer: Servicer
    pool: futures.ThreadPoolExecutor

    def shutdown_pools(self, *, wait: bool) -> None:
        self.servicer.rounds.shutdown(wait=wait)
        self.pool.shutdown(wait=wait, cancel_futures=True)


def create_server(
    config: ServerConfig,
    service: ReuseService,
    health_servicer: health_aio.HealthServicer,
    guards: Guards | None = None,
) -> Built:
    """Build (not start) a server for ``service``; call it inside the event loop that
    will run it."""
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    guards = guards or Guards.from_config(config, service)
    server = grpc.aio.server(interceptors=guards.interceptors(), options=options)
    pool = futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="work")
    servicer = Servicer(service, pool, config)
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
    return Built(server, port, servicer, pool)


def health_reporter(
    health_servicer: health_aio.HealthServicer, loop: asyncio.AbstractEventLoop
) -> Callable[[bool], None]:
    """Sets the overall and the Wiretrace service's health to SERVING or NOT_SERVING,
    from any thread (the sweeper's)."""

    def report(ok: bool) -> None:
        serving = health_pb2.HealthCheckResponse
        status = serving.SERVING if ok else serving.NOT_SERVING

        async def set_all() -> None:
            for name in (SERVICE_NAME, ""):
                await health_servicer.set(name, status)

        asyncio.run_coroutine_threadsafe(set_all(), loop).result(timeout=10)

    return report


def open_service(config: ServerConfig) -> ReuseService:
    """The domain service over the configured store."""
    settings = config.service_settings()
    return ReuseService(settings, open_store(config.store_url, settings.index))


#: How long calls get, after the grace period, to notice they were cancelled.
CANCEL_SECONDS = 1.0


def serve(config: ServerConfig, *, ready: Callable[[int], None] | None = None) -> int:
    """Run until SIGTERM or SIGINT; then refuse new calls, drain those in flight for up
    to ``grace_seconds``, cancel the rest and stop. ``ready`` is told the port once
    the server serves and the signal handlers are in place. SIGHUP re-reads the token
    file.

    Returns the number of calls still running ``CANCEL_SECONDS`` after the grace period
    (0 normally); the command exits anyway (``cli``), since their threads would keep
    the interpreter from ending."""
    return asyncio.run(_serve(config, ready))


async def _serve(config: ServerConfig, ready: Callable[[int], None] | None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        log.info(
            "stopping", extra={"signal": signal.Signals(signum).name, "grace": config.grace_seconds}
        )
        stop.set()

    # Before anything is announced: a SIGTERM right after readiness must drain too. The
    # loop learns of a signal through its wakeup file, whichever thread took it.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    t0 = time.perf_counter()
    service = await asyncio.to_thread(open_service, config)
    store_seconds = time.perf_counter() - t0
    health_servicer = health_aio.HealthServicer()
    guards = Guards.from_config(config, service)
    if guards.tokens is not None:
        loop.add_signal_handler(signal.SIGHUP, guards.tokens.reload)
    built = create_server(config, service, health_servicer, guards)
    metrics_port = guards.metrics.serve(config.metrics_address) if guards.metrics else None
    sweeper = Sweeper(service, config.sweep_seconds, health_reporter(health_servicer, loop))
    await asyncio.to_thread(sweeper.start)  # health known, retention applied
    await built.server.start()
    log.info(
        "serving",
        extra={
            "address": config.address.rpartition(":")[0] + f":{built.port}",
            "port": built.port,
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
        ready(built.port)
    await stop.wait()
    await health_servicer.enter_graceful_shutdown()
    # New calls are refused at once; after the grace period gRPC cancels the calls
    # still running, and their engine work raises Expired at its next check.
    await built.server.stop(config.grace_seconds)
    left = await asyncio.to_thread(built.servicer.in_flight.wait_idle, CANCEL_SECONDS)
    await asyncio.to_thread(sweeper.stop)
    built.shutdown_pools(wait=False)
    if left:
        log.error("calls still running after the grace period", extra={"calls": left})
    else:
        service.close()
    log.info("stopped", extra={"calls_left": left})
    return left
