"""Content terms: what a token contributes to similarity.

Function words carry no evidence of reuse, so they get no term; every other token is
cut to a short prefix (a language-blind stand-in for stemming: "attacked" and
"attacks" meet at "attac") and hashed to a stable 32-bit id (CRC-32, the same in
every process, so stored signatures stay valid across restarts). The ids are computed
in the compiled core (``core/engine/src/text/terms.rs``, which holds the word list);
``Detector.prepare`` receives them with the tokens.
"""

from __future__ import annotations

import wiretrace._core as _core

__all__ = ["NO_TERM", "STOPWORDS"]

#: The term of a function word.
NO_TERM: int = _core.NO_TERM

#: Function words of the languages our users ingest most. Only whole tokens match.
STOPWORDS: frozenset[str] = frozenset(_core.STOPWORDS)
