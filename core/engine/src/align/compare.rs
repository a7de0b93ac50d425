//! One comparison of two prepared texts: `Detector.compare` after `prepare`.

use std::collections::HashSet;

use super::exact::{shared_runs, stretches, ExactRun};
use super::indel::normalized_similarity;
use super::passages::{
    cluster_seeds, merge_adjacent, overlaps, refine, resolve_overlaps, Passage, RefineParams,
};
use super::seeds::{dice, distinct_terms, extend, seeds, sorted_dice, Seed};
use super::work::{Limit, Stopped, Work};
use super::{Config, Doc, NO_TERM};

/// A passage at least this similar (Indel) is near-verbatim.
pub const NEAR_VERBATIM_SIMILARITY: f64 = 0.8;
/// A shared quote needs this many content terms: five function words prove nothing.
pub const MIN_QUOTE_CONTENT_TERMS: usize = 2;

/// How close a reused passage is to its source (`detect.Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Verbatim,
    NearVerbatim,
    Reworded,
    Quote,
}

/// A match as token ranges: tokens `[a0, a1)` of the first text and `[b0, b1)` of the
/// second. Python makes character offsets of it (closing punctuation included, except
/// for a quote).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub a0: usize,
    pub a1: usize,
    pub b0: usize,
    pub b1: usize,
    pub similarity: f64,
    pub kind: Kind,
}

/// The passages `a` and `b` share (`same_text`: `b` is `a`, and its repeats are
/// reported, the earlier occurrence as `a`). Stops with `Stopped` when the caller
/// gave up; every stage keeps to its bound in `cfg` and counts its work in `work`.
pub fn compare(
    a: &Doc,
    b: &Doc,
    same_text: bool,
    cfg: &Config,
    work: &mut Work,
) -> Result<Vec<Found>, Stopped> {
    work.check()?;
    let strong = seeds(a, b, same_text, cfg, work)?;
    let all = extend(a, b, &strong, same_text, cfg, work)?;
    let mut aligner = Aligner {
        a,
        b,
        same_text,
        cfg,
        work,
    };
    let found = aligner.align(&all, &strong.into_iter().collect())?;
    aligner.work.check()?;
    Ok(found.into_iter().map(|(_, m)| m).collect())
}

struct Aligner<'d, 'w, 'c> {
    a: &'d Doc,
    b: &'d Doc,
    same_text: bool,
    cfg: &'d Config,
    work: &'w mut Work<'c>,
}

fn exact_passage(r: &ExactRun) -> Passage {
    Passage {
        a0: r.a0,
        a1: r.a1(),
        b0: r.b0,
        b1: r.b1(),
        score: 2.0 * r.length as f64,
        overlap: 1.0,
    }
}

fn exact_found(r: &ExactRun, kind: Kind) -> Found {
    Found {
        a0: r.a0,
        a1: r.a1(),
        b0: r.b0,
        b1: r.b1(),
        similarity: 1.0,
        kind,
    }
}

fn in_run(doc: &Doc, token: usize) -> bool {
    doc.runs
        .iter()
        .any(|r| doc.bounds[r.start] <= token && token < doc.bounds[r.end])
}

fn run_passage(doc: &Doc, run: &super::Run) -> Passage {
    let bounds = &doc.bounds;
    let (a0, a1) = (bounds[run.start], bounds[run.end - run.period]);
    let (b0, b1) = (bounds[run.start + run.period], bounds[run.end]);
    Passage {
        a0,
        a1,
        b0,
        b1,
        score: ((a1 - a0) + (b1 - b0)) as f64,
        overlap: 1.0,
    }
}

/// Whether `r` holds every word between a pair of quotation marks of `a` or of `b`.
fn whole_quote(a: &Doc, b: &Doc, r: &ExactRun) -> bool {
    let whole = |quoted: &[bool], t0: usize, t1: usize| {
        let inside = quoted[t0..t1].iter().all(|&q| q);
        let before = t0 > 0 && quoted[t0 - 1];
        let after = t1 < quoted.len() && quoted[t1];
        inside && !before && !after
    };
    whole(&a.quoted, r.a0, r.a1()) || whole(&b.quoted, r.b0, r.b1())
}

