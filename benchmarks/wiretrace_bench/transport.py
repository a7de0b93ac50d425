"""``wiretrace bench transport``: what this machine's gRPC transport costs on its own.

An echo server (``python -m wiretrace_bench.transport PORT_FILE``) answers every
Wiretrace call at once with an empty answer of the right type: nothing is parsed
beyond protobuf, detected or stored, and no interceptor runs. The same clients as
``bench ingest``, ``bench query`` and ``bench compare`` then call it with the same
messages. What they measure is the floor under any server of this API in Python on
this machine: the CPU each call costs the server and the client, and the latency of
one call with nothing behind it.

From the floor and a target, the report works out what is left for the engine and
the domain: ``cores / rate - transport CPU`` of CPU per call, or ``target latency -
transport latency``. A negative budget means no engine, however fast, meets the
target behind this transport on this machine.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["bench_transport", "echo_server"]


def _serve(port_file: Path) -> None:
    import grpc

    from wiretrace.server.config import DEFAULT_MAX_MESSAGE_BYTES
    from wiretrace_api.v1 import wiretrace_pb2 as pb
    from wiretrace_api.v1 import wiretrace_pb2_grpc as pb_grpc

    class Echo(pb_grpc.WiretraceServicer):
        async def Ingest(self, request: Any, context: Any) -> Any:
            return pb.IngestResult(id=request.article.id)

        async def IngestStream(self, requests: AsyncIterator[Any], context: Any) -> Any:
            async for request in requests:
                yield pb.IngestResult(id=request.article.id)

        async def Query(self, request: Any, context: Any) -> Any:
            return pb.QueryResult()

        async def Compare(self, request: Any, context: Any) -> Any:
            return pb.CompareResult()

        async def Stats(self, request: Any, context: Any) -> Any:
            return pb.StatsResult()

    async def run() -> None:
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", DEFAULT_MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", DEFAULT_MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ]
        )
        pb_grpc.add_WiretraceServicer_to_server(Echo(), server)  # type: ignore[no-untyped-call]
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        port_file.write_text(str(port))
        await server.wait_for_termination()

    asyncio.run(run())


@contextmanager
def echo_server() -> Iterator[tuple[str, int]]:
    """The echo server in a process of its own (so that its CPU is its own), on a free
    loopback port: yields its address and pid; stopped afterwards."""
    from wiretrace_bench.launchers import spawn_serving, stop_process

    with tempfile.TemporaryDirectory(prefix="wiretrace-echo-") as tmp:
        port_file = Path(tmp) / "port"
        args = [sys.executable, "-m", "wiretrace_bench.transport", str(port_file)]
        proc = spawn_serving(args, port_file, log_path=Path(tmp) / "echo.log", timeout=60)
        try:
            yield f"127.0.0.1:{port_file.read_text()}", proc.pid
        finally:
            stop_process(proc, timeout=30)


def bench_transport(
    articles: list[Any],
    query_texts: list[str],
    pairs: list[tuple[str, str]],
    *,
    streams: int,
    requests: int,
    in_flight: int,
    ingest_rate: float,
    query_p99_ms: float,
    compare_p50_ms: float,
) -> dict[str, object]:
    """The three clients against the echo server, and what each target leaves for
    everything behind the transport."""
    from wiretrace_bench.service_bench import bench_ingest, bench_query, compare_rpc
    from wiretrace_bench.stats import percentiles

    cores = os.cpu_count() or 1
    with echo_server() as (address, pid):
        ingest = bench_ingest(address, articles, concurrency=streams, server_pid=pid)
        query = bench_query(
            address, query_texts, requests=requests, concurrency=in_flight, server_pid=pid
        )
        compare = percentiles(compare_rpc(address, pairs)[0])

    def per_call(report: dict[str, object], unit: str) -> float:
        server = report[f"server_cpu_ms_per_{unit}"]
        client = report[f"client_cpu_ms_per_{unit}"]
        return float(server) + float(client)  # type: ignore[arg-type]

    ingest_cpu = per_call(ingest, "article")
    query_cpu = per_call(query, "query")
    # Little's law: ``in_flight`` calls each done within the p99 need at least this rate.
    query_rate = in_flight / (query_p99_ms / 1e3)
    return {
        "cores": cores,
        "ingest_stream": {
            "streams": streams,
            "articles_per_s": ingest["articles_per_s"],
            "answered": ingest["answered"],
            "server_cpu_ms": ingest["server_cpu_ms_per_article"],
            "client_cpu_ms": ingest["client_cpu_ms_per_article"],
            "target_articles_per_s": ingest_rate,
            "cpu_ms_left_per_article": round(cores * 1e3 / ingest_rate - ingest_cpu, 3),
        },
        "query": {
            "in_flight": in_flight,
            "qps": query["qps"],
            "p50_ms": query["p50_ms"],
            "p99_ms": query["p99_ms"],
            "server_cpu_ms": query["server_cpu_ms_per_query"],
            "client_cpu_ms": query["client_cpu_ms_per_query"],
            "target_p99_ms": query_p99_ms,
            "qps_needed": round(query_rate, 1),
            "cpu_ms_left_per_query": round(cores * 1e3 / query_rate - query_cpu, 3),
        },
        "compare": {
            "pairs": len(pairs),
            "p50_ms": compare["p50_ms"],
            "p95_ms": compare["p95_ms"],
            "target_p50_ms": compare_p50_ms,
            "ms_left_per_call": round(compare_p50_ms - float(compare["p50_ms"]), 3),
        },
    }


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
