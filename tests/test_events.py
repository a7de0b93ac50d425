"""The hard synthetic cases of issue 11 (``wiretrace_bench.events``): every ground-truth
span slices back to really shared text, and same-event articles share entities but no
wording."""

from __future__ import annotations

import itertools

import pytest

from wiretrace_bench.events import QUOTE_MARKS, cover_events, generate_hard
from wiretrace_bench.ngrams import words
from wiretrace_bench.synthetic import Case, SyntheticArticle, generate

_OPENING = dict(QUOTE_MARKS)


def _hard(seed: int) -> tuple[dict[str, SyntheticArticle], list[Case], list[set[str]]]:
    articles, cases = generate(40, seed=seed)
    events = cover_events(articles, cases, 6, seed=seed)
    return {a.id: a for a in articles}, cases, [e.tokens() for e in events]


def _marks(text: str, start: int, end: int) -> tuple[str, str]:
    """The quotation marks right around ``text[start:end]`` (asserting they match)."""
    opening, closing = text[start - 1], text[end]
    assert _OPENING.get(opening) == closing, (opening, text[start:end], closing)
    return opening, closing


def test_the_base_corpus_is_unchanged_and_the_events_follow_it() -> None:
    base_articles, base_cases = generate(60, seed=3)
    articles, cases = generate_hard(60, seed=3, events=3)
    assert articles[:60] == base_articles
    assert cases[: len(base_cases)] == base_cases
    assert generate_hard(60, seed=3, events=3) == (articles, cases)
    assert all(a.event for a in articles[60:])
    assert [a.id for a in articles] == sorted(a.id for a in articles)
    assert {c.kind for c in cases[len(base_cases) :]} == {
        "short_quote",
        "brief",
        "reworded",
        "verbatim_in_reworded",
    }
    assert all(c.source < c.article for c in cases[len(base_cases) :])


@pytest.mark.parametrize("seed", [0, 7])
def test_short_quotes_are_the_same_words_inside_each_outlets_own_marks(seed: int) -> None:
    texts, cases, _ = _hard(seed)
    quotes = [c for c in cases if c.kind == "short_quote"]
    assert len(quotes) >= 6
    for c in quotes:
        mine = texts[c.article].text[c.start : c.end]
        theirs = texts[c.source].text[c.source_start : c.source_end]
        assert mine == theirs
        assert 5 <= len(words(mine)) <= 11
        assert _marks(texts[c.article].text, c.start, c.end) != _marks(
            texts[c.source].text, c.source_start, c.source_end
        )
        assert texts[c.article].event == texts[c.source].event


@pytest.mark.parametrize("seed", [0, 7])
def test_briefs_are_short_wire_articles_reprinted_whole(seed: int) -> None:
    texts, cases, _ = _hard(seed)
    briefs = [c for c in cases if c.kind == "brief"]
    assert len(briefs) >= 4
    for c in briefs:
        mine = texts[c.article].text[c.start : c.end]
        theirs = texts[c.source].text[c.source_start : c.source_end]
        a, b = words(mine), words(theirs)
        assert 25 <= len(b) <= 55
        # Verbatim, or near-verbatim: one word changed from the wire's (so two between
        # two changed reprints).
        assert len(a) == len(b)
        changed = sum(x != y for x, y in zip(a, b, strict=True))
        assert changed <= (1 if texts[c.source].outlet == "wire" else 2)
        reprint = texts[c.article].text
        assert len(words(reprint)) < 60 + 20  # the whole of a short article
        assert mine in reprint.split("\n")  # a whole paragraph of it
    wires = {c.source for c in briefs if texts[c.source].outlet == "wire"}
    assert wires
    for wire in wires:  # the wire's brief is its whole article
        held = next(c for c in briefs if c.source == wire)
        assert (held.source_start, held.source_end) == (0, len(texts[wire].text))


@pytest.mark.parametrize("seed", [0, 7])
def test_a_verbatim_quote_lies_inside_each_reworded_passage(seed: int) -> None:
    texts, cases, _ = _hard(seed)
    inner = [c for c in cases if c.kind == "verbatim_in_reworded"]
    assert len(inner) >= 6
    for c in inner:
        mine = texts[c.article].text[c.start : c.end]
        assert mine == texts[c.source].text[c.source_start : c.source_end]
        assert 12 <= len(words(mine)) <= 40
        _marks(texts[c.article].text, c.start, c.end)
        _marks(texts[c.source].text, c.source_start, c.source_end)
        outer = [
            o
            for o in cases
            if o.kind == "reworded" and (o.article, o.source) == (c.article, c.source)
        ]
        assert len(outer) == 1
        o = outer[0]
        assert o.start <= c.start < c.end <= o.end
        assert o.source_start <= c.source_start < c.source_end <= o.source_end
        a = set(words(texts[c.article].text[o.start : o.end]))
        b = set(words(texts[c.source].text[o.source_start : o.source_end]))
        assert len(a & b) / len(a | b) > 0.5  # reworded around the quote: most words shared
        assert (
            texts[c.article].text[o.start : o.end]
            != texts[c.source].text[o.source_start : o.source_end]
        )


def _runs_without(tokens: list[str], entity: set[str], n: int) -> set[tuple[str, ...]]:
    """The word ``n``-grams of ``tokens`` that hold no entity word."""
    grams: set[tuple[str, ...]] = set()
    run: list[str] = []
    for t in [*tokens, ""]:
        if t and t not in entity:
            run.append(t)
            continue
        grams |= {tuple(run[k : k + n]) for k in range(len(run) - n + 1)}
        run = []
    return grams


@pytest.mark.parametrize("seed", [0, 7])
def test_same_event_articles_share_entities_but_no_wording(seed: int) -> None:
    texts, cases, entities = _hard(seed)
    related = {(c.article, c.source) for c in cases}
    by_event: dict[str, list[SyntheticArticle]] = {}
    for a in texts.values():
        if a.event:
            by_event.setdefault(a.event, []).append(a)
    pairs = 0
    for (_, members), entity in zip(sorted(by_event.items()), entities, strict=True):
        for x, y in itertools.combinations(members, 2):
            if (y.id, x.id) in related:
                continue
            pairs += 1
            wx, wy = words(x.text), words(y.text)
            common = set(wx) & set(wy) & entity
            # Full articles name most of the event; a brief names two or three facts.
            assert len(common) >= (10 if min(len(wx), len(wy)) > 150 else 1), (x.id, y.id)
            assert not _runs_without(wx, entity, 5) & _runs_without(wy, entity, 5)
    assert pairs >= 30
