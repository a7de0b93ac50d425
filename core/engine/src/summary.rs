//! Summary mode: a short passage that summarises a much longer source becomes one match.
//!
//! A summary keeps a few sentences of its source, each shortened, and drops the rest:
//! the alignment finds some of those sentences as separate small matches, or one match
//! over a few of them, that lie close together in the article and far apart in the
//! source (PAN-13's summary obfuscation: 0.19 plagdet before this stage). The best PAN
//! systems notice this shape, a detected source region several times longer than the
//! article's, and merge again with a very large gap so that one long source span is
//! reported.
//!
//! This stage does the same on the matches of one pair, after alignment, judging
//! sentences (units) rather than matches:
//!
//! 1. a pair holding a shared quote (kind `Quote`, or verbatim inside quotation marks)
//!    is left as it is, and so is one holding a match longer than a
//!    `summary_join_ratio`-th of the source: it cannot be the short side of a summary;
//! 2. every article unit within `summary_gap_tokens` of a match finds its best source
//!    unit anywhere in the source, and a unit a match overlaps its best one inside that
//!    match's source span (the alignment already placed it), by the Dice of their
//!    content terms, names and numbers left out (two reports of one event share those).
//!    It is a *piece* when that Dice reaches `summary_unit_dice` on `MIN_SHARED_TERMS`
//!    terms or more;
//! 3. matches and pieces that follow each other in the article with at most
//!    `summary_gap_tokens` between them form a group; they are joined only if they all
//!    form one group (reuse in several places of the article is left alone) with
//!    `MIN_GROUP` pieces or more and a match that is not verbatim, and the group is:
//!    - *dense*: matches and pieces hold `COVER_SHARE` of its units (a summary is
//!      explained sentence by sentence, chance agreements are scattered);
//!    - *in order*: the longest chain of pieces whose source units follow the
//!      article's order holds `ORDER_SHARE` of them (a summary keeps its source's
//!      order; two reports of one event tell it each in their own);
//!    - *stretched*: that chain's source hull is `summary_join_ratio` times its
//!      article hull, and not by one chance agreement: either the pieces inside
//!      matches alone are so stretched (matches far apart in the source, or one match
//!      stretched itself), or two pieces outside every match or more are in the chain
//!      (one sentence that agrees with some unit of a long source is chance; a copy
//!      maps its sentences to consecutive ones and never stretches): an exact match
//!      with one chance neighbour is not swallowed by a loose one, it stays as the
//!      alignment found it;
//! 4. the group becomes one `Reworded` match over the article hull and the source hull
//!    of the chain and the matches. It is a *summary* when its source hull is
//!    `summary_ratio` times its article hull; a summary whose source hull covers
//!    `summary_whole_share` of the source text takes the whole source (a summary of an
//!    article summarises all of it; PAN-13's summary cases all span their whole source
//!    document). A group joined below `summary_ratio` keeps its hulls: a passage
//!    reworded with its sentences shortened or moved, found by alignment in pieces.
//!
//! It starts only from matches that alignment reported, so it never flags text that
//! shares nothing with the source: two reports of one event, which alignment leaves
//! without matches, stay so. Work: at most `max_extend_pairs` unit pairs looked at
//! (counted in `Work.extend_pairs`), each article unit scored against all source units
//! in one pass over the source units holding its terms, then one over the row.
//!
//! It was a numpy module (`engine/summary.py`, kept as the oracle
//! `tests/summary_reference.py`) and is bit-identical to it: counts are integers, each
//! Dice is `2 * shared / max(1, |x| + |y|)` in one `f64` division as numpy's, the best
//! source unit is the first largest (`argmax`), every threshold compares an integer
//! (exact in `f64`) with the same `f64` product, and the joined similarity adds its
//! weighted terms one after another from the first match in article order, as
//! Python 3.11's `sum` does.

