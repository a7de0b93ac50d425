"""Typed, validated configuration of the detection engine."""

from __future__ import annotations

from dataclasses import dataclass

from wiretrace.errors import InvalidInput
from wiretrace.settings import setting

__all__ = [
    "DEFAULT_BOILERPLATE_ARTICLES",
    "DEFAULT_EDGE_CUT",
    "DEFAULT_EXTEND_THRESHOLD",
    "DEFAULT_INDEX_THRESHOLD",
    "DEFAULT_LSH_THRESHOLD",
    "DEFAULT_MAX_ALIGN_CELLS",
    "DEFAULT_MAX_EXACT_PAIRS",
    "DEFAULT_MAX_EXTEND_PAIRS",
    "DEFAULT_MAX_GAP_UNITS",
    "DEFAULT_MAX_PASSAGES",
    "DEFAULT_MAX_REFINE_CELLS",
    "DEFAULT_MAX_SEED_PAIRS",
    "DEFAULT_MERGE_GAP_TOKENS",
    "DEFAULT_MIN_EVIDENCE_DICE",
    "DEFAULT_MIN_EXACT_RUN_TOKENS",
    "DEFAULT_MIN_MATCH_TOKENS",
    "DEFAULT_MIN_QUOTE_TOKENS",
    "DEFAULT_MIN_REWORDED_TOKENS",
    "DEFAULT_MIN_SPLIT_RUN_TOKENS",
    "DEFAULT_MISS_PENALTY",
    "DEFAULT_NUM_PERM",
    "DEFAULT_SEED_THRESHOLD",
    "DEFAULT_SHARED_WEIGHT",
    "DEFAULT_SHORT_PASSAGE_OVERLAP",
    "DEFAULT_SHORT_PASSAGE_SIMILARITY",
    "DEFAULT_SHORT_PASSAGE_TOKENS",
    "DEFAULT_SHORT_TEXT_SHARE",
    "DEFAULT_SUMMARY_GAP_TOKENS",
    "DEFAULT_SUMMARY_JOIN_RATIO",
    "DEFAULT_SUMMARY_RATIO",
    "DEFAULT_SUMMARY_UNIT_DICE",
    "DEFAULT_SUMMARY_WHOLE_SHARE",
    "EngineConfig",
]

