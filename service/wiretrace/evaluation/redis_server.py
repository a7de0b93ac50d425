"""A throwaway ``redis-server`` on a free loopback port, for tests and benchmarks.

It runs from a temporary directory of its own, is stopped by its pid, and can be
killed and started again on the same port and files (the AOF-restart test).
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

__all__ = ["RedisServer", "redis_server_binary"]


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """``redis-server`` bound to 127.0.0.1; with ``aof`` every write is fsynced to the
    append-only file before Redis replies."""

    def __init__(self, directory: Path, *, aof: bool = False) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise FileNotFoundError(
                "redis-server is not installed: `apt-get install -y redis-server` "
                "(./scripts/check does it when it can)"
            )
        self.binary = binary
        self.directory = directory
        self.aof = aof
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
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

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
        ]  # fmt: skip
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

    def used_memory(self) -> int:
        with self.client() as c:
            return int(c.info("memory")["used_memory"])
