"""The hard cases of issue 11: news events covered by several outlets.

An ``Event`` is what reporters at the same scene share: people and their ages, places,
numbers, dates, an organisation, a quoted speaker, and the topic words of the story.
Each outlet writes its own sentences (its own draw of words) with those entities
inserted, so articles on one event share names and content words but no wording. Over
that independent coverage, events plant reuse with known spans on both sides:

- ``short_quote``: a 5-11-word quote of the speaker inside quotation marks in two or
  more outlets' articles, each outlet with its own marks ("…" “…” «…» „…“ ‚…‘ ‹…›
  「…」 『…』); the span is the words inside the marks;
- ``brief``: a wire brief of 25-55 words, a whole article, reprinted whole by other
  outlets (verbatim or with one word changed), alone or beside a line of their own;
- a paragraph holding a 12-40-word quote, reworded by another outlet around the quote
  kept verbatim: one ``reworded`` case for the paragraph and one
  ``verbatim_in_reworded`` case for just the words inside the marks.

Pairs of articles on one event that share none of these are the ``same_event``
negatives that ``write_corpus`` lists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from wiretrace_bench.ngrams import words
from wiretrace_bench.synthetic import Case, SyntheticArticle, Writer, generate, vocabulary

__all__ = ["QUOTE_MARKS", "Event", "Fact", "cover_events", "generate_hard"]

#: Opening and closing quotation marks of several scripts' styles.
QUOTE_MARKS: tuple[tuple[str, str], ...] = (
    ('"', '"'),
    ("“", "”"),
    ("«", "»"),
    ("„", "“"),
    ("‚", "‘"),
    ("‹", "›"),
    ("「", "」"),
    ("『", "』"),
)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: A piece of a sentence, tagged when its span is part of the ground truth.
Segment = tuple[str, str | None]
Sentence = list[Segment]


@dataclass
class _Paragraph:
    sentences: list[Sentence]
    tag: str | None = None  # the whole paragraph's span is ground truth
    plain: list[str] | None = None  # its plain sentences, for a rewording


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing that happened: the entities it names and its own content words. Every
    outlet reporting it writes its own sentence around them."""

    mentions: tuple[str, ...]
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """What every outlet covering one event shares. ``people[0]`` is the speaker."""

    id: str
    people: tuple[tuple[str, str, int], ...]  # (title, full name, age in years)
    places: tuple[str, ...]
    numbers: tuple[str, ...]
    dates: tuple[str, ...]
    organisation: str
    topic: tuple[str, ...]  # content words every outlet uses for this story
    facts: tuple[Fact, ...] = ()  # in the order they happened

    def tokens(self) -> set[str]:
        """The case-folded words of every entity: titles, names, ages, places,
        numbers, dates and the organisation (not topic words or fact keywords, which
        are ordinary vocabulary)."""
        texts = [
            *(f"{title} {name} {age}" for title, name, age in self.people),
            *self.places,
            *self.numbers,
            *self.dates,
            self.organisation,
        ]
        return {w for t in texts for w in words(t)}


def _name(rng: random.Random) -> str:
    """A capitalised pseudo-word ending in a consonant: never a vocabulary word (those
    end in a vowel), so entity tokens and wording stay apart."""
    syllables = "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(2))
    return (syllables + rng.choice("knrst")).capitalize()


def _mention(rng: random.Random, event: Event) -> str:
    """An entity as a reporter names it; the longer forms (title, full name, age) are
    word sequences that independent reports share, as real ones do."""
    roll = rng.random()
    if roll < 0.45:
        title, name, age = rng.choice(event.people)
        form = rng.randrange(5)
        return (
            name.split()[-1],
            name,
            f"{title} {name}",
            f"{name}, {age},",
            f"{title} {name}, {age},",
        )[form]
    if roll < 0.6:
        return rng.choice(event.places)
    if roll < 0.75:
        return rng.choice(event.numbers)
    return rng.choice(event.dates) if roll < 0.88 else f"the {event.organisation}"


