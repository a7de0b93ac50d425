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

__all__ = ["SHAPES", "shape_text"]

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