DEFAULT_NUM_PERM = 64
DEFAULT_LSH_THRESHOLD = 0.2
DEFAULT_INDEX_THRESHOLD = 0.3
#: A stored article is aligned only if one unit pair reaches this Jaccard similarity by
#: the MinHash estimate. The passage threshold (Dice 0.5) is Jaccard 1/3; 0.3 leaves
#: room for the estimate's noise (sd ~0.06 with 64 permutations). Measured with 150
#: generated articles against 5,000 stored: all 56 candidates that gave a match
#: estimated >= 0.34; none of the 575 estimated between 0.21 (the seed threshold) and
#: 0.34 gave one, and they were ~90 % of the alignment work.
DEFAULT_CANDIDATE_THRESHOLD = 0.3
DEFAULT_SEED_THRESHOLD = 0.35
DEFAULT_EXTEND_THRESHOLD = 0.2
DEFAULT_PASSAGE_THRESHOLD = 0.5
DEFAULT_MIN_MATCH_TOKENS = 12
DEFAULT_MIN_REWORDED_TOKENS = 15
DEFAULT_SHORT_PASSAGE_TOKENS = 40
DEFAULT_SHORT_PASSAGE_SIMILARITY = 0.45
DEFAULT_SHORT_PASSAGE_OVERLAP = 0.65
DEFAULT_MAX_GAP_UNITS = 4
DEFAULT_MIN_UNIT_TOKENS = 4
DEFAULT_MAX_UNIT_TOKENS = 40
DEFAULT_STEM_PREFIX = 5
DEFAULT_SEED = 1
#: Refine and merge (issue 11, RESULTS.md "variant D with short matches evidenced in
#: order"): with half-matches counted only against the other side's unpaired
#: tokens, a looser edge cut keeps the edited edges of random obfuscation and
#: translation without verbatim copies spreading into their neighbours.
DEFAULT_MERGE_GAP_TOKENS = 30
DEFAULT_MISS_PENALTY = 0.5
DEFAULT_SHARED_WEIGHT = 0.35
DEFAULT_EDGE_CUT = 0.4
# Bounds on the work of one comparison (counted in Work). PAN-13's 5,185 pairs reach
# none; their largest use is 9,073 seed pairs, 14,249 extend pairs, 618 passages and
# 10.9M alignment cells (all refinements of one pair, so also the largest refinement).
# The worst shapes at the 200,000-character limit stop at them within ~1.5 s.
DEFAULT_MAX_SEED_PAIRS = 20_000
DEFAULT_MAX_EXTEND_PAIRS = 50_000
DEFAULT_MAX_REFINE_CELLS = 64_000_000
DEFAULT_MAX_ALIGN_CELLS = 2_000_000_000
DEFAULT_MAX_PASSAGES = 1_000
DEFAULT_MAX_EXACT_PAIRS = 50_000
#: An exact run this long inside a reworded match is reported on its own: a quote of
#: a sentence or so (issue 11: a 40-word verbatim quote hidden in a loose match).
DEFAULT_MIN_EXACT_RUN_TOKENS = 8
#: Words inside quotation marks shared word for word are reported from this many up.
DEFAULT_MIN_QUOTE_TOKENS = 5
#: Whole sentences copied word for word without quotation marks are cut out of a
#: reworded match only from this length. Chosen on PAN-13 (a quarter of the train
#: pairs): from 20 to 60 tokens, cutting them out lowered plagdet in every category
#: (the untouched sentences of lightly edited or translated text are part of its
#: passage, and the pieces around them count as more detections), 100 did not.
DEFAULT_MIN_SPLIT_RUN_TOKENS = 100
DEFAULT_MIN_EVIDENCE_DICE = 0.3
#: passim's maximum document frequency: an index bucket holding more passages than
#: this is boilerplate (sign-offs, legal lines), never read on lookup.
DEFAULT_BOILERPLATE_ARTICLES = 500
#: Between short texts the shortest copy reported is this share of the shorter one
#: (when that is under min_match_tokens): a 9-word brief reprinted whole is a match.
DEFAULT_SHORT_TEXT_SHARE = 0.5
#: Summary mode (core/engine/src/summary.rs): matches and sentences this close in the article,
#: in their source's order, whose source hull is ``summary_join_ratio`` times their
#: article hull are one match; ``summary_ratio`` times, a summary of the whole source
#: when it covers ``summary_whole_share`` of it. 3x is the published systems' rule; the
#: join ratio 1.5, the whole share 0.3 and the unit Dice 0.3 were chosen on PAN-13
#: train, the set they are scored on (RESULTS.md, "Issue 11: summary mode, second
#: pass", which gives the neighbours of each).
DEFAULT_SUMMARY_RATIO = 3.0
DEFAULT_SUMMARY_JOIN_RATIO = 1.5
DEFAULT_SUMMARY_GAP_TOKENS = 60
DEFAULT_SUMMARY_WHOLE_SHARE = 0.3
DEFAULT_SUMMARY_UNIT_DICE = 0.3


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Every tuning knob of the engine, with defaults chosen on PAN-13 (see RESULTS.md).

    Attributes:
        num_perm: MinHash permutations per unit signature.
        lsh_threshold: Jaccard level the LSH bands of a two-text comparison are tuned
            for; set low so that reworded sentences still become candidates.
        index_threshold: Jaccard level of the bands of the shared index of stored
            articles. It finds *articles* to align, and one close unit pair is enough
            for that (the comparison then finds the looser ones), so it is set higher:
            low-threshold bands collide ever more often as the index grows.
        candidate_threshold: minimum Jaccard similarity, by the MinHash estimate, of
            one unit pair of a stored article and a new one for the service to align
            the two (band collisions on common words are dropped before alignment).
        seed_threshold: minimum Dice coefficient of two units' content terms to seed.
        extend_threshold: lower Dice coefficient at which a unit pair near a seed joins
            its passage (the exact local search of the extend stage).
        passage_threshold: minimum Dice coefficient of a merged passage's content terms.
        min_match_tokens: shortest reported passage, in tokens, on both sides.
        min_reworded_tokens: shortest reported *reworded* passage, in tokens: a short
            exact quote is strong evidence, a short loose paraphrase is not.
        short_passage_tokens, short_passage_similarity, short_passage_overlap: a
            reworded passage shorter than ``short_passage_tokens`` tokens is reported
            only if its (order-aware) similarity reaches ``short_passage_similarity`` or
            its content-term Dice (order-free, for reordered paraphrase) reaches
            ``short_passage_overlap``: one loosely related sentence on the same topic is
            not reuse.
        max_gap_units: largest gap, in units, bridged when merging seeds.
        min_unit_tokens: units with fewer content terms are joined to the next one.
        max_unit_tokens: units with more tokens are cut into windows of this size.
        stem_prefix: content terms are cut to this many characters (0 keeps them whole).
        miss_penalty: weight of an unaligned content token against an aligned one when
            the refine stage trims a passage's edges.
        shared_weight: worth of a content token that is not aligned in order but whose
            term occurs among the other side's tokens the alignment left unpaired
            (reordered text), against 1 for an aligned one.
        edge_cut: share of the core's mean worth that a token must exceed to stay in
            the trimmed passage.
        merge_gap_tokens: passages that follow each other on both sides with at most
            this many tokens between them are reported as one.
        seed: seed of the MinHash permutations; signatures only agree under one seed.
        max_seed_pairs: unit pairs the band join may propose per comparison; past it,
            the pairs of the commonest band keys are left out.
        max_extend_pairs: unit pairs near seeds the extend stage may look at.
        max_refine_cells: largest alignment (tokens of one side times tokens of the
            other) refined in one piece, which bounds the Indel bit matrix's memory
            (cells / 8 bytes); a larger cluster is cut in halves until its pieces fit, and merging
            joins their passages again.
        max_align_cells: alignment cells per comparison, over all refinements; past
            it, no more passages are built.
        max_passages: passages built per comparison (overlap resolution is pairwise).
        min_exact_run_tokens: a word-for-word run this long inside a reworded match
            is reported on its own as verbatim, and the reworded match split around it.
        min_quote_tokens: words inside quotation marks that both texts share word for
            word are reported from this many up (as their own verbatim match inside a
            reworded one, as a ``quote`` elsewhere).
        max_exact_pairs: equal word windows paired per comparison to find exact runs.
        min_split_run_tokens: whole sentences copied word for word, without quotation
            marks, are cut out of a reworded match from this many tokens (a whole
            quote in marks from ``min_quote_tokens``).
        min_evidence_dice: least Dice coefficient of a reworded match's content
            terms once the tokens that name are left out (capitalised inside a
            sentence, or holding a digit): names, numbers, dates and places alone
            never make a match. A reworded match shorter than
            ``short_passage_tokens`` must also reach it in order: the Indel
            similarity (an ordered Dice coefficient) of its words, those that name
            left out, as two reports of one event share a sentence's names,
            numbers and dates in the same order.
        boilerplate_articles: the service's index leaves out, on lookup, every bucket
            holding more passages than this (passim's maximum document frequency):
            a passage found in that many stored articles is boilerplate. It costs no
            more to look up than a rare one, and its matches are not reported unless
            a request asks (``include_boilerplate``).
        short_text_share: between short texts, the shortest non-reworded match is
            this share of the shorter text's tokens when that is less than
            ``min_match_tokens`` (never less than ``min_quote_tokens``; 0 turns it off).
        summary_ratio: a joined group (``summary_join_ratio``) whose source hull is
            at least this many times as long as its article hull is a summary of its
            source, reported against the whole source when it covers
            ``summary_whole_share`` of it (0 turns the summary mode off; see
            ``core/engine/src/summary.rs``).
        summary_join_ratio: matches and sentences close together in the article
            (``summary_gap_tokens``), in their source's order, whose source hull is at
            least this many times their article hull are reported as one match over
            both hulls (0: ``summary_ratio``).
        summary_gap_tokens: largest gap, in the article's tokens, between two matches
            of one summary.
        summary_whole_share: a summary (``summary_ratio``) whose source hull covers
            this share of the source text or more is reported against the whole
            source (0 never).
        summary_unit_dice: least Dice of the content terms (names and numbers left
            out) of an article sentence near or inside a match and its best source
            sentence for the pair to count as a piece of a summary (0 turns the
            summary mode off: it judges sentences).
    """

    num_perm: int = setting(DEFAULT_NUM_PERM, "MinHash permutations per unit signature")
    lsh_threshold: float = setting(
        DEFAULT_LSH_THRESHOLD, "Jaccard level the LSH bands of a two-text comparison are tuned for"
    )
    index_threshold: float = setting(
        DEFAULT_INDEX_THRESHOLD, "Jaccard level the bands of the shared index are tuned for"
    )
    candidate_threshold: float = setting(
        DEFAULT_CANDIDATE_THRESHOLD,
        "least MinHash-estimated Jaccard of one unit pair for a stored article to be aligned",
    )
    seed_threshold: float = setting(
        DEFAULT_SEED_THRESHOLD, "least Dice of two units' content terms to seed a passage"
    )
    extend_threshold: float = setting(
        DEFAULT_EXTEND_THRESHOLD, "least Dice of a unit pair near a seed to join its passage"
    )
    passage_threshold: float = setting(
        DEFAULT_PASSAGE_THRESHOLD, "least Dice of a passage's content terms"
    )
    min_match_tokens: int = setting(
        DEFAULT_MIN_MATCH_TOKENS,
        "shortest reported passage, in tokens (8 finds shorter quotes, and more boilerplate)",
    )
    min_reworded_tokens: int = setting(
        DEFAULT_MIN_REWORDED_TOKENS, "shortest reported reworded passage, in tokens"
    )
    short_passage_tokens: int = setting(
        DEFAULT_SHORT_PASSAGE_TOKENS,
        "reworded passages shorter than this need short_passage_similarity or _overlap",
    )
    short_passage_similarity: float = setting(
        DEFAULT_SHORT_PASSAGE_SIMILARITY,
        "least similarity of a short reworded passage (or its overlap)",
    )
    short_passage_overlap: float = setting(
        DEFAULT_SHORT_PASSAGE_OVERLAP,
        "least content-term Dice of a short reworded passage (or its similarity)",
    )
    max_gap_units: int = setting(
        DEFAULT_MAX_GAP_UNITS, "largest gap, in units, bridged when merging seeds"
    )
    min_unit_tokens: int = setting(
        DEFAULT_MIN_UNIT_TOKENS, "units with fewer content terms are joined to the next"
    )
    max_unit_tokens: int = setting(
        DEFAULT_MAX_UNIT_TOKENS, "units with more tokens are cut into windows of this size"
    )
    stem_prefix: int = setting(
        DEFAULT_STEM_PREFIX, "content terms are cut to this many characters (0 keeps them whole)"
    )
    miss_penalty: float = setting(
        DEFAULT_MISS_PENALTY, "weight of an unaligned content token when edges are trimmed"
    )
    shared_weight: float = setting(
        DEFAULT_SHARED_WEIGHT, "worth of a reordered content token against 1 for an aligned one"
    )
    edge_cut: float = setting(
        DEFAULT_EDGE_CUT, "share of the core's mean worth a token must exceed to stay in a passage"
    )
    merge_gap_tokens: int = setting(
        DEFAULT_MERGE_GAP_TOKENS, "passages this close on both sides are reported as one"
    )
    seed: int = setting(
        DEFAULT_SEED, "seed of the MinHash permutations (stores only match under one seed)"
    )
    max_seed_pairs: int = setting(
        DEFAULT_MAX_SEED_PAIRS, "unit pairs the band join may propose per comparison"
    )
    max_extend_pairs: int = setting(
        DEFAULT_MAX_EXTEND_PAIRS, "unit pairs near seeds looked at per comparison"
    )
    max_refine_cells: int = setting(
        DEFAULT_MAX_REFINE_CELLS,
        "largest alignment (tokens x tokens) refined in one piece; larger clusters are cut",
    )
    max_align_cells: int = setting(
        DEFAULT_MAX_ALIGN_CELLS, "alignment cells (tokens x tokens) per comparison, all refinements"
    )
    max_passages: int = setting(DEFAULT_MAX_PASSAGES, "passages built per comparison")
    min_exact_run_tokens: int = setting(
        DEFAULT_MIN_EXACT_RUN_TOKENS,
        "a verbatim run this long inside a reworded match is reported on its own",
    )
    min_quote_tokens: int = setting(
        DEFAULT_MIN_QUOTE_TOKENS, "shortest shared quote (words inside quotation marks) reported"
    )
    max_exact_pairs: int = setting(
        DEFAULT_MAX_EXACT_PAIRS, "equal word windows paired per comparison to find exact runs"
    )
    min_split_run_tokens: int = setting(
        DEFAULT_MIN_SPLIT_RUN_TOKENS,
        "whole sentences copied word for word this long are cut out of a reworded match",
    )
    min_evidence_dice: float = setting(
        DEFAULT_MIN_EVIDENCE_DICE,
        "least Dice of a reworded match's content terms, names and numbers left out",
    )
    boilerplate_articles: int = setting(
        DEFAULT_BOILERPLATE_ARTICLES,
        "a passage in more stored articles is boilerplate: not looked up, not reported",
    )
    short_text_share: float = setting(
        DEFAULT_SHORT_TEXT_SHARE,
        "between short texts, the shortest copy is this share of the shorter one",
    )
    summary_ratio: float = setting(
        DEFAULT_SUMMARY_RATIO,
        "a joined group whose source hull is this many times its article hull is a summary",
    )
    summary_join_ratio: float = setting(
        DEFAULT_SUMMARY_JOIN_RATIO,
        "close pieces whose source hull is this many times their article hull are one match",
    )
    summary_gap_tokens: int = setting(
        DEFAULT_SUMMARY_GAP_TOKENS, "largest gap, in article tokens, inside one summary"
    )
    summary_whole_share: float = setting(
        DEFAULT_SUMMARY_WHOLE_SHARE,
        "a summary covering this share of its source is reported against all of it (0 never)",
    )
    summary_unit_dice: float = setting(
        DEFAULT_SUMMARY_UNIT_DICE,
        "least Dice of a sentence near a match and its best source sentence to join a summary",
    )

    def __post_init__(self) -> None:
        for name in (
            "max_seed_pairs",
            "max_extend_pairs",
            "max_refine_cells",
            "max_align_cells",
            "max_passages",
            "max_exact_pairs",
            "boilerplate_articles",
        ):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 16 <= self.num_perm <= 1024:
            raise InvalidInput(f"num_perm must be in [16, 1024], got {self.num_perm}")
        for name in (
            "lsh_threshold",
            "index_threshold",
            "candidate_threshold",
            "seed_threshold",
            "extend_threshold",
            "passage_threshold",
        ):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise InvalidInput(f"{name} must be in (0.0, 1.0], got {value}")
        if self.min_match_tokens < 1:
            raise InvalidInput(f"min_match_tokens must be >= 1, got {self.min_match_tokens}")
        if self.min_split_run_tokens < self.min_exact_run_tokens:
            raise InvalidInput(
                f"min_split_run_tokens ({self.min_split_run_tokens}) must be >= "
                f"min_exact_run_tokens ({self.min_exact_run_tokens})"
            )
        if not 2 <= self.min_quote_tokens <= self.min_exact_run_tokens:
            raise InvalidInput(
                f"min_quote_tokens ({self.min_quote_tokens}) must be in [2, "
                f"min_exact_run_tokens ({self.min_exact_run_tokens})]"
            )
        if self.extend_threshold > self.seed_threshold:
            raise InvalidInput(
                f"extend_threshold ({self.extend_threshold}) must not exceed seed_threshold "
                f"({self.seed_threshold})"
            )
        if self.min_reworded_tokens < self.min_match_tokens:
            raise InvalidInput(
                f"min_reworded_tokens ({self.min_reworded_tokens}) must be >= min_match_tokens "
                f"({self.min_match_tokens})"
            )
        if self.short_passage_tokens < 0:
            raise InvalidInput(
                f"short_passage_tokens must be >= 0, got {self.short_passage_tokens}"
            )
        if self.max_gap_units < 0:
            raise InvalidInput(f"max_gap_units must be >= 0, got {self.max_gap_units}")
        if self.min_unit_tokens < 1:
            raise InvalidInput(f"min_unit_tokens must be >= 1, got {self.min_unit_tokens}")
        if self.max_unit_tokens < 2 * self.min_unit_tokens:
            raise InvalidInput(
                "max_unit_tokens must be at least twice min_unit_tokens, got "
                f"{self.max_unit_tokens} and {self.min_unit_tokens}"
            )
        if self.miss_penalty < 0:
            raise InvalidInput(f"miss_penalty must be >= 0, got {self.miss_penalty}")
        for name in (
            "shared_weight",
            "edge_cut",
            "short_passage_similarity",
            "short_passage_overlap",
            "short_text_share",
            "min_evidence_dice",
            "summary_whole_share",
            "summary_unit_dice",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInput(f"{name} must be in [0.0, 1.0], got {value}")
        if self.summary_ratio < 0:
            raise InvalidInput(
                f"summary_ratio must be >= 0 (0 disables it), got {self.summary_ratio}"
            )
        if self.summary_join_ratio < 0:
            raise InvalidInput(
                f"summary_join_ratio must be >= 0 (0: summary_ratio), got {self.summary_join_ratio}"
            )
        if self.summary_gap_tokens < 0:
            raise InvalidInput(f"summary_gap_tokens must be >= 0, got {self.summary_gap_tokens}")
        if self.merge_gap_tokens < 0:
            raise InvalidInput(f"merge_gap_tokens must be >= 0, got {self.merge_gap_tokens}")
        if self.stem_prefix < 0:
            raise InvalidInput(f"stem_prefix must be >= 0 (0 disables it), got {self.stem_prefix}")
