//! Exact runs: the maximal stretches of words two texts share word for word, found by
//! joining their equal `k`-word windows (hashed in Python, `exact.Windows`) and
//! chaining the window pairs that follow each other on one diagonal.

use super::seeds::rarest_within;

/// Windows with more copies than this in either text are not joined.
pub const MAX_WINDOW_COPIES: u64 = 8;

/// Tokens `[a0, a0 + length)` of the first text equal tokens `[b0, b0 + length)` of
/// the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactRun {
    pub a0: usize,
    pub b0: usize,
    pub length: usize,
}

impl ExactRun {
    pub fn a1(&self) -> usize {
        self.a0 + self.length
    }

    pub fn b1(&self) -> usize {
        self.b0 + self.length
    }
}

/// The `k`-word windows of one text (`exact.Windows` in Python): their hashes, which
/// are rare enough to join, and their stable sort order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Windows {
    pub k: usize,
    pub hashes: Vec<u64>,
    pub rare: Vec<bool>,
    pub order: Vec<usize>,
}

impl Windows {
    /// Whether these are the windows of a text of `tokens` tokens.
    pub fn validate(&self, tokens: usize) -> Result<(), String> {
        let n = if self.k == 0 {
            0
        } else {
            (tokens + 1).saturating_sub(self.k)
        };
        let mut seen = vec![false; n];
        let permutation = self.order.len() == n
            && self
                .order
                .iter()
                .all(|&o| o < n && !std::mem::replace(&mut seen[o], true));
        let sorted = self
            .order
            .windows(2)
            .all(|w| w[0] < n && w[1] < n && self.hashes.get(w[0]) <= self.hashes.get(w[1]));
        if self.hashes.len() != n || self.rare.len() != n || !permutation || !sorted {
            return Err(format!("expected {n} windows of {} words, sorted", self.k));
        }
        Ok(())
    }
}

/// The maximal runs of at least `k` words that `a` and `b` share, in order of `a`;
/// the window pairs proposed; whether all were (at most `max_pairs`, the windows of
/// fewest copies first).
pub fn shared_runs(a: &Windows, b: &Windows, max_pairs: u64) -> (Vec<ExactRun>, u64, bool) {
    let k = a.k;
    let (ha, hb) = (&a.hashes, &b.hashes);
    if ha.is_empty() || hb.is_empty() || k != b.k {
        return (Vec::new(), 0, true);
    }
    let sorted_b: Vec<u64> = b.order.iter().map(|&o| hb[o]).collect();
    let mut lo = vec![0usize; ha.len()];
    let mut counts = vec![0u64; ha.len()];
    // Both sides are sorted (`order`): one merge pass finds each hash's equals in b.
    let (mut start, mut end) = (0usize, 0usize);
    let mut last = None;
    for &i in &a.order {
        let h = ha[i];
        if last != Some(h) {
            last = Some(h);
            start = end.max(start);
            while start < sorted_b.len() && sorted_b[start] < h {
                start += 1;
            }
            end = start;
            while end < sorted_b.len() && sorted_b[end] == h {
                end += 1;
            }
        }
        let count = (end - start) as u64;
        lo[i] = start;
        counts[i] = if a.rare[i] && count <= MAX_WINDOW_COPIES {
            count
        } else {
            0
        };
    }
    let complete = rarest_within(&mut counts, Some(max_pairs));
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return (Vec::new(), 0, complete);
    }
    // (diagonal, i) of every pair, sorted: runs are consecutive i on one diagonal.
    let mut pairs: Vec<(i64, usize)> = Vec::with_capacity(total as usize);
    for (i, &count) in counts.iter().enumerate() {
        for t in 0..count as usize {
            let j = b.order[lo[i] + t];
            pairs.push((i as i64 - j as i64, i));
        }
    }
    pairs.sort_unstable();
    let mut runs = Vec::new();
    let mut s = 0;
    while s < pairs.len() {
        let mut e = s;
        while e + 1 < pairs.len()
            && pairs[e + 1].0 == pairs[s].0
            && pairs[e + 1].1 == pairs[e].1 + 1
        {
            e += 1;
        }
        let (d, a0) = pairs[s];
        runs.push(ExactRun {
            a0,
            b0: (a0 as i64 - d) as usize,
            length: pairs[e].1 - a0 + k,
        });
        s = e + 1;
    }
    runs.sort_by_key(|r| (r.a0, r.b0));
    (runs, total, complete)
}

/// The maximal ranges `[s, e)` of `true` in `mask` at least `least` long.
pub fn stretches(mask: impl Iterator<Item = bool>, least: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut n = 0;
    for (k, m) in mask.enumerate() {
        n = k + 1;
        match (m, start) {
            (true, None) => start = Some(k),
            (false, Some(s)) => {
                if k - s >= least {
                    out.push((s, k));
                }
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        if n - s >= least {
            out.push((s, n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_keep_long_enough_ranges() {
        let mask = [true, true, false, true, true, true];
        assert_eq!(stretches(mask.into_iter(), 2), vec![(0, 2), (3, 6)]);
        assert_eq!(stretches(mask.into_iter(), 3), vec![(3, 6)]);
    }
}
