from __future__ import annotations

import pytest

from wiretrace.engine.tokenize import tokenize


def _pairs(text: str) -> list[tuple[str, str]]:
    t = tokenize(text)
    return [(w, text[s:e]) for w, s, e in zip(t.words, t.starts, t.ends, strict=True)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("The Kremlin said", ["the", "kremlin", "said"]),
        ("Кремль заявил о теракте", ["кремль", "заявил", "о", "теракте"]),
        ("Η Βουλή ψήφισε", ["η", "βουλή", "ψήφισε"]),
        ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),
        ("Putin’s drones", ["putin's", "drones"]),
    ],
)
def test_spaced_scripts_give_words(text: str, words: list[str]) -> None:
    assert tokenize(text).words == words


def test_unspaced_scripts_give_character_bigrams() -> None:
    assert tokenize("克里姆林宫").words == ["克里", "里姆", "姆林", "林宫"]
    assert tokenize("ข่าวด่วน").words[:2] == ["ข่", "่า"]


def test_mixed_scripts_keep_every_token_and_offset() -> None:
    text = "Путин (Putin) 普京 said."
    pairs = _pairs(text)
    assert pairs == [("путин", "Путин"), ("putin", "Putin"), ("普京", "普京"), ("said", "said")]


def test_sentence_ends_are_recorded() -> None:
    t = tokenize("One two. Three four! 五六。七")
    assert t.sentence_ends == [2, 4, 5]
