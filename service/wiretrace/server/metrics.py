"""Prometheus metrics of the service, served over HTTP at ``--metrics-address``.

Calls and errors by RPC and status code, latency histograms, articles and matches
ingested (matches by kind), and, read at each scrape, the store's articles and
passages, the index's memory, the calls in flight and the calls shed. Each server has
a registry of its own (tests run several servers in one process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from wiretrace.domain import ReuseService
from wiretrace.server.interceptors import Admission, Around, Context
from wiretrace_api.v1 import wiretrace_pb2 as pb

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics(Around):
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
            "wiretrace_articles_ingested",
            "Articles newly stored by Ingest, IngestStream and IngestBatch",
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
        Gauge(
            "wiretrace_store_write_transactions",
            "Transactions that stored articles since start (group commit shares them)",
            registry=r,
        ).set_function(lambda: stats().write_transactions)
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

    async def opened(self, rpc: str, context: Context) -> Any:
        return rpc, time.perf_counter()

    def answered(self, state: Any, answer: Any) -> None:
        for one in answer.results if isinstance(answer, pb.IngestBatchResult) else (answer,):
            if isinstance(one, pb.IngestResult) and one.created:
                self.articles.inc()
            for m in getattr(one, "matches", ()):
                self.matches.labels(pb.Kind.Name(m.kind).lower()).inc()

    def closed(self, state: Any, context: Context, failed: bool) -> None:
        rpc, t0 = state
        code = context.code()
        if code is not None and not isinstance(code, grpc.StatusCode):
            code = next((c for c in grpc.StatusCode if c.value[0] == code), None)
        if code is not None:
            name = code.name
        elif context.cancelled():
            name = "CANCELLED"
        else:
            name = "UNKNOWN" if failed else "OK"
        self.calls.labels(rpc, name).inc()
        self.latency.labels(rpc).observe(time.perf_counter() - t0)
