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
    # Issue 11: the short quote 000 and 004 share, each in its own marks, is reported
    # with the words inside the marks as its spans on both sides.
    quote = "a large-scale terrorist attack"
    start, source_start = seeds["004"].index(quote), seeds["000"].index(quote)
    quotes = [
        (m.span.start, m.span.end, m.source_span.start, m.source_span.end)
        for m in r004.matches
        if m.source_id == "000" and m.kind == pb.QUOTE
    ]
    assert quotes == [(start, start + len(quote), source_start, source_start + len(quote))]


def test_a_source_sharing_only_a_short_quote_is_found(running: Running) -> None:
    # Two reports of one speech in different words and marks: only the quote is shared.
    c = running.client
    # Each quote sits in a long sentence of the outlet's own words, so that no unit
    # of one article looks like a unit of the other: only the indexed quote can
    # make the wire a candidate.
    wire = (
        "The prime minister visited the flooded district on Sunday and met families "
        "who had lost their homes. Speaking to several hundred residents, shopkeepers "
        "and firefighters gathered in the rain outside the damaged municipal library, "
        "he promised: «Nous reconstruirons chaque école avant l'hiver». Volunteers "
        "served meals in the sports hall."
    )
    daily = (
        "Crowds waited for hours outside the town hall as the motorcade arrived late in "
        "the afternoon. “Nous reconstruirons chaque école avant l'hiver,” the visibly "
        "tired leader told journalists travelling with his delegation, before his "
        "helicopter left for the capital late that evening."
    )
    c.ingest(article("wire-1", wire, outlet="Wire"))
    result = c.ingest(article("daily-1", daily, outlet="Daily"))
    quote = "Nous reconstruirons chaque école avant l'hiver"
    found = [
        (daily[m.span.start : m.span.end], wire[m.source_span.start : m.source_span.end])
        for m in result.matches
        if m.source_id == "wire-1" and m.kind == pb.QUOTE
    ]
    assert found == [(quote, quote)]
