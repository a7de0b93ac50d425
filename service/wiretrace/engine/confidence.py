"""Confidence of a match: the probability that it is real reuse, and the verdict on a
source: how much of an article derives from it.

``confidence`` is a logistic regression over a few features of the match, all
computed from the two prepared texts (``features``). Its coefficients were fitted with
numpy (``fit``, Newton's method with a small ridge) on the labelled match rows of
``wiretrace bench labels`` over a hard synthetic corpus of seed 1, and evaluated on
seed 0 (benchmarks/RESULTS.md, "Issue 11: after"). Refit with::

    wiretrace bench generate OUT --hard --seed 1
    wiretrace bench labels OUT OUT/labels.jsonl --in-process
    wiretrace bench calibrate OUT OUT/labels.jsonl

which prints the coefficients to paste over ``COEFFICIENTS`` and the thresholds to
paste over ``PARTIAL_SHARE`` and ``WHOLE_SHARE``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

import wiretrace._core as _core
from wiretrace.engine.align import core_call

if TYPE_CHECKING:
    from wiretrace.engine.detect import Document, Match

__all__ = [
    "COEFFICIENTS",
    "FEATURES",
    "PARTIAL_SHARE",
    "WHOLE_SHARE",
    "Verdict",
    "confidence",
    "derived_share",
    "features",
    "fit",
    "verdict",
    "weighted_share",
]

#: The features, in the order of ``COEFFICIENTS`` (after the intercept).
FEATURES = (
    "similarity",  # the match's similarity (order-aware, 1 for a copy)
    "log_tokens",  # log(1 + tokens of its shorter side)
    "exact_share",  # share of the article side's tokens in 5-word windows the source span has
    "quoted_share",  # share of the article side's tokens inside quotation marks
    "content_share",  # share of the article side's tokens that are content terms
    "is_quote",  # the match is a shared quote (kind QUOTE)
    "is_reworded",  # the match is reworded
)

#: Intercept, then one weight per feature: fitted by ``wiretrace bench calibrate`` on
#: 2,017 match rows (1,903 real) of the hard corpus of seed 1 (module docstring).
COEFFICIENTS: tuple[float, ...] = (-7.5648, 6.3109, 2.2484, 3.3848, 0.5013, -1.8381, 0.4662, -1.81)

#: A source from which at least this share of the article derives (characters inside
#: its matches, weighted by their confidence) is ``PARTIALLY`` the article's source;
#: from ``WHOLE_SHARE`` up, ``WHOLLY``. Chosen by ``bench calibrate`` on the same
#: corpus (Youden's J): 0.0072 separates its 1,568 derived pairs from its 1,552
#: same-event pairs best (a shared quote of a few words is a partial derivation);
#: 0.6075 separates the 199 pairs whose cases cover half the article or more.
PARTIAL_SHARE = 0.0072
WHOLE_SHARE = 0.6075


class Verdict(StrEnum):
    """How much of an article derives from one source."""

    NOT_DERIVED = "not_derived"
    PARTIALLY = "partially"
    WHOLLY = "wholly"


def _tokens(doc: Document, start: int, end: int) -> tuple[int, int]:
    """The tokens of ``doc`` inside the code-point range ``[start, end)``."""
    t0 = int(np.searchsorted(doc.tokens.starts, start, side="left"))
    t1 = int(np.searchsorted(doc.tokens.ends, end, side="right"))
    return t0, max(t0, t1)


def features(a: Document, b: Document, m: Match) -> npt.NDArray[np.float64]:
    """The features of ``m`` (``FEATURES``), ``a`` and ``b`` the texts it joins.
    Work: the spans' counts in one core call (``core/engine/src/prepare.rs``,
    ``span_counts``: a hash set of the source span's prepared window hashes)."""
    from wiretrace.engine.detect import Kind

    a0, a1 = _tokens(a, m.a_start, m.a_end)
    b0, b1 = _tokens(b, m.b_start, m.b_end)
    covered, quoted, content = core_call(
        _core.span_counts, a.aligned(), b.aligned(), a0, a1, b0, b1
    )
    span = a1 - a0
    # A share of tokens: count / span, as numpy's mean of a boolean mask gives it.
    return np.array(
        [
            m.similarity,
            math.log1p(min(a1 - a0, b1 - b0)),
            covered / span if span > 0 else 0.0,
            quoted / span if span > 0 else 0.0,
            content / span if span > 0 else 0.0,
            float(m.kind is Kind.QUOTE),
            float(m.kind is Kind.REWORDED),
        ],
        dtype=np.float64,
    )


def _logistic(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))), dtype=np.float64)


def confidence(x: npt.NDArray[np.float64], coefficients: Sequence[float] = COEFFICIENTS) -> float:
    """The probability that a match with features ``x`` is real reuse."""
    w = np.asarray(coefficients, dtype=np.float64)
    return float(_logistic(np.asarray(w[0] + x @ w[1:]))) if x.size else 0.0


def fit(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], *, ridge: float = 1.0, steps: int = 50
) -> npt.NDArray[np.float64]:
    """Logistic regression by Newton's method: intercept then one weight per column of
    ``x`` (rows: matches, ``y``: 1 for real reuse). ``ridge`` (an L2 penalty on the
    weights, not the intercept) keeps them moderate when the classes nearly separate,
    as they do on synthetic data, so that probabilities are not pushed to 0 and 1."""
    design = np.hstack([np.ones((x.shape[0], 1)), x])
    w = np.zeros(design.shape[1])
    penalty = ridge * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(steps):
        p = _logistic(design @ w)
        gradient = design.T @ (p - y) + penalty @ w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def derived_share(length: int, matches: Sequence[Match]) -> float:
    """The share of an article of ``length`` code points derived from one source:
    its characters inside the source's ``matches`` (which never overlap on the
    article's side), each weighted by the match's confidence; in [0, 1]."""
    return weighted_share(length, ((m.a_end - m.a_start) * m.confidence for m in matches))


def weighted_share(length: int, weighted: Iterable[float]) -> float:
    """``derived_share`` from each match's length on the article's side times its
    confidence, summed in the order given (the service's matches are not ``Match``es)."""
    if length <= 0:
        return 0.0
    return min(1.0, sum(weighted) / length)


def verdict(share: float) -> Verdict:
    """The verdict on a source from which ``share`` of the article derives."""
    if share >= WHOLE_SHARE:
        return Verdict.WHOLLY
    if share >= PARTIAL_SHARE:
        return Verdict.PARTIALLY
    return Verdict.NOT_DERIVED