use crate::align::{Doc, Kind, Limit, Stopped, Work};
use crate::matches::{Span, Spans};
use crate::numbering::Numbering;
use crate::text::terms::NO_TERM;

/// An article unit with fewer distinct content terms is no evidence of a summary.
pub const MIN_PIECE_TERMS: usize = 4;
/// A piece shares at least this many content terms with its source unit: two terms
/// agree by chance between any two sentences on one topic.
pub const MIN_SHARED_TERMS: u32 = 3;
/// A summary is at least this many pieces: one or two sentences that agree with source
/// sentences beside a match are chance in news on one topic.
pub const MIN_GROUP: usize = 3;
/// Least share of the group's units (with `MIN_PIECE_TERMS`) a match or a piece holds.
pub const COVER_SHARE: f64 = 0.6;
/// Least share of the pieces in the longest chain that follows the source's order.
pub const ORDER_SHARE: f64 = 0.6;

/// The settings of `EngineConfig` this stage reads (`summary_*`); `ratio` or
/// `unit_dice` 0 turns it off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryConfig {
    pub ratio: f64,
    pub join_ratio: f64,
    pub gap_tokens: usize,
    pub whole_share: f64,
    pub unit_dice: f64,
}

impl SummaryConfig {
    /// The stage off.
    pub const OFF: SummaryConfig = SummaryConfig {
        ratio: 0.0,
        join_ratio: 0.0,
        gap_tokens: 0,
        whole_share: 0.0,
        unit_dice: 0.0,
    };

    /// `summary_join_ratio`, or `summary_ratio` when it is 0 (Python's `or`).
    fn join(&self) -> f64 {
        if self.join_ratio != 0.0 {
            self.join_ratio
        } else {
            self.ratio
        }
    }
}

/// Token ranges in the article and the source; `found` is the index of the match it
/// comes from (None for a unit pair found by this stage), `held` when a match
/// overlaps its article unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    a0: usize,
    a1: usize,
    b0: usize,
    b1: usize,
    found: Option<usize>,
    held: bool,
}

/// The units of `doc` that overlap the tokens `[t0, t1)` (numpy's `searchsorted` on
/// the unit bounds, right then left), as a range that may be empty.
fn units_in(doc: &Doc, t0: usize, t1: usize) -> (usize, usize) {
    let bounds = &doc.bounds;
    let u0 = bounds.partition_point(|&x| x <= t0).saturating_sub(1);
    let u1 = bounds.partition_point(|&x| x < t1).min(doc.units());
    (u0, u1.max(u0))
}

/// Distinct content terms of unit `u`.
fn size(doc: &Doc, u: usize) -> usize {
    doc.feature_starts[u + 1] - doc.feature_starts[u]
}

/// The distinct said terms of unit `u` (content terms that do not name), sorted.
fn said_terms(doc: &Doc, u: usize, out: &mut Vec<i64>) {
    out.clear();
    for t in doc.bounds[u]..doc.bounds[u + 1] {
        if doc.terms[t] != NO_TERM && !doc.named[t] {
            out.push(doc.terms[t]);
        }
    }
    out.sort_unstable();
    out.dedup();
}

/// Every source unit's said terms: for each distinct term, the units holding it (a
/// list linked through `links`, last unit first), and the number of them per unit.
struct SourceTerms {
    terms: Numbering,
    /// Per term number: its last link, or `NONE`.
    head: Vec<u32>,
    /// `(unit, next link)`.
    links: Vec<(u32, u32)>,
    sizes: Vec<f64>,
}

const NONE: u32 = u32::MAX;

