"""Prometheus metrics of the service, served over HTTP at ``--metrics-address``.

Calls and errors by RPC and status code, latency histograms, articles and matches
ingested (matches by kind), and, read at each scrape, the store's articles and
passages, the index's memory, the calls in flight and the calls shed. Each server has
a registry of its own (tests run several servers in one process).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from wiretrace.domain import ReuseService
from wiretrace.server.interceptors import (
    HEALTH_PREFIX,
    Admission,
    Behaviour,
    Handler,
    Interceptor,
    wrap_behaviour,
)
from wiretrace_api.v1 import wiretrace_pb2 as pb

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics(Interceptor):
    def __init__(self, service: ReuseService, admission: Admission | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls = Counter(
            "wiretrace_calls", "Finished calls by RPC and status code", ["rpc", "code"], registry=r
        )
        self.latency = Histogram(
            "wiretrace_call_seconds",
            "Call duration by RPC (a stream: until it ends)",
            ["rpc"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.articles = Counter(
            "wiretrace_articles_ingested", "Articles newly stored by Ingest and IngestStream",
            registry=r,
        )  # fmt: skip
        self.matches = Counter(
            "wiretrace_matches", "Reused passages reported, by kind", ["kind"], registry=r
        )
        stats: Callable[[], Any] = service.stats
        Gauge("wiretrace_store_articles", "Articles in the store", registry=r).set_function(
            lambda: stats().articles
        )
        Gauge("wiretrace_index_passages", "Passages in the index", registry=r).set_function(
            lambda: stats().passages
        )
        Gauge("wiretrace_index_bytes", "Memory of the index", registry=r).set_function(
            lambda: stats().index_bytes
        )
        if admission is not None:
            Gauge("wiretrace_calls_in_flight", "Calls running now", registry=r).set_function(
                lambda: admission.in_flight
            )
            Gauge(
                "wiretrace_calls_shed", "Calls refused at --max-in-flight since start", registry=r
            ).set_function(lambda: admission.shed)

    def serve(self, address: str) -> int:
        """Serve ``/metrics`` over HTTP at ``HOST:PORT`` (port 0 picks one); the port."""
        host, _, port = address.rpartition(":")
        server, _thread = start_http_server(int(port), host.strip("[]"), registry=self.registry)
        return int(server.server_port)

    def _count(self, result: Any) -> None:
        if isinstance(result, pb.IngestResult) and result.created:
            self.articles.inc()
        for m in getattr(result, "matches", ()):
            self.matches.labels(pb.Kind.Name(m.kind).lower()).inc()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(details)
        method = str(details.method)
        if method.startswith(HEALTH_PREFIX):
            return handler
        rpc = method.rsplit("/", 1)[-1]

        def done(t0: float, context: grpc.ServicerContext, failed: bool) -> None:
            code = context.code()  # type: ignore[attr-defined]
            name = code.name if code is not None else ("UNKNOWN" if failed else "OK")
            self.calls.labels(rpc, name).inc()
            self.latency.labels(rpc).observe(time.perf_counter() - t0)

        def wrap(behaviour: Behaviour, _streaming_in: bool, streaming_out: bool) -> Behaviour:
            def measured(request: Any, context: grpc.ServicerContext) -> Any:
                t0 = time.perf_counter()
                if streaming_out:
                    return self._stream(behaviour(request, context), t0, context, done)
                failed = True
                try:
                    answer = behaviour(request, context)
                    failed = False
                    self._count(answer)
                    return answer
                finally:
                    done(t0, context, failed)

            return measured

        return wrap_behaviour(handler, wrap)

    def _stream(
        self,
        answers: Iterator[Any],
        t0: float,
        context: grpc.ServicerContext,
        done: Callable[[float, grpc.ServicerContext, bool], None],
    ) -> Iterator[Any]:
        failed = True
        try:
            for answer in answers:
                self._count(answer)
                yield answer
            failed = False
        finally:
            done(t0, context, failed)
