"""Retention: articles published before the window leave the store and the index, on
both backends."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from wiretrace_client import article

from .helpers import Running, news


def _now_iso(days_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def test_expire_removes_old_articles_from_store_and_index(tmp_path: Path, store_url: str) -> None:
    # A long sweep period: the sweeper's first pass runs at start, the test drives the rest.
    r = Running(tmp_path / "data", store=store_url, retention_days=30, sweep_seconds=3600)
    try:
        c = r.client
        base = news(3, seed=6)
        old = article("old", base[0].text, published_at=_now_iso(days_ago=45))
        fresh = article("fresh", base[1].text, published_at=_now_iso(days_ago=2))
        undated = article("undated", base[2].text)
        for a in (old, fresh, undated):
            assert c.ingest(a).created
        before = c.stats()
        assert {m.source_id for m in c.query(old.text).matches} == {"old"}
        assert r.service.expire() == 1
        assert r.service.expire() == 0
        after = c.stats()
        assert after.articles == 2
        assert 0 < after.passages < before.passages
        with pytest.raises(grpc.RpcError) as info:
            c.get("old")
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert not c.query(old.text).matches  # its passages left the index too
        assert c.get("fresh").text == fresh.text
        assert c.get("undated").text == undated.text  # no publication time: kept
        # Later, the fresh one ages out as well.
        ten_weeks = int(70 * 86400 * 1e9)
        assert r.service.expire(now_ns=time.time_ns() + ten_weeks) == 1
        assert c.stats().articles == 1
    finally:
        r.stop()


def test_the_sweeper_expires_in_the_background(tmp_path: Path, store_url: str) -> None:
    r = Running(tmp_path / "data", store=store_url, retention_days=30, sweep_seconds=0.05)
    try:
        c = r.client
        (doc,) = news(1, seed=12)
        assert c.ingest(doc).created  # published in May 2024: past the window
        deadline = time.monotonic() + 20
        while c.stats().articles and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.stats().articles == 0
        assert c.stats().passages == 0
    finally:
        r.stop()