/// The whole sentences of `a` inside `r`, as a run.
fn sentences(a: &Doc, r: &ExactRun) -> Option<ExactRun> {
    let ends = &a.sentence_ends;
    // starts = [0, *ends]; k = bisect_left(starts, r.a0)
    let k = if r.a0 == 0 {
        0
    } else {
        1 + ends.partition_point(|&e| e < r.a0)
    };
    if k > ends.len() {
        return None;
    }
    let s0 = if k == 0 { 0 } else { ends[k - 1] };
    let j = ends.partition_point(|&e| e <= r.a1());
    let mut s1 = if j > 0 { ends[j - 1] } else { 0 };
    if r.a1() == a.words.len() {
        s1 = r.a1(); // the text's last sentence may end without a mark
    }
    if s1 <= s0 {
        return None;
    }
    let b0 = r.b0 as i64 + (s0 as i64 - r.a0 as i64);
    Some(ExactRun {
        a0: s0,
        b0: usize::try_from(b0).ok()?,
        length: s1 - s0,
    })
}

/// Stable sort of runs, longest first, then by their start in `a`.
fn longest_first(runs: &mut [ExactRun]) {
    runs.sort_by_key(|r| (std::cmp::Reverse(r.length), r.a0));
}

impl Aligner<'_, '_, '_> {
    fn align(
        &mut self,
        seeds: &[Seed],
        strong: &HashSet<Seed>,
    ) -> Result<Vec<(Passage, Found)>, Stopped> {
        let built = self.build_passages(seeds, strong)?;
        self.work.check()?;
        // Overlaps are resolved before merging, so that stray short passages do not
        // sit between the pieces of one passage, and again after it.
        let kept = resolve_overlaps(&built, self.same_text, self.work)?;
        let merged = merge_adjacent(&kept, self.cfg.merge_gap_tokens, |p| self.scored(p))?;
        let mut through = Vec::with_capacity(merged.len());
        for p in merged {
            through.push(self.through_runs(p)?);
        }
        if self.same_text {
            through.extend(self.a.runs.iter().map(|r| run_passage(self.a, r)));
        }
        self.work.check()?;
        let kept = resolve_overlaps(&through, self.same_text, self.work)?;
        let least = self.least_tokens();
        let mut found = Vec::with_capacity(kept.len());
        for p in kept {
            let m = self.matched(&p)?;
            if self.long_enough(&m, &p, least) && self.evidenced(&p, &m)? {
                found.push((p, m));
            }
        }
        if !self.same_text {
            found = self.exact(found)?;
        }
        Ok(found)
    }

    /// Cluster the seeds and turn each cluster holding a strong seed into a passage
    /// (`align.build_passages` in Python: the same stack, the same order).
    fn build_passages(
        &mut self,
        seeds: &[Seed],
        strong: &HashSet<Seed>,
    ) -> Result<Vec<Passage>, Stopped> {
        let gap = self.cfg.max_gap_units as i64;
        let mut out = Vec::new();
        let mut stack: Vec<(Vec<Seed>, i64)> = cluster_seeds(seeds, gap as usize)
            .into_iter()
            .map(|c| (c, gap))
            .collect();
        while !stack.is_empty() && !self.spent()? {
            let Some((cluster, g)) = stack.pop() else {
                break;
            };
            if !cluster.iter().any(|s| strong.contains(s)) {
                continue;
            }
            if cluster.len() > 1 && !self.fits(&cluster) {
                let mut ordered = cluster.clone();
                ordered.sort_unstable();
                let half = ordered.len() / 2;
                for part in [&ordered[..half], &ordered[half..]] {
                    let parts = cluster_seeds(part, g.max(0) as usize);
                    stack.extend(parts.into_iter().map(|c| (c, g)));
                }
                continue;
            }
            match self.make(&cluster, strong)? {
                Some((passage, left_out)) => {
                    out.push(passage);
                    self.work.counters.passages += 1;
                    let parts = cluster_seeds(&left_out, g.max(0) as usize);
                    stack.extend(parts.into_iter().map(|c| (c, g)));
                }
                None if g > 0 && cluster.len() > 1 => {
                    let parts = cluster_seeds(&cluster, (g - 1) as usize);
                    stack.extend(parts.into_iter().map(|c| (c, g - 1)));
                }
                None if g == 0 && cluster.len() > 1 => {
                    stack.extend(
                        cluster
                            .iter()
                            .filter(|s| strong.contains(s))
                            .map(|&s| (vec![s], -1)),
                    );
                }
                None => {}
            }
        }
        Ok(out)
    }

    fn span(&self, cluster: &[Seed]) -> (usize, usize, usize, usize) {
        let (ab, bb) = (&self.a.bounds, &self.b.bounds);
        let ia_min = cluster.iter().map(|s| s.0).min().unwrap_or(0);
        let ia_max = cluster.iter().map(|s| s.0).max().unwrap_or(0);
        let jb_min = cluster.iter().map(|s| s.1).min().unwrap_or(0);
        let jb_max = cluster.iter().map(|s| s.1).max().unwrap_or(0);
        (ab[ia_min], ab[ia_max + 1], bb[jb_min], bb[jb_max + 1])
    }

    fn fits(&mut self, cluster: &[Seed]) -> bool {
        let (a0, a1, b0, b1) = self.span(cluster);
        if ((a1 - a0) as u64) * ((b1 - b0) as u64) <= self.cfg.max_refine_cells {
            return true;
        }
        self.work.limit(Limit::RefineCells);
        false
    }

    fn spent(&mut self) -> Result<bool, Stopped> {
        self.work.check()?; // once per cluster, refined or cut
        if self.work.is_limited(Limit::AlignCells) {
            return Ok(true);
        }
        if self.work.counters.passages >= self.cfg.max_passages {
            self.work.limit(Limit::Passages);
            return Ok(true);
        }
        Ok(false)
    }

    fn make(
        &mut self,
        cluster: &[Seed],
        strong: &HashSet<Seed>,
    ) -> Result<Option<(Passage, Vec<Seed>)>, Stopped> {
        self.work.check()?;
        self.work.counters.clusters += 1;
        let size = cluster.len() as u64;
        self.work.counters.largest_cluster = self.work.counters.largest_cluster.max(size);
        let (a0, a1, b0, b1) = self.span(cluster);
        if ((a1 - a0) as u64) * ((b1 - b0) as u64) > self.cfg.max_refine_cells {
            self.work.limit(Limit::RefineCells); // a single unit pair larger than the bound
            return Ok(None);
        }
        let Some(p) = self.refine((a0, a1, b0, b1)) else {
            return Ok(None);
        };
        let (ab, bb) = (&self.a.bounds, &self.b.bounds);
        let holds =
            |&(i, j): &Seed| ab[i] < p.a1 && p.a0 < ab[i + 1] && bb[j] < p.b1 && p.b0 < bb[j + 1];
        // The trimmed passage must still hold every strong seed it was built from, on
        // both sides; otherwise the cluster joined separate passages and is split with
        // a smaller gap. Weak seeds it drops are clustered again.
        if !cluster.iter().filter(|s| strong.contains(s)).all(holds) {
            return Ok(None);
        }
        let left_out: Vec<Seed> = cluster.iter().copied().filter(|s| !holds(s)).collect();
        Ok(self.scored(p)?.map(|passage| (passage, left_out)))
    }

    fn scored(&mut self, p: Passage) -> Result<Option<Passage>, Stopped> {
        self.work.check()?; // merging calls this once per candidate union
        if self.same_text && p.a0 < p.b1 && p.b0 < p.a1 {
            return Ok(None);
        }
        let sim = dice(&self.a.terms[p.a0..p.a1], &self.b.terms[p.b0..p.b1]);
        if sim < self.cfg.passage_threshold {
            return Ok(None);
        }
        Ok(Some(Passage {
            score: sim * ((p.a1 - p.a0) + (p.b1 - p.b0)) as f64,
            overlap: sim,
            ..p
        }))
    }

    /// `refine` of the token ranges, counted; None past `max_align_cells`.
    fn refine(&mut self, (a0, a1, b0, b1): (usize, usize, usize, usize)) -> Option<Passage> {
        let cells = ((a1 - a0) as u64) * ((b1 - b0) as u64);
        if self.work.counters.align_cells + cells > self.cfg.max_align_cells {
            self.work.limit(Limit::AlignCells);
            return None;
        }
        self.work.counters.align_cells += cells;
        let params = RefineParams {
            miss_penalty: self.cfg.miss_penalty,
            shared_weight: self.cfg.shared_weight,
            edge_cut: self.cfg.edge_cut,
        };
        refine(
            Passage::new(a0, a1, b0, b1),
            (&self.a.words, &self.a.terms),
            (&self.b.words, &self.b.terms),
            params,
        )
    }

    /// Extend a passage that ends inside a run for as long as both texts go on with
    /// the same words.
    fn through_runs(&mut self, p: Passage) -> Result<Passage, Stopped> {
        let (a, b) = (self.a, self.b);
        if !(in_run(a, p.a1) || in_run(b, p.b1)) {
            return Ok(p);
        }
        let mut room = (a.words.len() - p.a1).min(b.words.len() - p.b1) as i64;
        if self.same_text {
            room = room.min(p.b0 as i64 - p.a1 as i64);
        }
        if room <= 0 {
            return Ok(p);
        }
        let room = room as usize;
        let grow = a.words[p.a1..p.a1 + room]
            .iter()
            .zip(&b.words[p.b1..p.b1 + room])
            .take_while(|(x, y)| x == y)
            .count();
        if grow == 0 {
            return Ok(p);
        }
        let longer = self.scored(Passage::new(p.a0, p.a1 + grow, p.b0, p.b1 + grow))?;
        Ok(longer.unwrap_or(p))
    }

    fn matched(&mut self, p: &Passage) -> Result<Found, Stopped> {
        let (wa, wb) = (&self.a.words[p.a0..p.a1], &self.b.words[p.b0..p.b1]);
        let similarity = if wa == wb {
            1.0 // a copy (often a long run): no alignment needed
        } else {
            self.work.check()?;
            self.work.counters.similarity_cells += (wa.len() as u64) * (wb.len() as u64);
            normalized_similarity(wa, wb)
        };
        let kind = if similarity >= 1.0 {
            Kind::Verbatim
        } else if similarity >= NEAR_VERBATIM_SIMILARITY {
            Kind::NearVerbatim
        } else {
            Kind::Reworded
        };
        Ok(Found {
            a0: p.a0,
            a1: p.a1,
            b0: p.b0,
            b1: p.b1,
            similarity,
            kind,
        })
    }

    /// The shortest copy reported: `min_match_tokens`, scaled down for short texts.
    fn least_tokens(&self) -> usize {
        let cfg = self.cfg;
        if cfg.short_text_share == 0.0 {
            return cfg.min_match_tokens;
        }
        let shorter = self.a.words.len().min(self.b.words.len());
        let scaled = (cfg.short_text_share * shorter as f64).ceil() as usize;
        cfg.min_match_tokens.min(cfg.min_quote_tokens.max(scaled))
    }

    fn long_enough(&self, m: &Found, p: &Passage, least: usize) -> bool {
        let cfg = self.cfg;
        let shortest = (p.a1 - p.a0).min(p.b1 - p.b0);
        if m.kind == Kind::Reworded {
            if shortest < cfg.short_passage_tokens
                && m.similarity < cfg.short_passage_similarity
                && p.overlap < cfg.short_passage_overlap
            {
                return false;
            }
            return shortest >= cfg.min_reworded_tokens;
        }
        shortest >= least
    }

    /// The Dice coefficient of the distinct content terms of `p`'s two sides, leaving
    /// out the tokens that name (capitalised inside a sentence, or holding a digit).
    fn unnamed_dice(&self, p: &Passage) -> f64 {
        let (a, b) = (self.a, self.b);
        let unnamed = |d: &Doc, t0: usize, t1: usize| {
            distinct_terms(
                d.terms[t0..t1]
                    .iter()
                    .zip(&d.named[t0..t1])
                    .filter(|(_, &n)| !n)
                    .map(|(&t, _)| t),
            )
        };
        sorted_dice(&unnamed(a, p.a0, p.a1), &unnamed(b, p.b0, p.b1))
    }

    /// Names, numbers, dates and places alone never make a reworded match: the
    /// Dice coefficient of its content terms, the tokens that name left out, must
    /// reach `min_evidence_dice` (or half the Dice with them). A passage shorter than
    /// `short_passage_tokens` is judged in order as well: the Indel similarity of its
    /// words, those that name left out (an ordered Dice coefficient), must reach
    /// `min_evidence_dice` too. Two reports of one event share a sentence's names,
    /// numbers and dates in the same order, and those alone carry a short stretch of
    /// different sentences over the short-passage bars.
    fn evidenced(&mut self, p: &Passage, m: &Found) -> Result<bool, Stopped> {
        if m.kind != Kind::Reworded {
            return Ok(true);
        }
        let cfg = self.cfg;
        let (ta, tb) = (&self.a.terms[p.a0..p.a1], &self.b.terms[p.b0..p.b1]);
        let said = self.unnamed_dice(p);
        if said < cfg.min_evidence_dice && said < dice(ta, tb) / 2.0 {
            return Ok(false);
        }
        if (p.a1 - p.a0).min(p.b1 - p.b0) >= cfg.short_passage_tokens {
            return Ok(true);
        }
        let unnamed = |d: &Doc, t0: usize, t1: usize| -> Vec<i64> {
            (t0..t1)
                .filter(|&k| !d.named[k])
                .map(|k| d.words[k])
                .collect()
        };
        let (wa, wb) = (unnamed(self.a, p.a0, p.a1), unnamed(self.b, p.b0, p.b1));
        if wa.is_empty() || wb.is_empty() {
            return Ok(false);
        }
        self.work.check()?;
        self.work.counters.similarity_cells += (wa.len() as u64) * (wb.len() as u64);
        Ok(normalized_similarity(&wa, &wb) >= cfg.min_evidence_dice)
    }

    /// Exact runs are never swallowed (`Detector._exact` in Python).
    fn exact(&mut self, found: Vec<(Passage, Found)>) -> Result<Vec<(Passage, Found)>, Stopped> {
        let (a, b, cfg) = (self.a, self.b, self.cfg);
        self.work.check()?;
        let (runs, proposed, complete) = shared_runs(&a.windows, &b.windows, cfg.max_exact_pairs);
        self.work.counters.exact_pairs += proposed;
        if !complete {
            self.work.limit(Limit::ExactPairs);
        }
        if runs.is_empty() {
            return Ok(found);
        }
        let mut quotes = self.quoted_runs(&runs);
        longest_first(&mut quotes);
        let mut whole: Vec<ExactRun> = runs
            .iter()
            .filter_map(|r| sentences(a, r))
            .filter(|x| x.length >= cfg.min_exact_run_tokens)
            .collect();
        longest_first(&mut whole);
        let strong: Vec<ExactRun> = quotes
            .iter()
            .filter(|r| whole_quote(a, b, r))
            .chain(
                whole
                    .iter()
                    .filter(|r| r.length >= cfg.min_split_run_tokens),
            )
            .copied()
            .collect();
        let mut out: Vec<(Passage, Found)> = Vec::new();
        for (p, m) in found {
            let inside: Vec<ExactRun> = strong
                .iter()
                .filter(|r| {
                    overlaps(r.a0, r.a1(), p.a0, p.a1) && overlaps(r.b0, r.b1(), p.b0, p.b1)
                })
                .copied()
                .collect();
            if m.kind != Kind::Reworded || inside.is_empty() {
                out.push((p, m));
                continue;
            }
            let pieces = self.split(&p, &inside)?;
            out.extend(pieces);
        }
        let mut taken: Vec<Passage> = out.iter().map(|(p, _)| *p).collect();
        let free = |r: &ExactRun, taken: &[Passage]| {
            !taken
                .iter()
                .any(|t| overlaps(r.a0, r.a1(), t.a0, t.a1) || overlaps(r.b0, r.b1(), t.b0, t.b1))
        };
        for r in &whole {
            if free(r, &taken) {
                let q = exact_passage(r);
                out.push((q, exact_found(r, Kind::Verbatim)));
                taken.push(q);
            }
        }
        for r in &quotes {
            if whole_quote(a, b, r) && free(r, &taken) {
                let q = exact_passage(r);
                out.push((q, exact_found(r, Kind::Quote)));
                taken.push(q);
            }
        }
        out.sort_by_key(|(p, _)| (p.a0, p.b0));
        Ok(out)
    }

    /// The parts of `runs` inside quotation marks, each with enough content terms.
    fn quoted_runs(&self, runs: &[ExactRun]) -> Vec<ExactRun> {
        let (a, b) = (self.a, self.b);
        let least = self.cfg.min_quote_tokens;
        let mut out = Vec::new();
        for r in runs {
            let qa = &a.quoted[r.a0..r.a1()];
            let qb = &b.quoted[r.b0..r.b1()];
            if !(qa.iter().any(|&q| q) || qb.iter().any(|&q| q)) {
                continue;
            }
            let mut parts = stretches(qa.iter().zip(qb).map(|(&x, &y)| x && y), least);
            if parts.is_empty() {
                parts = stretches(qa.iter().zip(qb).map(|(&x, &y)| x || y), least);
            }
            for (s, e) in parts {
                let piece = ExactRun {
                    a0: r.a0 + s,
                    b0: r.b0 + s,
                    length: e - s,
                };
                let content = a.terms[piece.a0..piece.a1()]
                    .iter()
                    .filter(|&&t| t != NO_TERM)
                    .count();
                if content >= MIN_QUOTE_CONTENT_TERMS {
                    out.push(piece);
                }
            }
        }
        out
    }

    /// `p` cut around the exact `runs` it holds: the runs as verbatim matches, and
    /// the pieces between them refined again and kept when they still pass.
    fn split(&mut self, p: &Passage, runs: &[ExactRun]) -> Result<Vec<(Passage, Found)>, Stopped> {
        let mut chosen: Vec<ExactRun> = Vec::new();
        for r in runs {
            if chosen
                .iter()
                .all(|c| (r.a1() <= c.a0 && r.b1() <= c.b0) || (c.a1() <= r.a0 && c.b1() <= r.b0))
            {
                chosen.push(*r);
            }
        }
        chosen.sort_by_key(|r| r.a0);
        let mut out: Vec<(Passage, Found)> = chosen
            .iter()
            .map(|r| (exact_passage(r), exact_found(r, Kind::Verbatim)))
            .collect();
        let mut edges_a = vec![p.a0];
        let mut edges_b = vec![p.b0];
        for r in &chosen {
            edges_a.extend([r.a0, r.a1()]);
            edges_b.extend([r.b0, r.b1()]);
        }
        edges_a.push(p.a1);
        edges_b.push(p.b1);
        let least = self.least_tokens();
        for k in (0..edges_a.len()).step_by(2) {
            let (a0, a1, b0, b1) = (edges_a[k], edges_a[k + 1], edges_b[k], edges_b[k + 1]);
            if a1 <= a0 || b1 <= b0 {
                continue;
            }
            let Some(refined) = self.refine((a0, a1, b0, b1)) else {
                continue;
            };
            let Some(piece) = self.scored(refined)? else {
                continue;
            };
            let m = self.matched(&piece)?;
            if self.long_enough(&m, &piece, least) && self.evidenced(&piece, &m)? {
                out.push((piece, m));
            }
        }
        Ok(out)
    }
}
