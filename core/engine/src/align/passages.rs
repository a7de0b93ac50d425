//! Passages: seeds clustered, refined at token level, merged and kept without overlap.

use super::indel::aligned;
use super::seeds::Seed;
use super::work::{Stopped, Work};
use super::NO_TERM;

/// On the second side, pieces of one passage may lie this many times further apart:
/// summaries and reordered rewrites spread a passage's sentences over more source text.
pub const SECOND_SIDE_GAP_FACTOR: i64 = 3;

/// Token ranges `[a0, a1)` and `[b0, b1)` judged to be the same passage; `overlap` is
/// the Dice coefficient of their content terms, `score` ranks competing passages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Passage {
    pub a0: usize,
    pub a1: usize,
    pub b0: usize,
    pub b1: usize,
    pub score: f64,
    pub overlap: f64,
}

impl Passage {
    pub fn new(a0: usize, a1: usize, b0: usize, b1: usize) -> Self {
        Passage {
            a0,
            a1,
            b0,
            b1,
            score: 0.0,
            overlap: 0.0,
        }
    }
}

/// Whether `[x0, x1)` and `[y0, y1)` share a position.
pub fn overlaps(x0: usize, x1: usize, y0: usize, y1: usize) -> bool {
    x0 < y1 && y0 < x1
}

fn split(group: &[Seed], axis: usize, gap: usize) -> Vec<Vec<Seed>> {
    let key = |s: &Seed| if axis == 0 { s.0 } else { s.1 };
    let mut group = group.to_vec();
    group.sort_by_key(key); // stable, as Python's sorted
    let mut parts: Vec<Vec<Seed>> = vec![vec![group[0]]];
    for w in group.windows(2) {
        if key(&w[1]) - key(&w[0]) > gap + 1 {
            parts.push(vec![w[1]]);
        } else if let Some(last) = parts.last_mut() {
            last.push(w[1]);
        }
    }
    parts
}

/// Group seeds so that, inside a group, sorting on either side leaves no hole of
/// more than `gap` units; splits alternate between the sides until neither splits.
pub fn cluster_seeds(seeds: &[Seed], gap: usize) -> Vec<Vec<Seed>> {
    if seeds.is_empty() {
        return Vec::new();
    }
    let mut done = Vec::new();
    let mut stack: Vec<(Vec<Seed>, usize, bool)> = vec![(seeds.to_vec(), 0, false)];
    while let Some((group, axis, other_stable)) = stack.pop() {
        let mut parts = split(&group, axis, gap);
        if parts.len() == 1 {
            let part = parts.pop().unwrap_or_default();
            if other_stable {
                done.push(part);
            } else {
                stack.push((part, 1 - axis, true));
            }
        } else {
            stack.extend(parts.into_iter().map(|p| (p, 1 - axis, false)));
        }
    }
    done
}

/// Half-open range with the largest sum (Kadane); `(0, 0)` if none is positive.
pub fn best_run(scores: impl Iterator<Item = f64>) -> (usize, usize) {
    let (mut best, mut best_range) = (0.0f64, (0, 0));
    let (mut run, mut run_start) = (0.0f64, 0);
    for (k, v) in scores.enumerate() {
        if run <= 0.0 {
            run = v;
            run_start = k;
        } else {
            run += v;
        }
        if run > best {
            best = run;
            best_range = (run_start, k + 1);
        }
    }
    best_range
}

