"""The seed articles through the service, ingested in order 000, 003, 004."""

from __future__ import annotations

from wiretrace_client import article, pb

from .helpers import Running


def _spans(
    text: str, source: str, result: pb.IngestResult, source_id: str
) -> list[tuple[str, str]]:
    return [
        (text[m.span.start : m.span.end], source[m.source_span.start : m.source_span.end])
        for m in result.matches
        if m.source_id == source_id
    ]


def test_seed_articles_in_ingest_order(running: Running, seeds: dict[str, str]) -> None:
    c = running.client
    c.ingest(article("000", seeds["000"], outlet="A"))
    r003 = c.ingest(article("003", seeds["003"], outlet="B"))
    pairs = _spans(seeds["003"], seeds["000"], r003, "000")
    assert any("retaliatory measures where and when it sees fit" in a for a, _ in pairs)
    assert any("liberate its own territories" in a and "so-called" in b for a, b in pairs)
    assert any("planned terrorist" in a and "Victory Day" in b for a, b in pairs)

    r004 = c.ingest(article("004", seeds["004"], outlet="C"))
    repeats = _spans(seeds["004"], seeds["004"], r004, "004")
    assert any("revenge" in a and "Sheremet" in b for a, b in repeats)
    for source in ("000", "003"):
        pairs = _spans(seeds["004"], seeds[source], r004, source)
        assert any("planned terrorist" in a and "Victory Day" in b for a, b in pairs), source
    assert r004.source_count >= 2
