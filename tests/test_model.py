"""A stateful test: random sequences of Ingest, replace, Delete, Get and Query, checked
after every step against a model of the store (a dict of id -> text)."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import grpc
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from wiretrace_client import pb

from .helpers import Running, _sentence

IDS = st.sampled_from(["a", "b", "c", "d/e", "f\x00g"])
_RNG = random.Random(77)
#: A few texts, some sharing a paragraph, so that Query has something to find.
_SHARED = " ".join(_sentence(_RNG) for _ in range(3))
TEXTS = [f"{' '.join(_sentence(_RNG) for _ in range(2))}\n{_SHARED}" for _ in range(3)]
TEXTS += [" ".join(_sentence(_RNG) for _ in range(4)) for _ in range(2)]


class StoreModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self.running = Running(Path(self._tmp.name) / "data")
        self.model: dict[str, str] = {}

    def teardown(self) -> None:
        self.running.stop()
        self._tmp.cleanup()

    def _code(self, call: object) -> grpc.StatusCode | None:
        try:
            call()  # type: ignore[operator]
        except grpc.RpcError as err:
            code: grpc.StatusCode = err.code()
            return code
        return None

    @rule(article_id=IDS, text=st.sampled_from(TEXTS))
    def ingest(self, article_id: str, text: str) -> None:
        stored = self.model.get(article_id)
        if stored is not None and stored != text:
            code = self._code(lambda: self.running.client.ingest(article_id, text))
            assert code == grpc.StatusCode.ALREADY_EXISTS
            return
        result = self.running.client.ingest(article_id, text)
        assert result.created == (stored is None)
        self.model[article_id] = text

    @rule(article_id=IDS, text=st.sampled_from(TEXTS))
    def replace(self, article_id: str, text: str) -> None:
        result = self.running.client.ingest(pb.Article(id=article_id, text=text), replace=True)
        assert result.created == (self.model.get(article_id) != text)
        self.model[article_id] = text

    @rule(article_id=IDS)
    def delete(self, article_id: str) -> None:
        code = self._code(lambda: self.running.client.delete(article_id))
        assert code == (None if article_id in self.model else grpc.StatusCode.NOT_FOUND)
        self.model.pop(article_id, None)

    @rule(article_id=IDS)
    def get(self, article_id: str) -> None:
        if article_id in self.model:
            assert self.running.client.get(article_id).text == self.model[article_id]
        else:
            code = self._code(lambda: self.running.client.get(article_id))
            assert code == grpc.StatusCode.NOT_FOUND

    @rule(text=st.sampled_from(TEXTS))
    def query(self, text: str) -> None:
        sources = {m.source_id for m in self.running.client.query(text).matches}
        # Every source is a stored article; a stored copy of the shared paragraph is found.
        assert sources <= set(self.model)
        if _SHARED in text:
            holders = {k for k, v in self.model.items() if _SHARED in v}
            assert holders <= sources

    @invariant()
    def counts_agree(self) -> None:
        assert self.running.client.stats().articles == len(self.model)


StoreModel.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
test_the_store_behaves_as_its_model = StoreModel.TestCase
