"""A seeded generator of news-like articles with reuse injected at known spans.

Words are drawn from a Zipf-like distribution over English function words (the frequent
ranks, as in real news) and pseudo-words (so that some are frequent,
like real vocabulary), sentences are 8-24 words, articles about 3,000 characters in
paragraphs. Reuse is injected into later articles from earlier ones:

- ``verbatim``: a paragraph, or a run of its sentences, copied as is;
- ``reworded``: the same with words substituted, deleted and inserted, and
  neighbouring words swapped;
- ``quote``: one sentence shared by several outlets;
- ``repeat``: a paragraph repeated, reworded, inside the same article.

Copied passages land as paragraphs of their own or between sentences of the new
article's own.

Each injection is recorded as a ``Case`` with character spans on both sides, so the
same corpus can be scored like PAN.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Case", "SyntheticArticle", "Writer", "generate", "vocabulary", "write_corpus"]

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


@dataclass(frozen=True, slots=True)
class Case:
    """Text ``article[start:end]`` reuses ``source[source_start:source_end]``."""

    article: str
    start: int
    end: int
    source: str
    source_start: int
    source_end: int
    kind: str


@dataclass(frozen=True, slots=True)
class SyntheticArticle:
    id: str
    outlet: str
    text: str
    #: The news event an article covers (``wiretrace_bench.events``); "" for none.
    #: Articles on one event share names, places, numbers and dates.
    event: str = ""


#: The most frequent words of real news are function words; they head the ranking.
_FUNCTION_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "that",
    "is",
    "for",
    "on",
    "it",
    "with",
    "as",
    "was",
    "he",
    "said",
    "at",
    "by",
    "from",
    "his",
    "be",
    "have",
    "has",
    "an",
    "are",
    "but",
    "not",
    "they",
    "were",
    "this",
    "had",
    "their",
    "which",
    "its",
    "who",
    "been",
    "will",
    "would",
    "or",
    "after",
    "more",
    "one",
    "two",
    "about",
    "than",
    "also",
    "new",
    "into",
    "over",
    "when",
    "there",
    "up",
    "all",
    "out",
    "she",
    "her",
    "them",
    "we",
    "if",
    "what",
    "can",
    "could",
    "so",
    "no",
    "only",
    "some",
    "other",
    "last",
    "year",
    "first",
    "our",
    "most",
]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """Function words first (the frequent ranks), then pseudo-words in random order."""
    words: set[str] = set()
    while len(words) < size:
        n = rng.choice((1, 2, 2, 3, 3, 3, 4))
        words.add("".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(n)))
    content = sorted(words - set(_FUNCTION_WORDS))
    rng.shuffle(content)
    return _FUNCTION_WORDS + content


class Writer:
    """Words, sentences and paragraphs drawn from ``vocabulary`` with Zipf-like
    frequencies, and rewordings of a text."""

    def __init__(self, rng: random.Random, vocabulary: list[str]) -> None:
        self.rng = rng
        self.vocabulary = vocabulary
        # Zipf-like weights: rank r gets 1 / (r + 10).
        self.cum: list[float] = []
        total = 0.0
        for r in range(len(vocabulary)):
            total += 1.0 / (r + 10)
            self.cum.append(total)

    def word(self) -> str:
        return self.rng.choices(self.vocabulary, cum_weights=self.cum)[0]

    def sentence(self) -> str:
        n = self.rng.randint(8, 24)
        words = self.rng.choices(self.vocabulary, cum_weights=self.cum, k=n)
        return " ".join(words).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 4)))

    def reword(self, text: str, degree: float = 0.25) -> str:
        out: list[str] = []
        for sentence in text.split(". "):
            words = sentence.rstrip(".").split()
            edited: list[str] = []
            for w in words:
                roll = self.rng.random()
                if roll < degree / 3:
                    continue  # deletion
                if roll < 2 * degree / 3:
                    edited.append(self.word())  # substitution
                else:
                    edited.append(w)
                if self.rng.random() < degree / 3:
                    edited.append(self.word())  # insertion
            for k in range(len(edited) - 1):  # local reordering
                if self.rng.random() < degree / 4:
                    edited[k], edited[k + 1] = edited[k + 1], edited[k]
            if edited:
                out.append(" ".join(edited).capitalize() + ".")
        return " ".join(out)


@dataclass
class _Paragraph:
    """A paragraph of a generated article: its own sentences, or a planted passage
    (possibly between own sentences) at ``offset`` within ``text``."""

    text: str
    sentences: list[str] | None = None  # own paragraphs only
    plant: tuple[int, str, int, str] | None = None  # (offset, text, family, kind)


def generate(
    count: int, *, seed: int = 0, reuse_rate: float = 0.3, outlets: int = 8
) -> tuple[list[SyntheticArticle], list[Case]]:
    """``count`` articles and the reuse cases injected into them.

    A copied passage is a whole paragraph or a run of two or more of its sentences;
    it lands as a paragraph of its own or between sentences of the new article's own,
    as news rewrites and quotes do. Reuse is transitive: when a copied passage is
    copied again, or a quote reaches a third outlet, the new article gets a case
    against every earlier holder of it.
    """
    rng = random.Random(seed)
    writer = Writer(rng, vocabulary(rng, 20_000))
    articles: list[SyntheticArticle] = []
    cases: list[Case] = []
    # Every region that holds a planted passage belongs to a family of regions that
    # are copies or rewordings of one another.
    family_of: dict[tuple[str, int, int], int] = {}
    families: list[list[tuple[str, int, int]]] = []
    quotes: list[tuple[str, int]] = []  # (quote, family)
    texts: dict[str, str] = {}
    layouts: dict[str, list[tuple[int, _Paragraph]]] = {}  # article -> (start, paragraph)

    def family(article_id: str, start: int, end: int) -> int:
        key = (article_id, start, end)
        if key not in family_of:
            family_of[key] = len(families)
            families.append([key])
        return family_of[key]

    def own_paragraph() -> _Paragraph:
        sentences = [writer.sentence() for _ in range(rng.randint(2, 4))]
        return _Paragraph(" ".join(sentences), sentences=sentences)

    def source_passage(source_id: str) -> tuple[int, str]:
        """A family and its text in ``source_id``: a passage planted there earlier
        (a copy of a copy), a whole paragraph of its own, or a run of its sentences."""
        layout = layouts[source_id]
        planted = [(start, p) for start, p in layout if p.plant is not None]
        if planted and rng.random() < 0.3:
            start, p = rng.choice(planted)
            assert p.plant is not None
            offset, text, _, _ = p.plant
            return family(source_id, start + offset, start + offset + len(text)), text
        start, p = rng.choice([(s, p) for s, p in layout if p.sentences])
        sentences = p.sentences or []
        if len(sentences) < 3 or rng.random() < 0.4:
            first, last = 0, len(sentences)
        else:
            first = rng.randrange(len(sentences) - 1)
            last = rng.randint(first + 2, len(sentences))
        begin = start + sum(len(x) + 1 for x in sentences[:first])
        text = " ".join(sentences[first:last])
        return family(source_id, begin, begin + len(text)), text

    for k in range(count):
        article_id = f"syn{k:07d}"
        paragraphs = [own_paragraph() for _ in range(rng.randint(6, 10))]
        plants: list[tuple[str, int, str]] = []  # (text, family, kind)
        if articles and rng.random() < reuse_rate:
            source = articles[rng.randrange(max(0, len(articles) - 500), len(articles))]
            fam, original = source_passage(source.id)
            kind = rng.choice(("verbatim", "reworded"))
            plants.append((original if kind == "verbatim" else writer.reword(original), fam, kind))
        if quotes and rng.random() < reuse_rate / 3:
            quote, fam = rng.choice(quotes)
            plants.append((quote, fam, "quote"))
        for text, fam, kind in plants:
            before = writer.sentence() if rng.random() < 0.5 else ""
            after = writer.sentence() if rng.random() < 0.5 else ""
            offset = len(before) + 1 if before else 0
            whole = " ".join(x for x in (before, text, after) if x)
            paragraphs.insert(
                rng.randrange(len(paragraphs) + 1),
                _Paragraph(whole, plant=(offset, text, fam, kind)),
            )
        repeat_of = None
        if rng.random() < reuse_rate / 3:
            repeat_of = rng.choice([p for p in paragraphs if p.sentences])
            paragraphs.append(_Paragraph(writer.reword(repeat_of.text, 0.15)))
        layout: list[tuple[int, _Paragraph]] = []
        pos = 0
        for p in paragraphs:
            layout.append((pos, p))
            pos += len(p.text) + 1
        text = "\n".join(p.text for p in paragraphs)
        texts[article_id] = text
        layouts[article_id] = layout
        for start, p in layout:
            if p.plant is None:
                continue
            offset, planted_text, fam, kind = p.plant
            begin, end = start + offset, start + offset + len(planted_text)
            for holder, h0, h1 in families[fam]:
                # A copy of a rewording of X is a rewording of X.
                same = texts[holder][h0:h1] == planted_text
                label = kind if same or kind == "reworded" else "reworded"
                cases.append(Case(article_id, begin, end, holder, h0, h1, label))
            families[fam].append((article_id, begin, end))
            family_of[(article_id, begin, end)] = fam
        if repeat_of is not None:
            (r0, _), (last, copy) = next((s, p) for s, p in layout if p is repeat_of), layout[-1]
            cases.append(
                Case(
                    article_id,
                    last,
                    last + len(copy.text),
                    article_id,
                    r0,
                    r0 + len(repeat_of.text),
                    "repeat",
                )
            )
        own = [(s, p) for s, p in layout if p.sentences and p is not repeat_of]
        if own and rng.random() < 0.2:
            start, p = own[0]
            quote = (p.sentences or [""])[0]
            quotes.append((quote, family(article_id, start, start + len(quote))))
            quotes = quotes[-200:]
        articles.append(SyntheticArticle(article_id, f"outlet{rng.randrange(outlets)}", text))
    return articles, cases


#: Hard cases (``wiretrace_bench.events``) file their pair under the case they were
#: made for, even when it also holds others (a quote inside a reworded passage).
_FOLDER_OF_KIND = {
    "verbatim_in_reworded": "quote_in_reworded",
    "brief": "brief",
    "short_quote": "short_quote",
}


def _category(held: list[Case]) -> str:
    for kind, folder in _FOLDER_OF_KIND.items():
        if any(c.kind == kind for c in held):
            return folder
    return held[0].kind


def _same_event_pairs(
    articles: list[SyntheticArticle], related: set[tuple[str, str]]
) -> list[tuple[str, str]]:
    """(later, earlier) pairs of articles on one event that share no reuse case."""
    by_event: dict[str, list[str]] = {}
    for a in articles:
        if a.event:
            by_event.setdefault(a.event, []).append(a.id)
    return [
        (later, earlier)
        for ids in by_event.values()
        for j, later in enumerate(ids)
        for earlier in ids[:j]
        if (later, earlier) not in related
    ]


def write_corpus(
    root: Path, articles: list[SyntheticArticle], cases: list[Case], *, seed: int = 0
) -> dict[str, int]:
    """Write ``articles`` and ``cases`` as a PAN-13-layout corpus that ``bench quality``
    scores, plus ``articles.jsonl`` for ``bench ingest --corpus``.

    Every article is both ``src/<id>.txt`` and ``susp/<id>.txt``. Each (article, source)
    pair holding cases is listed once, in the folder of its first case's kind, with one
    ground-truth XML of all its cases; a repeat is the pair of an article with itself.
    Articles on one event that share no case are listed under ``same_event`` (with an
    empty ground truth: independent coverage, the negatives of document-level scores).
    As many pairs again as hold cases, of articles sharing nothing, are under ``none``.
    """
    import json

    from wiretrace_bench.pan import write_features

    for sub in ("src", "susp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with open(root / "articles.jsonl", "w", encoding="utf-8") as out:
        for a in articles:
            name = f"{a.id}.txt"
            (root / "src" / name).write_text(a.text, encoding="utf-8")
            (root / "susp" / name).write_text(a.text, encoding="utf-8")
            out.write(json.dumps({"id": a.id, "outlet": a.outlet, "text": a.text}) + "\n")
    by_pair: dict[tuple[str, str], list[Case]] = {}
    for c in cases:
        by_pair.setdefault((c.article, c.source), []).append(c)
    categories: dict[str, list[tuple[str, str]]] = {}
    for pair, held in by_pair.items():
        categories.setdefault(_category(held), []).append(pair)
    related = set(by_pair) | {(b, a) for a, b in by_pair}
    same_event = _same_event_pairs(articles, related)
    if same_event:
        categories["same_event"] = same_event
        related |= set(same_event)
    rng = random.Random(seed)
    negatives: list[tuple[str, str]] = []
    ids = [a.id for a in articles]
    for _ in range(10 * len(by_pair) + 10):
        if len(negatives) >= len(by_pair) or len(ids) < 2:
            break
        first, second = rng.sample(ids, 2)
        if (first, second) not in related:
            negatives.append((first, second))
            related.add((first, second))
    categories["none"] = negatives
    every: list[str] = []
    for kind, pairs in sorted(categories.items()):
        folder = root / kind
        folder.mkdir(exist_ok=True)
        lines = [f"{a}.txt {b}.txt" for a, b in pairs]
        (folder / "pairs").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        every += lines
        for pair in pairs:
            features = [
                (c.kind, (c.start, c.end), f"{c.source}.txt", (c.source_start, c.source_end))
                for c in by_pair.get(pair, [])
            ]
            write_features(
                folder / f"{pair[0]}-{pair[1]}.xml", f"{pair[0]}.txt", "plagiarism", features
            )
    (root / "pairs").write_text("".join(f"{line}\n" for line in every), encoding="utf-8")
    return {kind: len(pairs) for kind, pairs in sorted(categories.items())}