impl SourceTerms {
    fn new(b: &Doc) -> SourceTerms {
        let nb = b.units();
        let mut terms = Numbering::with_capacity(b.features.len());
        let mut head = Vec::new();
        let mut links = Vec::new();
        let mut sizes = Vec::with_capacity(nb);
        let mut said = Vec::new();
        for j in 0..nb {
            said_terms(b, j, &mut said);
            sizes.push(said.len() as f64);
            for &t in &said {
                let g = terms.add((t as u64, 0)) as usize;
                if g == head.len() {
                    head.push(NONE);
                }
                links.push((j as u32, head[g]));
                head[g] = (links.len() - 1) as u32;
            }
        }
        SourceTerms {
            terms,
            head,
            links,
            sizes,
        }
    }

    /// Article unit `u`'s row: the terms it shares with each source unit (`shared`,
    /// one per source unit), and their Dice (`dice`). Work: the source units holding
    /// each of its terms, then the row.
    fn row(&self, a: &Doc, u: usize, terms: &mut Vec<i64>, shared: &mut [u32], dice: &mut [f64]) {
        said_terms(a, u, terms);
        shared.fill(0);
        for &t in terms.iter() {
            let Some(g) = self.terms.get((t as u64, 0)) else {
                continue;
            };
            let mut link = self.head[g as usize];
            while link != NONE {
                let (j, next) = self.links[link as usize];
                shared[j as usize] += 1;
                link = next;
            }
        }
        let size = terms.len() as f64;
        for ((d, &s), &bs) in dice.iter_mut().zip(shared.iter()).zip(&self.sizes) {
            *d = 2.0 * f64::from(s) / (size + bs).max(1.0);
        }
    }
}

/// (Dice, terms shared) of every article unit in `units` (rows) with every source unit
/// (columns), row-major, on their said terms (what the numpy stage's `_dice` gave).
pub fn unit_dice(a: &Doc, b: &Doc, units: &[usize]) -> (Vec<f64>, Vec<u32>) {
    let nb = b.units();
    let source = SourceTerms::new(b);
    let mut dice = vec![0.0; units.len() * nb];
    let mut shared = vec![0; units.len() * nb];
    let mut terms = Vec::new();
    for (i, &u) in units.iter().enumerate() {
        let r = i * nb..(i + 1) * nb;
        source.row(a, u, &mut terms, &mut shared[r.clone()], &mut dice[r]);
    }
    (dice, shared)
}

/// Step 2 of the module doc: the article units near (and inside) the matches that
/// agree with a source unit; `Ok(None)` when the bound stops it.
fn pieces(
    a: &Doc,
    b: &Doc,
    found: &[Piece],
    cfg: &SummaryConfig,
    max_extend_pairs: u64,
    work: &mut Work,
) -> Result<Option<Vec<Piece>>, Stopped> {
    let gap = cfg.gap_tokens;
    let (ab, bb) = (&a.bounds, &b.bounds);
    let mut wanted = vec![false; a.units()];
    for p in found {
        let (u0, u1) = units_in(a, p.a0.saturating_sub(gap), p.a1.saturating_add(gap));
        wanted[u0..u1].fill(true);
    }
    let units: Vec<usize> = (0..a.units())
        .filter(|&u| wanted[u] && size(a, u) >= MIN_PIECE_TERMS)
        .collect();
    let nb = b.units();
    if units.len() < MIN_GROUP || nb == 0 {
        return Ok(Some(Vec::new()));
    }
    let pairs = (units.len() as u64).saturating_mul(nb as u64);
    if pairs > max_extend_pairs {
        work.limit(Limit::ExtendPairs);
        return Ok(None);
    }
    work.counters.extend_pairs += pairs;
    work.check()?;
    let source = SourceTerms::new(b);
    let (mut terms, mut shared, mut dice) = (Vec::new(), vec![0; nb], vec![0.0; nb]);
    let mut inside = vec![false; nb];
    let mut out = Vec::new();
    for &u in &units {
        source.row(a, u, &mut terms, &mut shared, &mut dice);
        // A unit the alignment already placed is judged inside its match's source
        // span: where it comes from is known, and a chance agreement elsewhere in the
        // source must not stretch it.
        let (start, end) = (ab[u], ab[u + 1]);
        let mut held = false;
        inside.fill(false);
        for p in found.iter().filter(|p| start < p.a1 && p.a0 < end) {
            let (r0, r1) = units_in(b, p.b0, p.b1);
            inside[r0..r1].fill(true);
            held = true;
        }
        if held {
            for (d, &ins) in dice.iter_mut().zip(&inside) {
                if !ins {
                    *d = 0.0;
                }
            }
        }
        // numpy's argmax: the first largest.
        let mut best = 0;
        for (j, &d) in dice.iter().enumerate() {
            if d > dice[best] {
                best = j;
            }
        }
        if dice[best] >= cfg.unit_dice && shared[best] >= MIN_SHARED_TERMS {
            out.push(Piece {
                a0: start,
                a1: end,
                b0: bb[best],
                b1: bb[best + 1],
                found: None,
                held,
            });
        }
    }
    Ok(Some(out))
}

