"""Deadlines, cancellation and SIGTERM stop the work inside a call: the engine checks
between bounded chunks, so a worker is free again soon after the caller gives up, and
the server always exits within its grace period plus a second."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest

from wiretrace import EngineConfig
from wiretrace.server.config import min_message_bytes
from wiretrace_api.v1 import wiretrace_pb2_grpc as pb_grpc
from wiretrace_bench.launchers import start_server_process
from wiretrace_bench.shapes import shape_text
from wiretrace_client import pb

from .helpers import Running

LIMIT = 200_000
#: Looser bounds on the number of chunks (not on their size, which sets how often the
#: engine checks for cancellation): the worst shape then runs for seconds (~4 s with
#: the seeds and extensions unbounded too; with them bounded it took ~0.15 s once
#: prepare ran in one core call, less than the deadline).
LOOSE = {
    "max_passages": 10**7,
    "max_align_cells": 10**15,
    "max_seed_pairs": 10**9,
    "max_extend_pairs": 10**9,
}
GRACE = 1.0


def _endless_compare() -> pb.CompareRequest:
    text = shape_text("salad", LIMIT)
    return pb.CompareRequest(text_a=text, text_b=text[:-1])  # two texts: every pair


def test_a_deadline_stops_the_work_and_frees_the_worker(tmp_path: Path) -> None:
    # One call in flight at most: a second Compare is admitted only once the first
    # one's handler has returned.
    r = Running(
        tmp_path / "data",
        max_text_chars=LIMIT,
        workers=3,
        max_in_flight=1,
        engine=EngineConfig(**LOOSE),
    )
    try:
        channel = grpc.insecure_channel(
            r.address, options=[("grpc.max_send_message_length", min_message_bytes(LIMIT))]
        )
        stub = pb_grpc.WiretraceStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.RpcError) as info:
            stub.Compare(_endless_compare(), timeout=0.2)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        t0 = time.monotonic()
        small = pb.CompareRequest(text_a="a short text here", text_b="another one there")
        refusals: list[grpc.StatusCode] = []
        while time.monotonic() - t0 < 1.0:
            try:
                stub.Compare(small, timeout=10)
                break
            except grpc.RpcError as err:
                refusals.append(err.code())  # shed while the first Compare still runs
                time.sleep(0.02)
        assert time.monotonic() - t0 < 1.0, "the cancelled Compare kept its worker"
        assert set(refusals) <= {grpc.StatusCode.RESOURCE_EXHAUSTED}
        channel.close()
    finally:
        r.stop()


def _serve(tmp_path: Path) -> subprocess.Popen[bytes]:
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in LOOSE.items()]
    return start_server_process(
        tmp_path / "data",
        tmp_path / "port",
        extra=[
            f"--grace-seconds={GRACE}",
            f"--max-text-chars={LIMIT}",
            f"--max-message-bytes={min_message_bytes(LIMIT)}",
            *flags,
        ],
    )


def _busy(tmp_path: Path) -> tuple[grpc.Channel, threading.Thread]:
    """A worst-shape Compare in flight on the server (from a thread of ours)."""
    port = (tmp_path / "port").read_text()
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", min_message_bytes(LIMIT))]
    )
    stub = pb_grpc.WiretraceStub(channel)  # type: ignore[no-untyped-call]
    request = _endless_compare()

    def call() -> None:
        # Cancelled by the shutdown, or the connection closed: either ends it.
        with contextlib.suppress(grpc.RpcError):
            stub.Compare(request, timeout=120)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    time.sleep(0.5)  # the request is sent and the engine is at work
    return channel, thread


def _exits_within(proc: subprocess.Popen[bytes], seconds: float) -> float:
    t0 = time.monotonic()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the server did not exit within {seconds} s of SIGTERM")
    return time.monotonic() - t0


def _sigterm_during_a_worst_shape_call(tmp_path: Path, runs: int) -> None:
    for k in range(runs):
        run_dir = tmp_path / f"run{k}"
        run_dir.mkdir()
        proc = _serve(run_dir)
        channel, thread = _busy(run_dir)
        proc.send_signal(signal.SIGTERM)
        _exits_within(proc, GRACE + 1.0)
        assert proc.returncode == 0, (run_dir / "port.log").read_text()[-2000:]
        assert '"stopped"' in (run_dir / "port.log").read_text()
        thread.join(10)
        channel.close()


def test_sigterm_during_a_worst_shape_call_exits_within_grace(tmp_path: Path) -> None:
    _sigterm_during_a_worst_shape_call(tmp_path, runs=2)


@pytest.mark.bench
def test_sigterm_during_a_worst_shape_call_exits_within_grace_20_times(tmp_path: Path) -> None:
    _sigterm_during_a_worst_shape_call(tmp_path, runs=20)


_SYS_TGKILL = {"x86_64": 234, "aarch64": 131}


def _tgkill(pid: int, tid: int, signum: int) -> None:
    """Send a signal to one thread of another process (``signal.pthread_kill`` only
    reaches threads of this one)."""
    number = _SYS_TGKILL.get(os.uname().machine)
    if number is None:
        pytest.skip(f"tgkill's syscall number is not known on {os.uname().machine}")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), "tgkill failed")


def test_sigterm_sent_to_a_non_main_thread_still_stops_the_server(tmp_path: Path) -> None:
    proc = _serve(tmp_path)
    threads = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid]
    assert threads, "the server runs gRPC and sweeper threads"
    _tgkill(proc.pid, threads[-1], signal.SIGTERM)
    _exits_within(proc, GRACE + 1.0)
    assert proc.returncode == 0