def _event(rng: random.Random, event_id: str, vocab: list[str]) -> Event:
    people = tuple(
        (_name(rng), f"{_name(rng)} {_name(rng)}", rng.randint(19, 84)) for _ in range(3)
    )
    numbers = (
        str(rng.randint(3, 400)),
        f"{rng.randint(2, 90)},{rng.randint(0, 999):03d}",
        f"{rng.randint(1, 9)}.{rng.randint(1, 9)} million",
    )
    dates = tuple(f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}" for _ in range(2))
    event = Event(
        id=event_id,
        people=people,
        places=(_name(rng), _name(rng)),
        numbers=numbers,
        dates=dates,
        organisation=" ".join(_name(rng) for _ in range(3)),
        # Ranks 100-3000: content words frequent enough to read as a story's own terms.
        topic=tuple(rng.sample(vocab[100:3000], 12)),
    )
    facts = tuple(
        Fact(
            tuple(_mention(rng, event) for _ in range(rng.randint(1, 3))),
            tuple(rng.sample(vocab[100:5000], rng.randint(3, 5))),
        )
        for _ in range(rng.randint(16, 24))
    )
    return replace(event, facts=facts)


def _segments(p: _Paragraph) -> list[Segment]:
    return [segment for sentence in p.sentences for segment in sentence]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _assemble(paragraphs: list[_Paragraph]) -> tuple[str, dict[str, tuple[int, int]]]:
    """The article's text and the span of every tagged segment or paragraph."""
    parts: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    pos = 0
    for p_index, p in enumerate(paragraphs):
        if p_index:
            parts.append("\n")
            pos += 1
        p_start = pos
        for s_index, sentence in enumerate(p.sentences):
            if s_index:
                parts.append(" ")
                pos += 1
            for text, tag in sentence:
                if tag is not None:
                    spans[tag] = (pos, pos + len(text))
                parts.append(text)
                pos += len(text)
        if p.tag is not None:
            spans[p.tag] = (p_start, pos)
    return "".join(parts), spans


