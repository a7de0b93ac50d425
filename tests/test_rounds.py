"""The ingest threads' rounds (``server/rounds.py``) and a round in the domain
(``ReuseService.ingest_round``): what each round takes, and what its articles find."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from wiretrace.domain import Article, DetectOptions, Ingest, ReuseService, ServiceSettings
from wiretrace.errors import Conflict, InvalidInput
from wiretrace.server.rounds import Rounds
from wiretrace.store.sqlite import SqliteStore

from .helpers import news


def test_a_thread_takes_the_items_waiting_first_come_first_and_at_most_most() -> None:
    rounds_seen: list[list[int]] = []
    first_taken, go_on, all_run = threading.Event(), threading.Event(), threading.Event()

    def run(items: list[int]) -> None:
        rounds_seen.append(items)
        if items == [0]:
            first_taken.set()
            go_on.wait(10)
        if sum(len(r) for r in rounds_seen) == 8:
            all_run.set()

    rounds = Rounds(run, 1, most=3, name="t")
    try:
        rounds.submit(0)
        assert first_taken.wait(10)
        for i in range(1, 8):  # they wait while the only thread runs the first round
            rounds.submit(i)
        go_on.set()
        assert all_run.wait(10)
    finally:
        rounds.shutdown()
    assert rounds_seen == [[0], [1, 2, 3], [4, 5, 6], [7]]


def test_a_round_that_raises_is_logged_and_the_threads_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    done = threading.Event()

    def run(items: list[str]) -> None:
        if items == ["bad"]:
            raise RuntimeError("a bug in a round")
        done.set()

    rounds = Rounds(run, 1, most=1, name="t")
    try:
        with caplog.at_level(logging.ERROR, logger="wiretrace.server"):
            rounds.submit("bad")
            rounds.submit("good")
            assert done.wait(10)
        assert "an ingest round failed" in caplog.text
    finally:
        rounds.shutdown(wait=True)
    assert not any(t.is_alive() for t in rounds._threads)
    with pytest.raises(RuntimeError, match="shut down"):
        rounds.submit("late")


def test_rounds_refuse_no_thread_or_an_empty_round() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        Rounds(lambda items: None, 0, most=4, name="t")
    with pytest.raises(ValueError, match=">= 1"):
        Rounds(lambda items: None, 1, most=0, name="t")


def test_the_articles_of_a_round_find_the_stored_ones_but_not_each_other(
    tmp_path: Path,
) -> None:
    settings = ServiceSettings()
    service = ReuseService(settings, SqliteStore(tmp_path / "r.db", settings.index))
    try:
        story = news(1, seed=5)[0]

        def art(i: int, text: str) -> Article:
            return Article(f"{story.id}-{i}", f"outlet-{i}", "", None, "", text)

        opts = DetectOptions()
        together = [Ingest(art(0, story.text), opts), Ingest(art(1, story.text), opts)]
        first, copy = (f.result(timeout=30) for f in service.ingest_round(together))
        # Detected together: neither is the other's source (nor was it stored yet).
        assert first.created
        assert copy.created
        assert not first.detection.sources
        assert not copy.detection.sources
        # A later round finds both, each as a source of its own.
        (later,) = service.ingest_round([Ingest(art(2, story.text), opts)])
        found = {s.source_id for s in later.result(timeout=30).detection.sources}
        assert found == {f"{story.id}-0", f"{story.id}-1"}
        # Each article of a round is settled on its own: a bad one, a conflicting one
        # and a good one.
        bad = Article("", "o", "", None, "", story.text)
        clash = art(0, story.text + " Changed.")
        good = art(3, story.text)
        outcomes = service.ingest_round(
            [Ingest(bad, opts), Ingest(clash, opts), Ingest(good, opts)]
        )
        with pytest.raises(InvalidInput):
            outcomes[0].result(timeout=30)
        with pytest.raises(Conflict):
            outcomes[1].result(timeout=30)
        assert outcomes[2].result(timeout=30).created
        assert service.store.count() == 4
    finally:
        service.close()