/// numpy's pairwise summation of float64 (`np.add.reduce`), so that a mean here is
/// bit-equal to the one numpy computed.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &v in a {
            res += v;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for (j, rj) in r.iter_mut().enumerate() {
                *rj += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// The settings of `refine`.
#[derive(Debug, Clone, Copy)]
pub struct RefineParams {
    pub miss_penalty: f64,
    pub shared_weight: f64,
    pub edge_cut: f64,
}

/// The densest stretch of one side of a passage. An aligned token is worth 1; a
/// content token the alignment left out is worth `shared_weight` when its term is
/// among the other side's tokens the alignment also left out (a reordered or moved
/// word has such a partner, while a term that only repeats a word of the copy, its
/// partner already paired, is no evidence that the token belongs to the passage),
/// and costs `miss_penalty` otherwise.
fn refine_side(
    hit: &[bool],
    terms: &[i64],
    other_hit: &[bool],
    other: &[i64],
    params: RefineParams,
) -> (usize, usize) {
    let mut other_sorted: Vec<i64> = other
        .iter()
        .zip(other_hit)
        .filter(|(_, &h)| !h)
        .map(|(&t, _)| t)
        .collect();
    other_sorted.sort_unstable();
    let worth: Vec<f64> = hit
        .iter()
        .zip(terms)
        .map(|(&h, t)| {
            if h {
                1.0
            } else if other_sorted.binary_search(t).is_ok() {
                params.shared_weight
            } else {
                0.0
            }
        })
        .collect();
    let content = |k: usize| terms[k] != NO_TERM;
    let core = best_run((0..terms.len()).map(|k| {
        if !content(k) {
            0.0
        } else if worth[k] > 0.0 {
            worth[k]
        } else {
            -params.miss_penalty
        }
    }));
    let in_core: Vec<f64> = (core.0..core.1)
        .filter(|&k| content(k))
        .map(|k| worth[k])
        .collect();
    if in_core.is_empty() {
        return core;
    }
    let mean = pairwise_sum(&in_core) / in_core.len() as f64;
    let cut = params.edge_cut * params.miss_penalty.max(mean);
    best_run((0..terms.len()).map(|k| if content(k) { worth[k] - cut } else { 0.0 }))
}

/// Trim each side of a passage to its densest aligned stretch (see `align.refine`
/// in Python for the scoring). `a` and `b` are `(word_ids, term_ids)` of the texts.
pub fn refine(
    p: Passage,
    a: (&[i64], &[i64]),
    b: (&[i64], &[i64]),
    params: RefineParams,
) -> Option<Passage> {
    let (aw, bw) = (&a.0[p.a0..p.a1], &b.0[p.b0..p.b1]);
    let (at, bt) = (&a.1[p.a0..p.a1], &b.1[p.b0..p.b1]);
    let (hit_a, hit_b) = aligned(aw, bw);
    let ra = refine_side(&hit_a, at, &hit_b, bt, params);
    let rb = refine_side(&hit_b, bt, &hit_a, at, params);
    if ra.1 <= ra.0 || rb.1 <= rb.0 {
        return None;
    }
    Some(Passage {
        a0: p.a0 + ra.0,
        a1: p.a0 + ra.1,
        b0: p.b0 + rb.0,
        b1: p.b0 + rb.1,
        score: p.score,
        overlap: 0.0,
    })
}

/// Join passages that follow each other on the first side with at most `max_gap`
/// tokens between them and lie close in either order on the second side, when
/// `accept` validates (and rescores) the union; `O(n)` calls to `accept`.
pub fn merge_adjacent(
    passages: &[Passage],
    max_gap: usize,
    mut accept: impl FnMut(Passage) -> Result<Option<Passage>, Stopped>,
) -> Result<Vec<Passage>, Stopped> {
    let mut merged = passages.to_vec();
    merged.sort_by_key(|q| (q.a0, q.b0));
    let max_gap = max_gap as i64;
    let mut k = 0;
    while k + 1 < merged.len() {
        let (p, q) = (merged[k], merged[k + 1]);
        let b_gap = (q.b0 as i64 - p.b1 as i64).max(p.b0 as i64 - q.b1 as i64);
        if q.a0 as i64 - p.a1 as i64 <= max_gap && b_gap <= max_gap * SECOND_SIDE_GAP_FACTOR {
            let union = Passage::new(
                p.a0.min(q.a0),
                p.a1.max(q.a1),
                p.b0.min(q.b0),
                p.b1.max(q.b1),
            );
            if let Some(u) = accept(union)? {
                merged.splice(k..k + 2, [u]);
                k = k.saturating_sub(1);
                continue;
            }
        }
        k += 1;
    }
    Ok(merged)
}

/// Keep the best passages so that no two claim the same text (inside one text, two
/// clash only when they overlap on both sides). Work: counted pair checks.
pub fn resolve_overlaps(
    passages: &[Passage],
    same_text: bool,
    work: &mut Work,
) -> Result<Vec<Passage>, Stopped> {
    let mut order = passages.to_vec();
    order.sort_by(|x, y| y.score.total_cmp(&x.score)); // stable: ties keep their order
    let mut kept: Vec<Passage> = Vec::new();
    for p in order {
        work.counters.overlap_checks += kept.len() as u64;
        work.check()?;
        let clash = kept.iter().any(|k| {
            let on_a = overlaps(p.a0, p.a1, k.a0, k.a1);
            let on_b = overlaps(p.b0, p.b1, k.b0, k.b1);
            on_a && (on_b || !same_text)
        });
        if !clash {
            kept.push(p);
        }
    }
    kept.sort_by_key(|q| (q.a0, q.b0));
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_split_at_holes_on_either_side() {
        let seeds = [(0, 0), (1, 1), (2, 20), (9, 9)];
        let mut got = cluster_seeds(&seeds, 1);
        got.sort();
        assert_eq!(got, vec![vec![(0, 0), (1, 1)], vec![(2, 20)], vec![(9, 9)]]);
    }

    #[test]
    fn best_run_is_kadane() {
        assert_eq!(best_run([-1.0, 2.0, -0.5, 2.0, -5.0].into_iter()), (1, 4));
        assert_eq!(best_run([-1.0, -2.0].into_iter()), (0, 0));
    }

    #[test]
    fn half_matches_count_only_against_unpaired_tokens() {
        let params = RefineParams {
            miss_penalty: 0.5,
            shared_weight: 0.35,
            edge_cut: 0.4,
        };
        let whole = |a: &[i64], b: &[i64]| {
            let p = Passage::new(0, a.len(), 0, b.len());
            refine(p, (a, a), (b, b), params).map(|q| (q.a0, q.a1, q.b0, q.b1))
        };
        // A word moved to the other end: its partner is left unpaired, so it stays.
        assert_eq!(whole(&[1, 2, 3, 9], &[9, 1, 2, 3]), Some((0, 4, 0, 4)));
        // A repeat of a word of the copy whose partner is already paired: trimmed.
        assert_eq!(whole(&[1, 9, 2, 3, 9], &[1, 9, 2, 3]), Some((0, 4, 0, 4)));
        assert_eq!(
            whole(&[1, 9, 2, 3, 9], &[1, 9, 2, 3, 9]),
            Some((0, 5, 0, 5))
        );
    }

    #[test]
    fn pairwise_sum_adds_every_value() {
        let values: Vec<f64> = (0..300)
            .map(|k| if k % 3 == 0 { 1.0 } else { 0.3 })
            .collect();
        let plain: f64 = values.iter().sum();
        assert!((pairwise_sum(&values) - plain).abs() < 1e-9);
    }
}
