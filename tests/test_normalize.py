from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wiretrace.engine.normalize import normalize
from wiretrace.engine.tokenize import tokenize


def _slice(text: str, start: int, end: int) -> str:
    n = normalize(text)
    s, e = n.to_original([start], [end])
    return text[int(s[0]) : int(e[0])]


def test_folds_case_quotes_dashes_and_whitespace() -> None:
    n = normalize("Ça  “Va”\t—\n\nOK")
    assert n.text == 'ça "va" - ok'


def test_nfkc_and_casefold_expansions_map_back_to_whole_characters() -> None:
    text = "ﬁnance Straße ＡＢＣ"
    n = normalize(text)
    assert n.text == "finance strasse abc"
    # "fi" comes from one ligature: both halves map to it.
    assert _slice(text, 0, 7) == "ﬁnance"
    assert _slice(text, 8, 15) == "Straße"
    assert _slice(text, 16, 19) == "ＡＢＣ"


def test_combining_marks_compose() -> None:
    decomposed = "cafe\u0301 au lait"
    n = normalize(decomposed)
    assert n.text.startswith("café")
    assert _slice(decomposed, 0, 4) == "cafe\u0301"


def test_offsets_are_code_points_not_bytes_or_utf16() -> None:
    text = "😀 emoji then word"
    tokens = tokenize(text)
    k = tokens.words.index("word")
    assert text[tokens.starts[k] : tokens.ends[k]] == "word"
    assert tokens.starts[k] == len("😀 emoji then ")


@given(st.text(max_size=300))
def test_every_token_slices_back_to_its_original_text(text: str) -> None:
    tokens = tokenize(text)
    for word, start, end in zip(tokens.words, tokens.starts, tokens.ends, strict=True):
        assert 0 <= start < end <= len(text)
        assert normalize(text[start:end]).text.replace(" ", "") != "" or word == ""


@pytest.mark.parametrize("text", ["", " ", "\n\n", "..."])
def test_empty_and_blank_texts(text: str) -> None:
    assert tokenize(text).words == []


@given(st.text(alphabet=st.sampled_from(list("abC É’—\n\t  .,ßxΣ")), max_size=120))
def test_fast_path_agrees_with_chunk_by_chunk_reference(text: str) -> None:
    from wiretrace.engine.normalize import _normalize_by_chunk

    fast, slow = normalize(text), _normalize_by_chunk(text)
    assert fast.text == slow.text
    n = len(fast.text)
    starts = [s for s in range(n) for _ in range(s, n)]
    ends = [e for s in range(n) for e in range(s + 1, n + 1)]
    for got, want in zip(
        fast.to_original(starts, ends), slow.to_original(starts, ends), strict=True
    ):
        assert got.tolist() == want.tolist()
