"""Content terms: what a token contributes to similarity.

Function words carry no evidence of reuse, so they get no term; every other token is
cut to a short prefix (a language-blind stand-in for stemming: "attacked" and
"attacks" meet at "attac") and hashed to a stable 32-bit id (CRC-32, the same in
every process, so stored signatures stay valid across restarts).
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

__all__ = ["NO_TERM", "STOPWORDS", "term_ids", "word_ids"]

NO_TERM = -1

# Function words of the languages our users ingest most. Only whole tokens match.
STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each
few for from further had has have having he her here hers herself him himself his how
i if in into is it its itself just me more most my myself no nor not now of off on once
only or other our ours ourselves out over own same she should so some such than that
the their theirs them themselves then there these they this those through to too under
until up very was we were what when where which while who whom why will with would you
your yours yourself yourselves said says say one two also its it's he's she's that's
there's i'm we're they're don't doesn't didn't won't can't isn't wasn't aren't weren't
s t d ll m re ve y
der die das und ist nicht ein eine zu den von mit sich des auf für im dem als auch es an
le la les et des du un une est pas que qui dans en au aux pour sur ne se ce il elle
el los las y del que en un una por con para es al lo como más su
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или
ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут
где есть надо ней для мы тебя их чем была сам чтобы без будто чего раз тоже себе под
будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой
тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть
после над больше тот через эти нас про всего них какая много разве три эту моя впрочем
хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю
між та це як що не на за від до по у в і й з із
""".split()
)


def _term(word: str, stem_prefix: int) -> int:
    if word in STOPWORDS:
        return NO_TERM
    if stem_prefix and word.isalpha():
        word = word[:stem_prefix]
    return zlib.crc32(word.encode("utf-8"))


def term_ids(words: list[str], stem_prefix: int) -> npt.NDArray[np.int64]:
    """One content-term id per token, or ``NO_TERM`` for a function word."""
    cache: dict[str, int] = {}
    out = np.empty(len(words), dtype=np.int64)
    for k, w in enumerate(words):
        t = cache.get(w)
        if t is None:
            t = cache[w] = _term(w, stem_prefix)
        out[k] = t
    return out


def word_ids(words: list[str]) -> npt.NDArray[np.int64]:
    """A stable id per distinct normalised token (function words included)."""
    cache: dict[str, int] = {}
    out = np.empty(len(words), dtype=np.int64)
    for k, w in enumerate(words):
        t = cache.get(w)
        if t is None:
            t = cache[w] = zlib.crc32(w.encode("utf-8"))
        out[k] = t
    return out