/// `pieces` sorted in article order (stable, as Python's `sorted`).
fn in_article_order(pieces: &mut [Piece]) {
    pieces.sort_by_key(|p| (p.a0, p.a1));
}

/// Whether `pieces`, in article order, are one group: no more than `gap` tokens
/// separate one from the next on the article's side.
fn one_group(pieces: &[Piece], gap: usize) -> bool {
    let mut last_end = None::<usize>;
    for p in pieces {
        match last_end {
            Some(end) if (p.a0 as i64) - (end as i64) <= gap as i64 => {
                last_end = Some(end.max(p.a1));
            }
            Some(_) => return false,
            None => last_end = Some(p.a1),
        }
    }
    true
}

/// Share of the article units in `[a0, a1)` with `MIN_PIECE_TERMS` content terms that
/// a match or a piece of `group` holds.
fn covered(a: &Doc, group: &[Piece], a0: usize, a1: usize) -> f64 {
    let (u0, u1) = units_in(a, a0, a1);
    let units: Vec<usize> = (u0..u1)
        .filter(|&u| size(a, u) >= MIN_PIECE_TERMS)
        .collect();
    let held = units
        .iter()
        .filter(|&&u| {
            let (x0, x1) = (a.bounds[u], a.bounds[u + 1]);
            group.iter().any(|p| x0 < p.a1 && p.a0 < x1)
        })
        .count();
    held as f64 / units.len().max(1) as f64
}

/// The longest run of `pieces` (in article order) whose source starts do not
/// decrease: the part of a summary that keeps its source's order (patience sorting
/// with `bisect_right`, as the Python stage).
fn chain(pieces: &[Piece]) -> Vec<Piece> {
    let mut items = pieces.to_vec();
    in_article_order(&mut items);
    let mut tails: Vec<usize> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut prev = vec![usize::MAX; items.len()];
    for (i, p) in items.iter().enumerate() {
        let k = tails.partition_point(|&x| x <= p.b0);
        if k == tails.len() {
            tails.push(p.b0);
            ends.push(i);
        } else {
            tails[k] = p.b0;
            ends[k] = i;
        }
        prev[i] = if k > 0 { ends[k - 1] } else { usize::MAX };
    }
    let mut out = Vec::new();
    let mut i = ends.last().copied().unwrap_or(usize::MAX);
    while i != usize::MAX {
        out.push(items[i]);
        i = prev[i];
    }
    out.reverse();
    out
}

/// Whether `pieces` (two or more) span `ratio` times more source than article tokens.
fn stretched<'p>(pieces: impl Iterator<Item = &'p Piece> + Clone, ratio: f64) -> bool {
    if pieces.clone().count() < 2 {
        return false;
    }
    let hull = |lo: fn(&Piece) -> usize, hi: fn(&Piece) -> usize| {
        let start = pieces.clone().map(lo).min().unwrap_or(0);
        let end = pieces.clone().map(hi).max().unwrap_or(0);
        end as f64 - start as f64
    };
    let a_hull = hull(|p| p.a0, |p| p.a1);
    let b_hull = hull(|p| p.b0, |p| p.b1);
    b_hull >= ratio * a_hull
}

