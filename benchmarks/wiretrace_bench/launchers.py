"""Processes the benchmarks and tests start: ``wiretrace serve`` on a free loopback
port (``start_server_process``, ``local_server``; any server that writes its port to a
file: ``spawn_serving``, ``stop_process``), and a throwaway ``redis-server``
(``RedisServer``), which runs from a temporary directory of its own, is stopped by its
pid, and can be killed and started again on the same port and files (the AOF-restart
test).
"""

from __future__ import annotations

import atexit
import os
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
    "RedisCluster",
    "RedisServer",
    "local_server",
    "redis_server_binary",
    "server_rss_bytes",
    "spawn_serving",
    "start_server_process",
    "stop_process",
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
    replies; with ``password`` clients must authenticate; ``extra`` are more
    ``redis-server`` arguments."""

    def __init__(
        self,
        directory: Path,
        *,
        aof: bool = False,
        password: str = "",
        extra: list[str] | None = None,
    ) -> None:
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
        self.extra = list(extra or [])
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
        args += self.extra
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


def spawn_serving(
    args: list[str],
    port_file: Path,
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.Popen[bytes]:
    """Start ``args``, a server that writes its port to ``port_file`` once it serves,
    its stderr into ``log_path``; returns once the port is written. ``env`` adds
    environment variables to this process's own."""
    port_file.unlink(missing_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, **(env or {})}
        )
    deadline = time.monotonic() + timeout
    while not (port_file.exists() and port_file.read_text()):
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the server did not start within {timeout:g} s")
        time.sleep(0.01)
    return proc


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGTERM, then SIGKILL if ``proc`` has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_server_process(
    data_dir: Path,
    port_file: Path,
    *,
    log_file: Path | None = None,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``wiretrace serve`` on a free loopback port; returns once it serves.
    ``env`` adds environment variables to this process's own."""
    args = [sys.executable, "-m", "wiretrace.cli", "serve", "--address", "127.0.0.1:0"]
    args += ["--data-dir", str(data_dir), "--port-file", str(port_file), *(extra or [])]
    log_path = log_file or port_file.with_suffix(".log")
    return spawn_serving(args, port_file, log_path=log_path, env=env)


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
            stop_process(proc)


def server_rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used so far (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of stat(5); the split starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RedisCluster:
    """A Redis Cluster on loopback: ``masters`` primaries with ``replicas`` replicas
    each, every node a ``RedisServer`` (``--cluster-enabled yes``) in a directory of
    its own under ``directory``, joined by ``redis-cli --cluster create``. Nodes can be
    SIGKILLed and restarted (a failover), and masters added (a resharding)."""

    def __init__(
        self,
        directory: Path,
        *,
        masters: int = 3,
        replicas: int = 1,
        node_timeout_ms: int = 1500,
    ) -> None:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise FileNotFoundError("redis-cli is not installed: `apt-get install -y redis-server`")
        self.cli = cli
        self.directory = directory
        self.node_timeout_ms = node_timeout_ms
        self.nodes: list[RedisServer] = []
        try:
            for _ in range(masters * (1 + replicas)):
                self.nodes.append(self._node())
            if len(self.nodes) == 1:  # redis-cli creates clusters of 3 or more primaries
                with self.nodes[0].client() as c:
                    c.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            else:
                self._cli(
                    "--cluster", "create", *(self.address(n) for n in self.nodes),
                    "--cluster-replicas", str(replicas), "--cluster-yes",
                )  # fmt: skip
            self.wait_ok()
        except BaseException:
            self.stop()
            raise

    def _node(self) -> RedisServer:
        directory = self.directory / f"node{len(self.nodes)}"
        return RedisServer(
            directory,
            extra=[
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(directory / "nodes.conf"),
                "--cluster-node-timeout", str(self.node_timeout_ms),
                "--appendonly", "no",
            ],
        )  # fmt: skip

    @staticmethod
    def address(node: RedisServer) -> str:
        return f"127.0.0.1:{node.port}"

    @property
    def url(self) -> str:
        """The store URL, naming every node started with the cluster."""
        return "redis+cluster://" + ",".join(self.address(n) for n in self.nodes) + "/"

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def alive(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process is not None]

    def masters(self) -> list[RedisServer]:
        """The live nodes that are primaries now (by their own INFO)."""
        return [node for node in self.alive() if self._is_primary(node)]

    def wait_ok(self, seconds: float = 60) -> None:
        """Until every live node reports ``cluster_state:ok``, knows every live node,
        and every slot is served."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                if all(self._ok(n) for n in self.alive()):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis cluster did not reach cluster_state:ok")
            time.sleep(0.1)

    def _ok(self, node: RedisServer) -> bool:
        with node.client() as c:
            info = c.execute_command("CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
        return (
            fields.get("cluster_state") == "ok"
            and fields.get("cluster_slots_ok") == "16384"
            and int(fields.get("cluster_known_nodes", 0)) >= len(self.alive())
        )

    def fail_over(self, victim: RedisServer, seconds: float = 60) -> None:
        """SIGKILL the primary ``victim``; return once one of its replicas has taken
        over and the cluster is ok again (the victim stays down: ``restart`` it)."""
        with victim.client() as c:
            info = c.info("replication")
        ports = {int(v["port"]) for k, v in info.items() if k.startswith("slave")}
        heirs = [n for n in self.nodes if n.port in ports]
        if not heirs:
            raise RuntimeError(f"primary {self.address(victim)} has no replica to take over")
        victim.kill()
        deadline = time.monotonic() + seconds
        while not any(self._is_primary(n) for n in heirs):
            if time.monotonic() > deadline:
                raise RuntimeError("no replica took over from the killed primary")
            time.sleep(0.05)
        self.wait_ok(seconds)

    @staticmethod
    def _is_primary(node: RedisServer) -> bool:
        try:
            with node.client() as c:
                return bool(c.info("replication")["role"] == "master")
        except redis.RedisError:
            return False

    def flushall(self) -> None:
        for node in self.masters():
            with node.client() as c:
                c.flushall()

    def add_master(self) -> RedisServer:
        """A new, empty primary joined to the cluster (it serves no slot yet)."""
        node = self._node()
        self.nodes.append(node)
        self._cli("--cluster", "add-node", self.address(node), self.address(self.masters()[0]))
        self.wait_ok()
        return node

    def rebalance(self) -> None:
        """Move slots until every primary serves its share (empty ones included)."""
        self._cli(
            "--cluster", "rebalance", self.address(self.masters()[0]),
            "--cluster-use-empty-masters", "--cluster-yes",
        )  # fmt: skip

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