class _Reporter:
    """Writes every outlet's sentences on an event: own words, shared entities."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.rng = writer.rng

    def _words(self, event: Event, lo: int, hi: int) -> list[str]:
        return [
            self.rng.choice(event.topic) if self.rng.random() < 0.12 else self.writer.word()
            for _ in range(self.rng.randint(lo, hi))
        ]

    def _around(self, event: Event, items: list[str], lo: int, hi: int) -> str:
        """``items`` at random places among ``lo``-``hi`` own words, as a sentence."""
        out = self._words(event, lo, hi)
        for item in items:
            out.insert(self.rng.randint(0, len(out)), item)
        return _capital(" ".join(out).rstrip(",")) + "."

    def sentence(self, event: Event, lo: int = 8, hi: int = 24) -> str:
        """Colour: own words (with the story's topic words) and one or two entities."""
        items = [_mention(self.rng, event) for _ in range(self.rng.randint(1, 2))]
        return self._around(event, items, lo, hi)

    def report(self, event: Event, fact: Fact, lo: int = 5, hi: int = 12) -> str:
        """This outlet's own sentence on ``fact``: most of its entities and keywords,
        in an order of its own, among its own words."""
        rng = self.rng
        items = [k for k in fact.keywords if rng.random() < 0.8]
        items += [m for m in fact.mentions if rng.random() < 0.85] or [fact.mentions[0]]
        return self._around(event, items, lo, hi)

    def quote_words(self, event: Event, lo: int, hi: int) -> str:
        """What the speaker said: ``lo``-``hi`` words, no entity, no end mark."""
        return _capital(" ".join(self._words(event, lo, hi)))

    def quoted(self, event: Event, quote: str, marks: tuple[str, str], tag: str | None) -> Sentence:
        """A sentence attributing ``quote`` (inside ``marks``) to the speaker."""
        _, name, age = event.people[0]
        surname = name.split()[-1]
        o, c = marks
        form = self.rng.randrange(4)
        if form == 0:
            return [(o, None), (quote, tag), (f"{c}, {name} said.", None)]
        if form == 1:
            return [(f"{name} said: {o}", None), (quote, tag), (f"{c}.", None)]
        if form == 2:
            return [(o, None), (quote, tag), (f"{c}, said {surname}, {age}.", None)]
        return [(f"{surname} told reporters: {o}", None), (quote, tag), (f"{c}.", None)]

    def reword(self, event: Event, sentence: str, degree: float = 0.25) -> str:
        """``sentence`` with words deleted, substituted, inserted and swapped, as
        ``Writer.reword`` does, but entity words kept and their case too."""
        rng, keep = self.rng, event.tokens()
        edited: list[str] = []
        for w in sentence.rstrip(".").split():
            protected = bool(set(words(w)) & keep)
            roll = rng.random()
            if not protected and roll < degree / 3:
                continue
            if not protected and roll < 2 * degree / 3:
                edited.append(self.writer.word())
            else:
                edited.append(w if protected else w.lower())
            if rng.random() < degree / 3:
                edited.append(self.writer.word())
        for k in range(len(edited) - 1):
            if rng.random() < degree / 4:
                edited[k], edited[k + 1] = edited[k + 1], edited[k]
        return _capital(" ".join(edited).rstrip(",")) + "."

    def touch(self, event: Event, text: str) -> str:
        """``text`` with one non-entity word substituted (a near-verbatim reprint)."""
        tokens = text.split(" ")
        keep = event.tokens()
        free = [k for k, w in enumerate(tokens) if w.isalpha() and not set(words(w)) & keep]
        k = self.rng.choice(free)
        word = self.writer.word()
        tokens[k] = _capital(word) if tokens[k][0].isupper() else word
        return " ".join(tokens)

    def brief(self, event: Event) -> str:
        """A wire brief: two or three facts of the event, 25-55 words in all."""
        while True:
            facts = self.rng.sample(event.facts, self.rng.randint(2, 3))
            text = " ".join(self.report(event, f, 3, 8) for f in facts)
            if 25 <= len(words(text)) <= 55:
                return text

    def coverage(
        self, event: Event, marks: tuple[str, str], quotes: list[tuple[str, str]]
    ) -> list[_Paragraph]:
        """An article of its own on ``event``: about three quarters of its facts, in
        their order give or take a swap, with colour between them; one or two quotes of
        the speaker in its own words, and ``quotes`` ((tag, words)) shared with others."""
        rng = self.rng
        facts = [f for f in event.facts if rng.random() < 0.75]
        for k in range(len(facts) - 1):
            if rng.random() < 0.3:
                facts[k], facts[k + 1] = facts[k + 1], facts[k]
        flat: list[str] = []
        for f in facts:
            flat.append(self.report(event, f))
            if rng.random() < 0.6:
                flat.append(self.sentence(event))
        paragraphs: list[_Paragraph] = []
        while flat:
            size = rng.randint(2, 4)
            paragraphs.append(_Paragraph([[(x, None)] for x in flat[:size]]))
            flat = flat[size:]
        own = [(None, self.quote_words(event, 6, 20)) for _ in range(rng.randint(1, 2))]
        for tag, quote in [*own, *quotes]:
            p = rng.choice(paragraphs)
            p.sentences.insert(
                rng.randint(0, len(p.sentences)), self.quoted(event, quote, marks, tag)
            )
        return paragraphs

    def passage(
        self, event: Event, quote: str, marks: tuple[str, str], plain: list[str] | None = None
    ) -> _Paragraph:
        """A paragraph holding ``quote``: own sentences around it, or (given the
        ``plain`` sentences of a source passage) those reworded around it."""
        rng = self.rng
        if plain is None:
            facts = rng.sample(event.facts, rng.randint(2, 4))
            plain = [self.report(event, f, 8, 16) for f in facts]
        else:
            plain = [self.reword(event, s) for s in plain]
        cut = rng.randint(1, len(plain))
        sentences: list[Sentence] = [[(s, None)] for s in plain]
        sentences.insert(cut, self.quoted(event, quote, marks, "long_quote"))
        return _Paragraph(sentences, tag="passage", plain=plain)


def _case(
    kind: str,
    tag: str,
    article: SyntheticArticle,
    source: SyntheticArticle,
    spans: dict[str, dict[str, tuple[int, int]]],
) -> Case:
    """The case of ``kind`` between the segments tagged ``tag`` in the two articles."""
    (start, end), (source_start, source_end) = spans[article.id][tag], spans[source.id][tag]
    return Case(article.id, start, end, source.id, source_start, source_end, kind)


def generate_hard(
    count: int,
    *,
    seed: int = 0,
    events: int | None = None,
    reuse_rate: float = 0.3,
    outlets: int = 8,
) -> tuple[list[SyntheticArticle], list[Case]]:
    """``generate(count, seed=seed)`` unchanged (the same articles and cases), followed
    by the articles of ``events`` events (default ``count // 25``, at least 2) with
    their cases: about 7 articles an event, 3-5 of them independent coverage."""
    articles, cases = generate(count, seed=seed, reuse_rate=reuse_rate, outlets=outlets)
    n_events = max(2, count // 25) if events is None else events
    cover_events(articles, cases, n_events, seed=seed, outlets=outlets)
    return articles, cases


def cover_events(
    articles: list[SyntheticArticle],
    cases: list[Case],
    count: int,
    *,
    seed: int = 0,
    outlets: int = 8,
) -> list[Event]:
    """Append the coverage of ``count`` new events to ``articles`` and its cases to
    ``cases``; return the events. Ids continue the numbering of ``articles``, so a
    source always precedes its reuse; the words are those of ``generate``'s seed."""
    rng = random.Random(f"wiretrace-events-{seed}")
    # The base corpus's vocabulary (its generator draws it first from the same seed).
    vocab = vocabulary(random.Random(seed), 20_000)
    reporter = _Reporter(Writer(rng, vocab))
    spans: dict[str, dict[str, tuple[int, int]]] = {}
    covered: list[Event] = []

    def publish(paragraphs: list[_Paragraph], outlet: str, event: Event) -> SyntheticArticle:
        text, tagged = _assemble(paragraphs)
        a = SyntheticArticle(f"syn{len(articles):07d}", outlet, text, event.id)
        articles.append(a)
        spans[a.id] = tagged
        return a

    for e in range(count):
        event = _event(rng, f"event{e:04d}", vocab)
        covered.append(event)
        m = rng.randint(3, 5)
        sources = rng.sample(range(m), rng.choice((1, 1, 2)))  # passages reworded later
        marks = rng.sample(QUOTE_MARKS, m + len(sources))  # one style per outlet
        names = [f"outlet{k}" for k in rng.sample(range(outlets), min(m + 2, outlets))]
        shared = [reporter.quote_words(event, 5, 11) for _ in range(rng.choice((1, 1, 2)))]
        holders = [set(rng.sample(range(m), rng.randint(2, m))) for _ in shared]
        coverage: list[SyntheticArticle] = []
        passages: dict[int, _Paragraph] = {}
        for i in range(m):
            quotes = [(f"short{k}", q) for k, q in enumerate(shared) if i in holders[k]]
            paragraphs = reporter.coverage(event, marks[i], quotes)
            if i in sources:
                passages[i] = reporter.passage(event, reporter.quote_words(event, 12, 40), marks[i])
                paragraphs.insert(rng.randint(0, len(paragraphs)), passages[i])
            coverage.append(publish(paragraphs, names[i % len(names)], event))
        for k in range(len(shared)):
            held = [coverage[i] for i in sorted(holders[k])]
            for j, later in enumerate(held):
                cases += [_case("short_quote", f"short{k}", later, src, spans) for src in held[:j]]
        for d, i in enumerate(sources):
            quote = "".join(text for text, tag in _segments(passages[i]) if tag == "long_quote")
            paragraphs = reporter.coverage(event, marks[m + d], [])
            reworded = reporter.passage(event, quote, marks[m + d], passages[i].plain)
            paragraphs.insert(rng.randint(0, len(paragraphs)), reworded)
            derived = publish(paragraphs, names[(m + d) % len(names)], event)
            for kind, tag in (("reworded", "passage"), ("verbatim_in_reworded", "long_quote")):
                cases.append(_case(kind, tag, derived, coverage[i], spans))
        if rng.random() < 0.8:
            brief = reporter.brief(event)
            reprints = [publish([_Paragraph([[(brief, "brief")]])], "wire", event)]
            for _ in range(rng.randint(1, 3)):
                text = brief if rng.random() < 0.5 else reporter.touch(event, brief)
                paragraphs = [_Paragraph([[(text, "brief")]])]
                if rng.random() < 0.5:  # the brief as the whole of a short article
                    line = _Paragraph([[(reporter.sentence(event, 6, 14), None)]])
                    paragraphs.insert(rng.randint(0, 1), line)
                reprint = publish(paragraphs, f"outlet{rng.randrange(outlets)}", event)
                cases += [_case("brief", "brief", reprint, src, spans) for src in reprints]
                reprints.append(reprint)
    return covered