/// Python's `ends[t1 - 1]`: the last token for `t1 == 0`.
fn last_end(spans: &Spans, t1: usize) -> usize {
    let t = t1.checked_sub(1).unwrap_or(spans.len().saturating_sub(1));
    spans.ends[t] as usize
}

/// The group (every match and piece, in article order) as one match, or None when it
/// is not to be joined (steps 3 and 4).
fn merged(
    a: &Doc,
    sa: &Spans,
    sb: &Spans,
    matches: &[Span],
    group: &[Piece],
    cfg: &SummaryConfig,
) -> Option<Span> {
    let found: Vec<&Span> = group
        .iter()
        .filter_map(|p| p.found.map(|k| &matches[k]))
        .collect();
    let pieces: Vec<Piece> = group
        .iter()
        .filter(|p| p.found.is_none())
        .copied()
        .collect();
    // Verbatim matches alone are copied sentences, each reported as it is.
    if pieces.len() < MIN_GROUP || found.iter().all(|m| m.kind == Kind::Verbatim) {
        return None;
    }
    let a0 = group.iter().map(|p| p.a0).min()?;
    let a1 = group.iter().map(|p| p.a1).max()?;
    if covered(a, group, a0, a1) < COVER_SHARE {
        return None;
    }
    let chain = chain(&pieces);
    let jr = cfg.join();
    if (chain.len() as f64) < ORDER_SHARE * pieces.len() as f64 || !stretched(chain.iter(), jr) {
        return None;
    }
    let free = chain.iter().filter(|p| !p.held).count();
    if !stretched(chain.iter().filter(|p| p.held), jr) && free < 2 {
        return None;
    }
    let ends = group.iter().filter(|p| p.found.is_some()).chain(&chain);
    let b0 = ends.clone().map(|p| p.b0).min()?;
    let b1 = ends.map(|p| p.b1).max()?;
    let lowest = |x: usize, f: fn(&Span) -> usize| found.iter().map(|m| f(m)).fold(x, usize::min);
    let highest = |x: usize, f: fn(&Span) -> usize| found.iter().map(|m| f(m)).fold(x, usize::max);
    let a_start = lowest(sa.starts[a0] as usize, |m| m.a_start);
    let a_end = highest(last_end(sa, a1), |m| m.a_end);
    let mut b_start = lowest(sb.starts[b0] as usize, |m| m.b_start);
    let mut b_end = highest(last_end(sb, b1), |m| m.b_end);
    let length = |start: usize, end: usize| end as f64 - start as f64;
    // Joined, but a summary of the whole source only when stretched by summary_ratio.
    let summary = length(b_start, b_end) >= cfg.ratio * length(a_start, a_end);
    let share = cfg.whole_share;
    if summary && share != 0.0 && length(b_start, b_end) >= share * sb.chars as f64 {
        (b_start, b_end) = (0, sb.chars);
    }
    let weight: i64 = found
        .iter()
        .map(|m| m.a_end as i64 - m.a_start as i64)
        .sum();
    let mut total = 0.0;
    for m in &found {
        total += m.similarity * (m.a_end as f64 - m.a_start as f64);
    }
    Some(Span {
        a_start,
        a_end,
        b_start,
        b_end,
        similarity: total / weight.max(1) as f64,
        kind: Kind::Reworded,
    })
}

/// Whether a match is a shared quote: kind `Quote`, or verbatim inside quotation marks
/// (a quote cut out of a reworded match).
fn quoted(a: &Doc, p: &Piece, m: &Span) -> bool {
    match m.kind {
        Kind::Quote => true,
        Kind::Verbatim => a.quoted[p.a0..p.a1].iter().all(|&q| q),
        _ => false,
    }
}

