"""The worst text shapes we know, at a given length: what ``bench shapes`` times and
what the bounded-work tests feed the engine.

- ``sentence``: one sentence repeated (each copy would seed with every other);
- ``word``: one word repeated, no sentence end (identical run-on windows);
- ``article``: one generated article of ~1/32 of the length, repeated 32 times;
- ``mixed``: Latin, Cyrillic, Greek, Arabic, Han, kana, Thai and emoji words from
  their own pseudo-vocabularies, every script's tokeniser at once;
- ``salad``: a 60-word vocabulary shuffled into sentences: no copy repeats, yet every
  sentence looks like every other, which only the bounds stop.
"""

from __future__ import annotations

import random

from wiretrace_bench.synthetic import generate

__all__ = ["SHAPES", "bench_shapes", "shape_text", "shapes_table"]

SENTENCE = "The minister said on Tuesday that the new rail line would open next spring. "

_SCRIPTS = [
    "bdfgklmnprstvz|aeiou",
    "бвгдклмнпрст|аеиоу",
    "βγδκλμνπρστ|αεοιυ",
    "بتثجحدرسشع|اوي",
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "あいうえおかきくけこさしすせそたちつてとなにぬねの",
    "กขคงจฉชซญดตถทนบปผพฟภมยรลวศสหอ|ะาิีึืุู",
    "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉",
]


def _repeat(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def _article(length: int) -> str:
    text = ""
    for a in generate(60, seed=11)[0]:
        text += a.text + "\n\n"
        if len(text) >= length:
            break
    return text[:length]


def _word(rng: random.Random, script: str) -> str:
    if "|" not in script:  # unspaced scripts: a run of characters
        return "".join(rng.choice(script) for _ in range(rng.randint(2, 6)))
    cons, vows = script.split("|")
    return "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(1, 4)))


def _mixed(length: int) -> str:
    rng = random.Random(7)
    vocab = {s: [_word(rng, s) for _ in range(3000)] for s in _SCRIPTS}
    parts: list[str] = []
    size = 0
    while size < length:
        script = rng.choice(_SCRIPTS)
        sentence = " ".join(rng.choice(vocab[script]) for _ in range(rng.randint(6, 20))) + ". "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)[:length]


def _salad(length: int) -> str:
    rng = random.Random(3)
    vocab = [_word(rng, _SCRIPTS[0]) for _ in range(60)]
    parts: list[str] = []
    size = 0
    while size < length:
        sentence = " ".join(rng.sample(vocab, 12)).capitalize() + ". "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)[:length]


SHAPES = ("sentence", "word", "article", "mixed", "salad")


def shape_text(name: str, length: int) -> str:
    """The shape ``name`` cut to ``length`` code points."""
    if name == "sentence":
        return _repeat(SENTENCE, length)
    if name == "word":
        return _repeat("Lorem ", length)
    if name == "article":
        return _repeat(_article(max(1, length // 32)), length)
    if name == "mixed":
        return _mixed(length)
    if name == "salad":
        return _salad(length)
    raise ValueError(f"unknown shape {name!r}: pick one of {', '.join(SHAPES)}")


def bench_shapes(length: int, *, address: str | None, repeats: int = 1) -> list[dict[str, object]]:
    """Each shape through the engine (the text with itself, i.e. its repeats, and with a
    second copy, i.e. two articles) and, given a server, through the Compare RPC: the
    best of ``repeats`` wall times in seconds, matches, work counters and bounds hit."""
    import time

    from wiretrace import Detector
    from wiretrace.engine.work import Work

    detector = Detector()
    client = None
    if address is not None:
        from wiretrace.server.config import min_message_bytes
        from wiretrace_client import Client

        client = Client(address, timeout=600, max_message_bytes=min_message_bytes(length))
    rows: list[dict[str, object]] = []
    try:
        for name in SHAPES:
            text = shape_text(name, length)
            for mode, other in (("repeats", text), ("two copies", text[:-1])):
                best, work, found = float("inf"), Work(), 0
                for _ in range(repeats):
                    w = Work()
                    t0 = time.perf_counter()
                    found = len(detector.compare(text, other, work=w))
                    best, work = min(best, time.perf_counter() - t0), w
                row: dict[str, object] = {
                    "shape": name,
                    "mode": mode,
                    "chars": len(text),
                    "engine_s": round(best, 3),
                    "matches": found,
                    **work.counters(),
                    "limited": sorted(work.limited),
                }
                if client is not None:
                    rpc = float("inf")
                    for _ in range(repeats):
                        t0 = time.perf_counter()
                        client.compare(text, other)
                        rpc = min(rpc, time.perf_counter() - t0)
                    row["rpc_s"] = round(rpc, 3)
                rows.append(row)
    finally:
        if client is not None:
            client.close()
    return rows


def shapes_table(rows: list[dict[str, object]]) -> str:
    cols = ["shape", "mode", "chars", "engine_s", "rpc_s", "matches", "units",
            "collapsed_units", "seed_pairs", "extend_pairs", "passages", "align_cells",
            "limited"]  # fmt: skip
    cols = [c for c in cols if any(c in r for r in rows)]
    cells = [[str(r.get(c, "")) if c != "limited" else ",".join(r[c]) or "-"  # type: ignore[arg-type]
              for c in cols] for r in rows]  # fmt: skip
    widths = [max(len(c), *(len(row[k]) for row in cells)) for k, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
