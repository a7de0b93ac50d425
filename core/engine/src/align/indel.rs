//! Indel (insertions and deletions only) over word-id sequences, as rapidfuzz computes
//! it: the longest common subsequence by Hyyrö's bit-parallel algorithm, and the
//! alignment recovered from its bit matrix with rapidfuzz's tie-breaking, so that
//! the tokens this module marks as aligned are the `equal` blocks of
//! `rapidfuzz.distance.Indel.opcodes` (the Python tests hold it to that oracle).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast hasher for word ids (not for hostile keys chosen to collide: the ids come
/// from our own term table, and a collision only costs time).
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn write_i64(&mut self, v: i64) {
        self.0 = (self.0.rotate_left(5) ^ (v as u64)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The lengths of the common prefix and then of the common suffix of what remains.
fn common_affix(a: &[i64], b: &[i64]) -> (usize, usize) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    let suffix = ra
        .iter()
        .rev()
        .zip(rb.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (prefix, suffix)
}

/// For each word of `a`, its match mask over `a`'s positions, `blocks` words long.
struct Pattern {
    blocks: usize,
    index: IdMap<i64, usize>,
    masks: Vec<u64>,
}

impl Pattern {
    fn new(a: &[i64]) -> Self {
        let blocks = a.len().div_ceil(64);
        let mut index: IdMap<i64, usize> = IdMap::default();
        let mut masks: Vec<u64> = Vec::new();
        for (pos, &w) in a.iter().enumerate() {
            let next = index.len();
            let k = *index.entry(w).or_insert(next);
            if k == next {
                masks.resize(masks.len() + blocks, 0);
            }
            masks[k * blocks + pos / 64] |= 1u64 << (pos % 64);
        }
        Pattern {
            blocks,
            index,
            masks,
        }
    }

    fn get(&self, w: i64) -> Option<&[u64]> {
        self.index
            .get(&w)
            .map(|&k| &self.masks[k * self.blocks..(k + 1) * self.blocks])
    }
}

/// One row of the bit-parallel LCS: `S = (S + u) | (S - u)` with `u = S & M`, the
/// addition carried across blocks (`S - u` never borrows: `u` is a subset of `S`).
fn advance(s: &mut [u64], matches: &[u64]) {
    let mut carry = 0u64;
    for (sw, &m) in s.iter_mut().zip(matches) {
        let u = *sw & m;
        let (sum, c1) = sw.overflowing_add(u);
        let (sum, c2) = sum.overflowing_add(carry);
        carry = u64::from(c1 || c2);
        *sw = sum | (*sw - u);
    }
}

fn zeros_below(s: &[u64], n: usize) -> usize {
    let mut count = 0;
    for (k, w) in s.iter().enumerate() {
        let bits = (n - 64 * k).min(64);
        let mask = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        count += (!w & mask).count_ones() as usize;
    }
    count
}

/// The length of the longest common subsequence of `a` and `b`.
pub fn lcs_len(a: &[i64], b: &[i64]) -> usize {
    let (prefix, suffix) = common_affix(a, b);
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    if ma.is_empty() || mb.is_empty() {
        return prefix + suffix;
    }
    let pattern = Pattern::new(ma);
    let mut s = vec![u64::MAX; pattern.blocks];
    for &w in mb {
        if let Some(m) = pattern.get(w) {
            advance(&mut s, m);
        }
    }
    prefix + suffix + zeros_below(&s, ma.len())
}

/// `rapidfuzz.distance.Indel.normalized_similarity(a, b)`: `1 - (|a| + |b| - 2 lcs) /
/// (|a| + |b|)`, and 1 for two empty sequences. Work: `|a| * |b| / 64` word steps.
pub fn normalized_similarity(a: &[i64], b: &[i64]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let dist = total - 2 * lcs_len(a, b);
    1.0 - dist as f64 / total as f64
}

/// Which tokens of `a` and of `b` the Indel alignment pairs (`equal` opcodes).
/// Work and memory: `|a| * |b| / 64` words (the caller bounds the product).
pub fn aligned(a: &[i64], b: &[i64]) -> (Vec<bool>, Vec<bool>) {
    let mut hit_a = vec![false; a.len()];
    let mut hit_b = vec![false; b.len()];
    let (prefix, suffix) = common_affix(a, b);
    for k in 0..prefix {
        hit_a[k] = true;
        hit_b[k] = true;
    }
    for k in 0..suffix {
        hit_a[a.len() - 1 - k] = true;
        hit_b[b.len() - 1 - k] = true;
    }
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    if ma.is_empty() || mb.is_empty() {
        return (hit_a, hit_b);
    }
    let pattern = Pattern::new(ma);
    let blocks = pattern.blocks;
    let mut matrix = vec![0u64; blocks * mb.len()];
    let mut s = vec![u64::MAX; blocks];
    for (row, &w) in mb.iter().enumerate() {
        if let Some(m) = pattern.get(w) {
            advance(&mut s, m);
        }
        matrix[row * blocks..(row + 1) * blocks].copy_from_slice(&s);
    }
    let bit = |row: usize, col: usize| matrix[row * blocks + col / 64] >> (col % 64) & 1 == 1;
    // rapidfuzz's backtrack from the end: a set bit above-left means a deletion; else
    // the row goes up, as an insertion when the bit of the row above is clear, and
    // as a match otherwise.
    let (mut row, mut col) = (mb.len(), ma.len());
    while row != 0 && col != 0 {
        if bit(row - 1, col - 1) {
            col -= 1;
        } else {
            row -= 1;
            if row != 0 && !bit(row - 1, col - 1) {
                continue; // insertion
            }
            col -= 1;
            hit_a[prefix + col] = true;
            hit_b[prefix + row] = true;
        }
    }
    (hit_a, hit_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook LCS table: the slow, obviously-correct reference.
    fn lcs_table(a: &[i64], b: &[i64]) -> usize {
        let mut prev = vec![0usize; b.len() + 1];
        for &x in a {
            let mut cur = vec![0usize; b.len() + 1];
            for (j, &y) in b.iter().enumerate() {
                cur[j + 1] = if x == y {
                    prev[j] + 1
                } else {
                    prev[j + 1].max(cur[j])
                };
            }
            prev = cur;
        }
        prev[b.len()]
    }

    fn sequence(seed: &mut u64, len: usize, alphabet: u64) -> Vec<i64> {
        (0..len)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((*seed >> 33) % alphabet) as i64
            })
            .collect()
    }

    #[test]
    fn lcs_agrees_with_the_table_across_block_edges() {
        let mut seed = 7;
        for len in [0, 1, 5, 63, 64, 65, 130, 200] {
            for alphabet in [2, 5, 40] {
                let a = sequence(&mut seed, len, alphabet);
                let b = sequence(&mut seed, len / 2 + 3, alphabet);
                assert_eq!(lcs_len(&a, &b), lcs_table(&a, &b), "len {len}");
                let (ha, hb) = aligned(&a, &b);
                let paired: Vec<i64> = a.iter().zip(&ha).filter(|x| *x.1).map(|x| *x.0).collect();
                let other: Vec<i64> = b.iter().zip(&hb).filter(|x| *x.1).map(|x| *x.0).collect();
                assert_eq!(paired, other); // the aligned tokens are one common subsequence
                assert_eq!(paired.len(), lcs_table(&a, &b)); // and a longest one
            }
        }
    }

    #[test]
    fn similarity_of_edge_cases() {
        assert_eq!(normalized_similarity(&[], &[]), 1.0);
        assert_eq!(normalized_similarity(&[1], &[]), 0.0);
        assert_eq!(normalized_similarity(&[1, 2, 3], &[1, 2, 3]), 1.0);
        assert_eq!(normalized_similarity(&[1, 2], &[2, 3]), 0.5);
    }
}