/// The match that replaces `matches` of `a` (the article, with its token spans `sa`)
/// against `b` (a source, `sb`) when they are one group that summarises a much longer
/// source region (module doc); None when they stay as they are. Not for the repeats of
/// one text. Adds the unit pairs it looks at to `work`'s `extend_pairs` (bounded by
/// `max_extend_pairs`, which it names in `work`'s bounds reached when it stops there)
/// and asks `work`'s cancellation before scoring them.
#[allow(clippy::too_many_arguments)]
pub fn summarise(
    a: &Doc,
    sa: &Spans,
    b: &Doc,
    sb: &Spans,
    matches: &[Span],
    cfg: &SummaryConfig,
    max_extend_pairs: u64,
    work: &mut Work,
) -> Result<Option<Span>, Stopped> {
    if cfg.ratio == 0.0 || cfg.unit_dice == 0.0 || matches.is_empty() {
        return Ok(None);
    }
    let found: Vec<Piece> = matches
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let (a0, a1) = sa.token_range(m.a_start, m.a_end);
            let (b0, b1) = sb.token_range(m.b_start, m.b_end);
            Piece {
                a0,
                a1,
                b0,
                b1,
                found: Some(k),
                held: false,
            }
        })
        .collect();
    // A shared quote (words someone said, reported on their own) leaves the pair as it
    // is, and so does a match too long to be the short side of a summary.
    let longest = sb.len() as f64 / cfg.join();
    if found
        .iter()
        .zip(matches)
        .any(|(p, m)| quoted(a, p, m) || (p.a1 - p.a0) as f64 > longest)
    {
        return Ok(None);
    }
    let Some(pieces) = pieces(a, b, &found, cfg, max_extend_pairs, work)? else {
        return Ok(None);
    };
    if pieces.is_empty() {
        return Ok(None);
    }
    let mut group = found;
    group.extend(pieces);
    in_article_order(&mut group);
    // One summarised region per source: a pair whose reuse lies in several places of
    // the article (several copied passages, or a stray match beside one) is no summary.
    if !one_group(&group, cfg.gap_tokens) {
        return Ok(None);
    }
    Ok(merged(a, sa, sb, matches, &group, cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::Counters;
    use crate::prepare::{prepare, test_config};
    use std::collections::BTreeSet;

    const ON: SummaryConfig = SummaryConfig {
        ratio: 3.0,
        join_ratio: 1.5,
        gap_tokens: 60,
        whole_share: 0.3,
        unit_dice: 0.3,
    };

    fn doc(text: &str) -> (Doc, Spans) {
        let chars: Vec<char> = text.chars().collect();
        let cfg = test_config();
        let mut p = prepare(&chars, &cfg);
        (p.doc(cfg.bands), std::mem::take(&mut p.spans))
    }

    /// Made-up words of six letters, distinct in their stems.
    fn vocabulary() -> Vec<String> {
        let syl = ["ba", "ke", "lo", "mu", "ri", "so", "ta", "vi", "no", "pe"];
        let mut out = Vec::new();
        for x in syl {
            for y in syl {
                for z in ["rk", "nd", "lt"] {
                    out.push(format!("{x}{y}{z}"));
                }
            }
        }
        out
    }

    /// A small deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn sentence(&mut self, words: &[String]) -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            while out.len() < 18 {
                let w = &words[self.below(words.len())];
                if !out.contains(w) {
                    out.push(w.clone());
                }
            }
            out
        }
    }

    fn text(sentences: &[Vec<String>]) -> String {
        let lines: Vec<String> = sentences.iter().map(|s| s.join(" ") + ".").collect();
        lines.join(" ")
    }

    fn shortened(s: &[String]) -> Vec<String> {
        [&s[..3], &s[4..8], &s[9..15]].concat()
    }

    /// (article, source): the article shortens source sentences 2, 13, 25 and 37.
    fn summary_pair() -> (String, String) {
        let words = vocabulary();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let source: Vec<Vec<String>> = (0..40).map(|_| rng.sentence(&words)).collect();
        let kept: Vec<Vec<String>> = [2, 13, 25, 37]
            .iter()
            .map(|&k| shortened(&source[k]))
            .collect();
        (text(&kept), text(&source))
    }

    /// The alignment's match of the article's first sentence with source sentence 2.
    fn first_match(sa: &Spans, sb: &Spans, kind: Kind) -> Span {
        Span {
            a_start: sa.starts[0] as usize,
            a_end: sa.ends[12] as usize,
            b_start: sb.starts[36] as usize,
            b_end: sb.ends[53] as usize,
            similarity: 0.8,
            kind,
        }
    }

    #[test]
    fn a_summary_of_a_long_source_becomes_one_match_over_all_of_it() {
        let (article, source) = summary_pair();
        let ((a, sa), (b, sb)) = (doc(&article), doc(&source));
        assert_eq!((a.units(), b.units()), (4, 40), "a unit a sentence");
        let m = first_match(&sa, &sb, Kind::NearVerbatim);
        let mut work = Work::new(Counters::default(), None);
        let joined = summarise(&a, &sa, &b, &sb, &[m], &ON, 1_000, &mut work)
            .expect("not cancelled")
            .expect("joined");
        assert_eq!(joined.kind, Kind::Reworded);
        assert_eq!(
            (joined.a_start, joined.a_end),
            (0, *sa.ends.last().unwrap() as usize)
        );
        assert_eq!((joined.b_start, joined.b_end), (0, source.chars().count()));
        let w = (m.a_end - m.a_start) as f64;
        assert_eq!(joined.similarity, 0.8 * w / w);
        assert_eq!(work.counters.extend_pairs, 4 * 40);
        // Below the whole-source share, the match spans the sentences found.
        let hull = SummaryConfig {
            whole_share: 0.0,
            ..ON
        };
        let mut work = Work::new(Counters::default(), None);
        let j = summarise(&a, &sa, &b, &sb, &[m], &hull, 1_000, &mut work)
            .unwrap()
            .unwrap();
        assert_eq!(
            (j.b_start, j.b_end),
            (sb.starts[36] as usize, sb.ends[37 * 18 + 17] as usize)
        );
    }

    #[test]
    fn off_quoted_copied_or_bounded_pairs_are_left_alone() {
        let (article, source) = summary_pair();
        let ((a, sa), (b, sb)) = (doc(&article), doc(&source));
        let near = first_match(&sa, &sb, Kind::NearVerbatim);
        let run = |m: Span, cfg: &SummaryConfig, bound: u64| {
            let mut work = Work::new(Counters::default(), None);
            let out = summarise(&a, &sa, &b, &sb, &[m], cfg, bound, &mut work).unwrap();
            (
                out,
                work.counters.extend_pairs,
                work.is_limited(Limit::ExtendPairs),
            )
        };
        assert_eq!(run(near, &SummaryConfig::OFF, 1_000), (None, 0, false));
        let no_dice = SummaryConfig {
            unit_dice: 0.0,
            ..ON
        };
        assert_eq!(run(near, &no_dice, 1_000), (None, 0, false));
        assert_eq!(
            run(first_match(&sa, &sb, Kind::Quote), &ON, 1_000),
            (None, 0, false)
        );
        // Verbatim sentences alone are copies, reported as they are.
        assert_eq!(
            run(first_match(&sa, &sb, Kind::Verbatim), &ON, 1_000),
            (None, 160, false)
        );
        // One unit pair past the bound: nothing counted, the bound named.
        assert_eq!(run(near, &ON, 159), (None, 0, true));
        assert!(run(near, &ON, 160).0.is_some());
        let strict = SummaryConfig {
            unit_dice: 0.95,
            ..ON
        };
        assert_eq!(run(near, &strict, 1_000), (None, 160, false));
    }

    #[test]
    fn unit_dice_is_dice_on_sets_of_said_terms() {
        let words = vocabulary();
        let mut rng = Rng(12_345);
        let source: Vec<Vec<String>> = (0..9).map(|_| rng.sentence(&words[..60])).collect();
        let mut a_text = text(
            &source[2..5]
                .iter()
                .map(|s| shortened(s))
                .collect::<Vec<_>>(),
        );
        a_text += " Maria Lopez paid 1200 dollars in March.";
        let ((a, _), (b, _)) = (doc(&a_text), doc(&text(&source)));
        let units: Vec<usize> = (0..a.units()).collect();
        let (dice, shared) = unit_dice(&a, &b, &units);
        let said = |d: &Doc, u: usize| -> BTreeSet<i64> {
            (d.bounds[u]..d.bounds[u + 1])
                .filter(|&t| d.terms[t] != NO_TERM && !d.named[t])
                .map(|t| d.terms[t])
                .collect()
        };
        let mut best = 0.0f64;
        for u in 0..a.units() {
            let x = said(&a, u);
            for j in 0..b.units() {
                let y = said(&b, j);
                let both = x.intersection(&y).count();
                let k = u * b.units() + j;
                assert_eq!(shared[k] as usize, both);
                let want = 2.0 * both as f64 / ((x.len() + y.len()) as f64).max(1.0);
                assert_eq!(dice[k], want);
                best = best.max(dice[k]);
            }
        }
        assert!(
            best > 0.5,
            "the shortened sentences agree with their source"
        );
    }

    fn piece(a0: usize, a1: usize, b0: usize) -> Piece {
        Piece {
            a0,
            a1,
            b0,
            b1: b0 + 5,
            found: None,
            held: false,
        }
    }

    #[test]
    fn the_chain_is_the_longest_run_of_rising_source_starts() {
        let b0s = [50, 10, 20, 20, 5, 30, 25, 40];
        let pieces: Vec<Piece> = b0s
            .iter()
            .enumerate()
            .map(|(i, &b)| piece(i * 10, i * 10 + 8, b))
            .collect();
        let chain: Vec<usize> = chain(&pieces).iter().map(|p| p.b0).collect();
        // bisect_right keeps equal starts: 10, 20, 20, 25, 40 (the last of the ties).
        assert_eq!(chain, vec![10, 20, 20, 25, 40]);
        assert!(super::chain(&[]).is_empty());
    }

    #[test]
    fn groups_are_cut_at_gaps_wider_than_the_setting() {
        let ps = [piece(0, 10, 0), piece(5, 30, 0), piece(40, 50, 0)];
        assert!(one_group(&ps, 10));
        assert!(!one_group(&ps, 9));
        assert!(one_group(&[], 0));
        assert!(stretched([piece(0, 10, 0), piece(10, 20, 100)].iter(), 5.0));
        assert!(!stretched(
            [piece(0, 10, 0), piece(10, 20, 100)].iter(),
            6.0
        ));
        assert!(
            !stretched([piece(0, 10, 0)].iter(), 0.0),
            "one piece is never stretched"
        );
    }

    #[test]
    fn units_in_is_numpys_searchsorted() {
        let (a, _) = doc(&summary_pair().0);
        // Units of 13 tokens: 0..13, 13..26, 26..39, 39..52.
        assert_eq!(a.bounds, vec![0, 13, 26, 39, 52]);
        assert_eq!(units_in(&a, 0, 13), (0, 1));
        assert_eq!(units_in(&a, 12, 14), (0, 2));
        assert_eq!(units_in(&a, 13, 13), (1, 1));
        assert_eq!(units_in(&a, 50, 500), (3, 4));
        assert_eq!(units_in(&a, 60, 70), (4, 4));
    }
}
