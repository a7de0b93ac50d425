"""Commands to many Redis Cluster primaries at once: one pipeline per primary, sent
to all before any reply is read, with the redirections a cluster answers while it
fails over or reshards handled here, in one place.

redis-py's ``RedisCluster`` keeps the topology (which primary serves which slot) and
the connection pools; this module routes by it. A reply that says the topology
changed (``MOVED``, a refused connection, ``CLUSTERDOWN``) refreshes it and the
command goes again; ``ASK`` sends it once to the importing node after ``ASKING``;
``TRYAGAIN`` (a slot half moved) waits and goes again; all until a deadline, after
which the caller gets ``Unavailable``. ``WAIT`` after a node's commands, on the same
connection, makes an acknowledged write a replicated one.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import redis
import redis.exceptions as rx
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import Connection

from wiretrace.errors import Unavailable
from wiretrace.store.resp import read_replies_from
from wiretrace.store.slots import SLOTS

__all__ = ["Call", "Router", "pack"]

# Replies that mean: the cluster is changing; the same command may succeed soon.
_TRANSIENT = (
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,  # a reset connection, read straight from the socket
    rx.ClusterDownError,
    rx.TryAgainError,
    rx.ReadOnlyError,  # a demoted primary, before the topology says so
)


_PACKER = Connection()  # type: ignore[no-untyped-call]  # packs RESP; never connects


def pack(commands: Sequence[Sequence[Any]]) -> list[bytes]:
    """Commands as RESP, in as few buffers as redis-py makes of them."""
    packed: list[bytes] = _PACKER.pack_commands(commands)  # type: ignore[no-untyped-call]
    return packed


@dataclass(slots=True)
class Call:
    """One command for the primary of ``slot`` (or, when ``node`` is set, for that
    node), and its reply once answered (an exception instance when it failed)."""

    slot: int
    args: Sequence[Any]
    node: str = ""
    reply: Any = None
    done: bool = False
    asking: str = field(default="", repr=False)  # the node an ASK pointed to


class Router:
    """Which primary serves each slot, and pipelines to them. Thread-safe: the
    topology is swapped whole on refresh; connections come from redis-py's pools."""

    def __init__(
        self, rc: RedisCluster, *, retry_seconds: float, wait_replicas: int, wait_ms: int
    ) -> None:
        self.rc = rc
        self.retry_seconds = retry_seconds
        self.wait_replicas = wait_replicas
        self.wait_ms = wait_ms
        self._lock = threading.Lock()
        self._scripts: dict[str, str] = {}  # sha -> body, loaded again where missing
        self._view: tuple[list[ClusterNode], npt.NDArray[np.int16]] = self._read_view()

    # -- topology -------------------------------------------------------------------

    def _read_view(self) -> tuple[list[ClusterNode], npt.NDArray[np.int16]]:
        cache = self.rc.nodes_manager.slots_cache
        primaries = sorted({nodes[0].name: nodes[0] for nodes in cache.values()}.items())
        index = {name: k for k, (name, _) in enumerate(primaries)}
        table = np.full(SLOTS, -1, dtype=np.int16)
        for slot, nodes in cache.items():
            table[slot] = index[nodes[0].name]
        return [node for _, node in primaries], table

    def refresh(self) -> None:
        """Ask the cluster for its topology again (after a redirection or failure)."""
        with self._lock:
            try:
                self.rc.nodes_manager.initialize()
            except (redis.RedisError, rx.RedisClusterException):
                return  # no node answered; the caller's retry loop tries again later
            self._view = self._read_view()

    def primaries(self) -> list[ClusterNode]:
        return list(self._view[0])

    def nodes_of(self, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.int16]:
        """The index (into ``primaries()`` of the same view) of each slot's primary;
        -1 where no primary serves it."""
        return self._view[1][slots]

    def view(self) -> tuple[list[ClusterNode], npt.NDArray[np.int16]]:
        return self._view

    def node_named(self, name: str) -> ClusterNode | None:
        node = self.rc.nodes_manager.nodes_cache.get(name)
        if node is None:
            self.refresh()
            node = self.rc.nodes_manager.nodes_cache.get(name)
        return node

    # -- scripts --------------------------------------------------------------------

    def script(self, body: str) -> str:
        """Register a Lua script; its SHA1, for ``EVALSHA`` (loaded on demand)."""
        sha = hashlib.sha1(body.encode()).hexdigest()
        self._scripts[sha] = body
        return sha

    def load(self, name: str) -> None:
        """Load every registered script on the node ``name`` (a node that restarted,
        or a replica promoted, has none)."""
        node = self.node_named(name)
        if node is None:
            return
        client = self.rc.get_redis_connection(node)
        for body in self._scripts.values():
            client.script_load(body)

    # -- one round: every node's commands sent, then every reply read ---------------

    def exchange(
        self, batches: dict[str, list[bytes]], counts: dict[str, int], *, wait: bool = False
    ) -> dict[str, list[Any]]:
        """Send each node (by name) its packed commands (``counts[name]`` of them) on
        one connection, all nodes before any reply is read, then read the replies as
        they arrive; the replies by node, an exception instance in place of each that
        failed. With ``wait``, a ``WAIT``
        follows each node's commands; its reply is the last of the node's replies."""
        sent: dict[str, tuple[redis.Redis, Connection]] = {}
        out: dict[str, list[Any]] = {}
        for name, packed in batches.items():
            node = self.rc.nodes_manager.nodes_cache.get(name)
            if node is None or node.redis_connection is None:
                out[name] = [rx.ConnectionError(f"unknown node {name}")] * counts[name]
                continue
            client = node.redis_connection
            conn = client.connection_pool.get_connection()
            try:
                extra = conn.pack_command("WAIT", self.wait_replicas, self.wait_ms) if wait else []
                conn.send_packed_command([*packed, *extra])
                sent[name] = (client, conn)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as err:
                conn.disconnect()
                client.connection_pool.release(conn)
                out[name] = [err] * (counts[name] + wait)
        conns = {name: conn for name, (_, conn) in sent.items()}
        expect = {name: counts[name] + wait for name in sent}
        timeout = max((c.socket_timeout or 0.0 for c in conns.values()), default=0.0) or None
        replies: dict[str, list[Any] | Exception] = {}
        try:
            replies = read_replies_from(conns, expect, timeout=timeout)
        finally:
            for name, (client, conn) in sent.items():
                if not isinstance(replies.get(name), list):  # failed, or never read
                    conn.disconnect()  # type: ignore[no-untyped-call]
                client.connection_pool.release(conn)
        for name, got in replies.items():
            out[name] = [got] * expect[name] if isinstance(got, Exception) else got
        return out

    def check_wait(self, name: str, reply: Any) -> None:
        """Raise ``Unavailable`` unless a ``WAIT`` reply counts enough replicas."""
        if isinstance(reply, Exception) or int(reply) < self.wait_replicas:
            raise Unavailable(
                f"written on {name}, but acknowledged by {reply} of the "
                f"{self.wait_replicas} replicas asked for within {self.wait_ms} ms"
            )

    # -- many single-slot commands, until each is answered --------------------------

    def run(
        self, calls: list[Call], *, wait: bool = False, patience: float | None = None
    ) -> list[Any]:
        """Each call's reply, following redirections until ``patience`` seconds
        (``retry_seconds`` by default) pass; ``Unavailable`` then. Error replies other
        than redirections are raised."""
        deadline = time.monotonic() + (self.retry_seconds if patience is None else patience)
        pause = 0.01
        while True:
            todo = [c for c in calls if not c.done]
            if not todo:
                return [c.reply for c in calls]
            last = self._round(todo, wait=wait)
            if all(c.done for c in calls):
                return [c.reply for c in calls]
            if time.monotonic() > deadline:
                raise Unavailable(f"the Redis cluster did not answer in time: {last}")
            time.sleep(pause)
            pause = min(0.25, pause * 2)

    def _round(self, todo: list[Call], *, wait: bool) -> BaseException | None:
        """Send ``todo`` once; mark the answered ones done. The last transient error."""
        nodes, table = self._view
        grouped: dict[str, list[Call]] = {}
        last: BaseException | None = None
        for call in todo:
            if call.asking or call.node:
                name = call.asking or call.node
            else:
                at = int(table[call.slot])
                if at < 0:
                    last = rx.ClusterDownError(f"slot {call.slot} is not served")
                    continue
                name = nodes[at].name
            grouped.setdefault(name, []).append(call)
        batches: dict[str, list[bytes]] = {}
        counts: dict[str, int] = {}
        for name, group in grouped.items():
            commands: list[Sequence[Any]] = []
            for call in group:
                if call.asking:
                    commands.append(("ASKING",))
                commands.append(call.args)
            batches[name] = pack(commands)
            counts[name] = len(commands)
        replies = self.exchange(batches, counts, wait=wait)
        refresh = last is not None
        for name, group in grouped.items():
            answers = iter(replies[name])
            for call in group:
                if call.asking:
                    next(answers)  # ASKING's own +OK (or the same error again)
                    call.asking = ""
                reply = next(answers)
                if isinstance(reply, rx.MovedError):
                    refresh, last = True, reply
                elif isinstance(reply, rx.AskError):
                    call.asking = f"{reply.host}:{reply.port}"
                    if self.node_named(call.asking) is None:
                        call.asking = ""
                    last = reply
                elif isinstance(reply, rx.NoScriptError):
                    self.load(name)
                    last = reply
                elif isinstance(reply, _TRANSIENT):
                    refresh = refresh or not isinstance(reply, rx.TryAgainError)
                    last = reply
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    call.reply, call.done = reply, True
            if wait and any(c.done for c in group):
                self.check_wait(name, replies[name][-1])
        if refresh:
            self.refresh()
        return last
