"""Processes the benchmarks and tests start: ``wiretrace serve`` on a free loopback
port (``start_server_process``, ``local_server``), and a throwaway ``redis-server``
(``RedisServer``), which runs from a temporary directory of its own, is stopped by its
pid, and can be killed and started again on the same port and files (the AOF-restart
test).
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from wiretrace.server.config import min_message_bytes

__all__ = [
    "RedisServer",
    "local_server",
    "redis_server_binary",
    "server_rss_bytes",
    "start_server_process",
]


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """``redis-server`` bound to 127.0.0.1, and to the unix socket ``socket`` in its
    directory; with ``aof`` every write is fsynced to the append-only file before Redis
    replies; with ``password`` clients must authenticate."""

    def __init__(self, directory: Path, *, aof: bool = False, password: str = "") -> None:
        binary = redis_server_binary()
        if binary is None:
            raise FileNotFoundError(
                "redis-server is not installed: `apt-get install -y redis-server` "
                "(./scripts/check does it when it can)"
            )
        self.binary = binary
        self.directory = directory
        self.aof = aof
        self.password = password
        self.socket = directory / "redis.sock"
        directory.mkdir(parents=True, exist_ok=True)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        atexit.register(self.stop)  # never outlive the test or benchmark that started it
        for _ in range(5):  # another process may take the free port before Redis does
            self.port = _free_port()
            if self._start():
                return
        raise RuntimeError(f"redis-server did not start; see {directory / 'redis.log'}")

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password or None)

    def _start(self) -> bool:
        args = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        if self.aof:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with self.client() as c:
                    c.ping()
                return True
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.02)
        self.stop()
        return False

    def restart(self) -> None:
        """Start again on the same port and directory after ``kill`` or ``stop``."""
        if not self._start():
            raise RuntimeError(f"redis-server did not restart on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: nothing gets flushed that was not on disk already."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def start_server_process(
    data_dir: Path, port_file: Path, *, log_file: Path | None = None, extra: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``wiretrace serve`` on a free loopback port; returns once it serves."""
    port_file.unlink(missing_ok=True)
    log_path = log_file or port_file.with_suffix(".log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wiretrace.cli",
                "serve",
                "--address",
                "127.0.0.1:0",
                "--data-dir",
                str(data_dir),
                "--port-file",
                str(port_file),
                *(extra or []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    deadline = time.monotonic() + 600
    while not port_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the server did not start within 600 s")
        time.sleep(0.01)
    return proc


@contextmanager
def local_server(
    data_dir: Path | None = None, *, max_text_chars: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A ``wiretrace serve`` process on a free port, stopped (SIGTERM) afterwards;
    ``max_text_chars`` raises the text limit (and the message cap with it)."""
    extra = []
    if max_text_chars:
        extra = [
            "--max-text-chars",
            str(max_text_chars),
            "--max-message-bytes",
            str(min_message_bytes(max_text_chars)),
        ]
    with tempfile.TemporaryDirectory(prefix="wiretrace-bench-") as tmp:
        port_file = Path(tmp) / "port"
        proc = start_server_process(data_dir or Path(tmp) / "data", port_file, extra=extra)
        try:
            yield f"127.0.0.1:{port_file.read_text()}", proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def server_rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
