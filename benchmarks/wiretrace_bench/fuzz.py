"""``wiretrace bench fuzz``: hostile requests over every RPC against a real server.

Counts the answers by status code; INTERNAL, UNKNOWN or a call that hangs past its
deadline is a failure of the server. Memory is read before and after (it must stay
flat), and the articles the server says it stores must be exactly those it
acknowledged, less those it deleted (each sender keeps to ids of its own).
"""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from wiretrace_bench.hostile import Hostile, hostile, send
from wiretrace_bench.launchers import server_rss_bytes, start_server_process

__all__ = ["FAILURES", "bench_fuzz"]

#: Codes the server must never answer with (DEADLINE_EXCEEDED: the call hung).
FAILURES = ("INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED")
ROUNDS = 4


def bench_fuzz(
    requests: int, *, seed: int = 0, concurrency: int = 4, timeout: float = 120.0
) -> dict[str, object]:
    import tempfile

    from wiretrace_client import Client

    rngs = [random.Random(seed * 1000 + k) for k in range(concurrency)]
    plan = [
        [
            hostile(rngs[k], prefix=f"t{k}-")
            for _ in range(requests // concurrency + (k < requests % concurrency))
        ]
        for k in range(concurrency)
    ]
    with tempfile.TemporaryDirectory(prefix="wiretrace-fuzz-") as tmp:
        proc = start_server_process(Path(tmp) / "data", Path(tmp) / "port")
        try:
            address = f"127.0.0.1:{(Path(tmp) / 'port').read_text()}"
            rss_before = server_rss_bytes(proc.pid)
            codes: Counter[tuple[str, str]] = Counter()
            live_of: list[set[str]] = [set() for _ in range(concurrency)]
            acknowledged = 0
            t0 = time.perf_counter()

            def run(part: list[Hostile], mine: set[str]) -> tuple[Counter[tuple[str, str]], int]:
                """Send ``part`` in order; ``mine`` holds this sender's stored ids."""
                seen: Counter[tuple[str, str]] = Counter()
                made = 0
                with grpc.insecure_channel(
                    address, options=[("grpc.max_send_message_length", 64 * 2**20)]
                ) as channel:
                    for request in part:
                        code, stored = send(channel, request, timeout=timeout)
                        seen[(request.rpc, code.name)] += 1
                        made += len(stored)
                        mine.update(article_id for article_id, _ in stored)
                        if request.rpc == "Delete" and code == grpc.StatusCode.OK:
                            mine.discard(request.messages[0].id)  # type: ignore[attr-defined]
                return seen, made

            # In four rounds, each sender going on with its own ids, so that the
            # server's memory can be read between them: flat means it levels off.
            rss_rounds: list[int | None] = []
            with ThreadPoolExecutor(concurrency) as pool:
                for r in range(ROUNDS):
                    parts = [
                        part[r * len(part) // ROUNDS : (r + 1) * len(part) // ROUNDS]
                        for part in plan
                    ]
                    for seen, made in pool.map(
                        run, parts, [live_of[k] for k in range(concurrency)]
                    ):
                        codes.update(seen)
                        acknowledged += made
                    rss_rounds.append(server_rss_bytes(proc.pid))
            live = set().union(*live_of)
            seconds = time.perf_counter() - t0
            rss_after = rss_rounds[-1]
            with Client(address) as client:
                stored = client.stats().articles
            alive = proc.poll() is None
        finally:
            t_stop = time.perf_counter()
            proc.terminate()
            try:
                proc.wait(timeout=60)
                exit_seconds: float | None = round(time.perf_counter() - t_stop, 2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                exit_seconds = None
    by_code: Counter[str] = Counter()
    for (_, code), n in codes.items():
        by_code[code] += n
    return {
        "requests": sum(codes.values()),
        "seconds": round(seconds, 1),
        "by_code": dict(sorted(by_code.items())),
        "by_rpc_and_code": {f"{rpc} {code}": n for (rpc, code), n in sorted(codes.items())},
        "failures": sum(by_code[c] for c in FAILURES),
        "server_alive": alive,
        "sigterm_exit_seconds": exit_seconds,
        "acknowledged_writes": acknowledged,
        "expected_articles": len(live),
        "stored_articles": stored,
        "stored_matches_acknowledged": stored == len(live),
        "server_rss_before_bytes": rss_before,
        "server_rss_by_quarter_bytes": rss_rounds,
        "server_rss_after_bytes": rss_after,
    }
