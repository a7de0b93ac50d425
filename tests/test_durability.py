"""A real server process: SIGKILL mid-stream loses no acknowledged article and leaves no
half-written one; SIGTERM drains and exits cleanly."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest

from wiretrace.engine.config import EngineConfig
from wiretrace_bench.launchers import start_server_process
from wiretrace_client import Client, pb

from .helpers import news


def _start(data: Path, port_file: Path) -> subprocess.Popen[bytes]:
    """``wiretrace serve`` in its own process; its log goes to ``port.log``."""
    return start_server_process(data, port_file, log_file=port_file.parent / "server.log")


def _address(port_file: Path) -> str:
    return f"127.0.0.1:{port_file.read_text()}"


def test_sigkill_mid_stream_keeps_every_acknowledged_article(tmp_path: Path) -> None:
    data, port_file = tmp_path / "data", tmp_path / "port"
    docs = news(300, seed=11)
    sent = {d.id: d.text for d in docs}
    proc = _start(data, port_file)
    acked: list[str] = []
    try:
        with Client(_address(port_file)) as client:
            stream = client.ingest_stream(docs)

            def consume() -> None:
                for result in stream:
                    acked.append(result.id)
                    if len(acked) == 40:
                        os.kill(proc.pid, signal.SIGKILL)

            with pytest.raises(grpc.RpcError) as info:
                consume()
            assert info.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    finally:
        proc.kill()
        proc.wait()
    assert 40 <= len(acked) < len(docs)

    proc = _start(data, port_file)
    try:
        with Client(_address(port_file)) as client:
            stored = {}
            for article_id in sent:
                try:
                    stored[article_id] = client.get(article_id).text
                except grpc.RpcError as err:
                    if err.code() != grpc.StatusCode.NOT_FOUND:
                        raise
            assert set(acked) <= set(stored), "every acknowledged article survives"
            for article_id, text in stored.items():
                assert text == sent[article_id], "no article is half-written"
            assert client.stats().articles == len(stored)
            # Nothing but a prefix of the stream can be there (one unacked at most).
            order = [d.id for d in docs]
            assert sorted(stored, key=order.index) == order[: len(stored)]
            assert len(stored) <= len(acked) + 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_sigterm_stops_gracefully(tmp_path: Path) -> None:
    data, port_file = tmp_path / "data", tmp_path / "port"
    proc = _start(data, port_file)
    with Client(_address(port_file)) as client:
        client.ingest(news(1)[0])
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    log = (tmp_path / "server.log").read_text()
    assert '"msg": "stopped"' in log


def test_sigkill_while_streams_share_transactions_keeps_every_acknowledged_article(
    tmp_path: Path,
) -> None:
    data, port_file = tmp_path / "data", tmp_path / "port"
    streams = 4
    docs = news(320, seed=12)
    sent = {d.id: d.text for d in docs}
    proc = _start(data, port_file)
    acked: list[str] = []
    lock = threading.Lock()
    kill_at = 80
    try:
        with Client(_address(port_file)) as client:
            # A second connection holds SQLite's write lock while the streams start:
            # their first articles wait in one group.
            other = sqlite3.connect(data / "articles.db", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")

            def consume(part: list[pb.Article]) -> None:
                try:
                    for result in client.ingest_stream(part):
                        with lock:
                            acked.append(result.id)
                            if len(acked) == streams + 4:
                                stats.append(client.stats())
                            if len(acked) == kill_at:
                                os.kill(proc.pid, signal.SIGKILL)
                except grpc.RpcError as err:
                    ended.append(err.code())

            stats: list[pb.StatsResult] = []
            ended: list[grpc.StatusCode] = []
            threads = [
                threading.Thread(target=consume, args=(docs[k::streams],)) for k in range(streams)
            ]
            for t in threads:
                t.start()
            time.sleep(1.0)
            other.execute("COMMIT")
            other.close()
            for t in threads:
                t.join(120)
    finally:
        proc.kill()
        proc.wait()
    assert kill_at <= len(acked) < len(docs)
    assert len(ended) == streams
    assert set(ended) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}
    (early,) = stats
    assert early.write_transactions < early.articles_written, "the first articles were grouped"

    # Nothing half-written: every stored row is whole (its text, hash and signatures).
    db = sqlite3.connect(data / "articles.db")
    rows = db.execute("SELECT id, text, sha256, units, length(signatures) FROM articles").fetchall()
    db.close()
    for article_id, text, sha, units, blob_bytes in rows:
        assert text == sent[article_id]
        assert sha == hashlib.sha256(text.encode()).hexdigest()
        assert blob_bytes == units * EngineConfig().num_perm * 4
    proc = _start(data, port_file)
    try:
        with Client(_address(port_file)) as client:
            stored = {}
            for article_id in sent:
                try:
                    stored[article_id] = client.get(article_id).text
                except grpc.RpcError as err:
                    if err.code() != grpc.StatusCode.NOT_FOUND:
                        raise
            assert set(acked) <= set(stored), "every acknowledged article survives"
            assert {article_id for article_id, *_ in rows} == set(stored)
            assert client.stats().articles == len(stored)
            # Unacknowledged: at most the articles in flight, one per stream.
            assert len(stored) <= len(acked) + streams
    finally:
        proc.terminate()
        proc.wait(timeout=30)
