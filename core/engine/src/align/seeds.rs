//! Seeds: the unit pairs that share a band key (LSH) and whose content terms really
//! overlap, and their neighbours whose exact Dice reaches a looser threshold.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use super::indel::IdHasher;
use super::work::{Limit, Stopped, Work};
use super::{Config, Doc, NO_TERM};
use crate::numbering::Numbering;

pub type Seed = (usize, usize);
type SeedSet = HashSet<Seed, BuildHasherDefault<IdHasher>>;

/// Dice coefficient of two sorted lists of distinct terms (0 when either is empty).
pub fn sorted_dice(x: &[i64], y: &[i64]) -> f64 {
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    // A merge without a branch on the comparison (terms meet in no pattern).
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        let (u, v) = (x[i], y[j]);
        shared += usize::from(u == v);
        i += usize::from(u <= v);
        j += usize::from(v <= u);
    }
    2.0 * shared as f64 / (x.len() + y.len()) as f64
}

/// The distinct content terms of a term slice, sorted.
pub fn distinct_terms(terms: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut out: Vec<i64> = terms.filter(|&t| t != NO_TERM).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Dice coefficient of the distinct content terms of two term slices.
pub fn dice(x: &[i64], y: &[i64]) -> f64 {
    sorted_dice(
        &distinct_terms(x.iter().copied()),
        &distinct_terms(y.iter().copied()),
    )
}

/// `counts` (pairs each key would yield) with the commonest keys zeroed until the
/// total fits `max_pairs`: the rarest keys are the most telling. Returns whether
/// nothing was left out.
pub fn rarest_within(counts: &mut [u64], max_pairs: Option<u64>) -> bool {
    let total: u64 = counts.iter().sum();
    let Some(max_pairs) = max_pairs else {
        return true;
    };
    if total <= max_pairs {
        return true;
    }
    let mut rarest: Vec<usize> = (0..counts.len()).collect();
    rarest.sort_by_key(|&k| counts[k]); // stable, as numpy's argsort(kind="stable")
    let mut keep = vec![false; counts.len()];
    let mut sum = 0u64;
    for &k in &rarest {
        sum += counts[k];
        if sum > max_pairs {
            break;
        }
        keep[k] = true;
    }
    for (c, kept) in counts.iter_mut().zip(keep) {
        if !kept {
            *c = 0;
        }
    }
    false
}

/// Distinct row pairs `(i, j)` whose band keys (`bands` per row, row-major) agree on
/// at least one band, in order; the (band, row, row) collisions proposed; whether all
/// were (at most `max_pairs` are, those of the rarest keys).
pub fn band_join(
    keys_a: &[u64],
    keys_b: &[u64],
    bands: usize,
    max_pairs: Option<u64>,
) -> (Vec<Seed>, u64, bool) {
    if keys_a.is_empty() || keys_b.is_empty() || bands == 0 {
        return (Vec::new(), 0, true);
    }
    // A hash join. Most keys have no equal on the other side: a bit filter of each
    // side's keys (a cheap hash, a few percent false positives) leaves out most of
    // them first. b's remaining rows are then grouped by (key, band), rows ascending
    // in a group, and a's remaining keys look their group up.
    let filter_a = KeyFilter::new(keys_a, keys_b.len(), bands);
    let filter_b = KeyFilter::new(keys_b, keys_a.len(), bands);
    let mut table = Numbering::with_capacity(64);
    let mut rows_of: Vec<(usize, u32)> = Vec::new();
    let mut group_len: Vec<u32> = Vec::new();
    for (row, row_keys) in keys_b.chunks(bands).enumerate() {
        for (band, &key) in row_keys.iter().enumerate() {
            if !filter_a.may_hold(key, band) {
                continue;
            }
            let g = table.add((key, band as u64));
            if g as usize == group_len.len() {
                group_len.push(0);
            }
            group_len[g as usize] += 1;
            rows_of.push((row, g));
        }
    }
    let mut group_start = Vec::with_capacity(group_len.len());
    let mut at = 0usize;
    for &len in &group_len {
        group_start.push(at);
        at += len as usize;
    }
    let mut rows_b = vec![0usize; rows_of.len()];
    let mut fill = group_start.clone();
    for &(row, g) in &rows_of {
        rows_b[fill[g as usize]] = row;
        fill[g as usize] += 1;
    }
    let mut lo = vec![0usize; keys_a.len()];
    let mut counts = vec![0u64; keys_a.len()];
    for (flat, (band, &key)) in (0..bands).cycle().zip(keys_a).enumerate() {
        if !filter_b.may_hold(key, band) {
            continue;
        }
        if let Some(g) = table.get((key, band as u64)) {
            lo[flat] = group_start[g as usize];
            counts[flat] = u64::from(group_len[g as usize]);
        }
    }
    let complete = rarest_within(&mut counts, max_pairs);
    let proposed: u64 = counts.iter().sum();
    let mut pairs: Vec<Seed> = Vec::with_capacity(proposed as usize);
    for (row, row_counts) in counts.chunks(bands).enumerate() {
        for (&count, &start) in row_counts.iter().zip(&lo[row * bands..]) {
            for &row_b in &rows_b[start..start + count as usize] {
                pairs.push((row, row_b));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    (pairs, proposed, complete)
}

/// A bit per hash of `(key, band)`: clear bits prove a key absent (`band_join`'s
/// first pass). About 32 bits a key of the larger side, between 2**12 and 2**20.
struct KeyFilter {
    bits: Vec<u64>,
    shift: u32,
}

impl KeyFilter {
    fn new(keys: &[u64], other: usize, bands: usize) -> Self {
        let size = (32 * keys.len().max(other))
            .next_power_of_two()
            .clamp(1 << 12, 1 << 20);
        let mut filter = KeyFilter {
            bits: vec![0; size / 64],
            shift: 64 - size.trailing_zeros(),
        };
        for (band, &key) in (0..bands).cycle().zip(keys) {
            let h = filter.hash(key, band);
            filter.bits[h / 64] |= 1 << (h % 64);
        }
        filter
    }

    #[inline]
    fn hash(&self, key: u64, band: usize) -> usize {
        let mixed = key ^ (band as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    #[inline]
    fn may_hold(&self, key: u64, band: usize) -> bool {
        let h = self.hash(key, band);
        self.bits[h / 64] & (1 << (h % 64)) != 0
    }
}

/// Unit pairs that LSH proposes and whose content terms really overlap.
pub fn seeds(
    a: &Doc,
    b: &Doc,
    same_text: bool,
    cfg: &Config,
    work: &mut Work,
) -> Result<Vec<Seed>, Stopped> {
    let (pairs, proposed, complete) = band_join(
        &a.band_keys,
        &b.band_keys,
        a.bands,
        Some(cfg.max_seed_pairs),
    );
    work.counters.seed_pairs += proposed;
    if !complete {
        work.limit(Limit::SeedPairs);
    }
    let mut out = Vec::new();
    for (k, &(ra, rb)) in pairs.iter().enumerate() {
        if k % 1024 == 0 {
            work.check()?;
        }
        let (i, j) = (a.indexable[ra], b.indexable[rb]);
        if !(same_text && j <= i)
            && sorted_dice(a.unit_features(i), b.unit_features(j)) >= cfg.seed_threshold
        {
            out.push((i, j));
        }
    }
    Ok(out)
}

/// The seeds and the unit pairs near them whose exact Dice reaches
/// `extend_threshold`, sorted; hidden units are skipped, at most `max_extend_pairs`
/// pairs are looked at.
pub fn extend(
    a: &Doc,
    b: &Doc,
    seeds: &[Seed],
    same_text: bool,
    cfg: &Config,
    work: &mut Work,
) -> Result<Vec<Seed>, Stopped> {
    if seeds.is_empty() {
        return Ok(Vec::new());
    }
    let (na, nb) = (a.units(), b.units());
    // Unit pairs as bits of an `na` x `nb` table when it is small (two compared
    // articles), else in hash sets (long hostile texts): the same pairs either way.
    match na.checked_mul(nb) {
        Some(cells) if cells <= MAX_TABLE_CELLS => {
            extend_in(a, b, seeds, same_text, cfg, work, PairTable::new(na, nb))
        }
        _ => extend_in(a, b, seeds, same_text, cfg, work, PairHashes::default()),
    }
}

fn extend_in<P: PairSet>(
    a: &Doc,
    b: &Doc,
    seeds: &[Seed],
    same_text: bool,
    cfg: &Config,
    work: &mut Work,
    mut pairs: P,
) -> Result<Vec<Seed>, Stopped> {
    let gap = cfg.max_gap_units;
    let (na, nb) = (a.units(), b.units());
    for &seed in seeds {
        pairs.find(seed);
    }
    let base = pairs.checked();
    for &(i0, j0) in seeds {
        work.check()?;
        if pairs.checked() - base >= cfg.max_extend_pairs {
            work.limit(Limit::ExtendPairs);
            break;
        }
        for i in i0.saturating_sub(gap)..na.min(i0 + gap + 1) {
            if a.hidden[i] {
                continue;
            }
            for j in j0.saturating_sub(gap)..nb.min(j0 + gap + 1) {
                if (same_text && j <= i) || b.hidden[j] || !pairs.check((i, j)) {
                    continue;
                }
                if sorted_dice(a.unit_features(i), b.unit_features(j)) >= cfg.extend_threshold {
                    pairs.find((i, j));
                }
            }
        }
    }
    work.counters.extend_pairs += pairs.checked() - base;
    Ok(pairs.found())
}

/// `extend`'s pair table holds at most this many cells (bits: 512 KiB).
const MAX_TABLE_CELLS: usize = 1 << 22;

/// The unit pairs `extend` has checked and found.
trait PairSet {
    /// Mark `pair` checked: false when it already was.
    fn check(&mut self, pair: Seed) -> bool;
    /// Mark `pair` checked and found.
    fn find(&mut self, pair: Seed);
    /// How many distinct pairs are checked.
    fn checked(&self) -> u64;
    /// The found pairs, sorted.
    fn found(&self) -> Vec<Seed>;
}

#[derive(Default)]
struct PairHashes {
    checked: SeedSet,
    found: SeedSet,
}

impl PairSet for PairHashes {
    fn check(&mut self, pair: Seed) -> bool {
        self.checked.insert(pair)
    }
    fn find(&mut self, pair: Seed) {
        self.checked.insert(pair);
        self.found.insert(pair);
    }
    fn checked(&self) -> u64 {
        self.checked.len() as u64
    }
    fn found(&self) -> Vec<Seed> {
        let mut out: Vec<Seed> = self.found.iter().copied().collect();
        out.sort_unstable();
        out
    }
}

/// Two bits a pair, row-major: checked, found.
struct PairTable {
    nb: usize,
    checked: Vec<u64>,
    found: Vec<u64>,
    count: u64,
}

impl PairTable {
    fn new(na: usize, nb: usize) -> Self {
        let words = (na * nb).div_ceil(64);
        PairTable {
            nb,
            checked: vec![0; words],
            found: vec![0; words],
            count: 0,
        }
    }
}

impl PairSet for PairTable {
    fn check(&mut self, (i, j): Seed) -> bool {
        let cell = i * self.nb + j;
        let (word, bit) = (cell / 64, 1u64 << (cell % 64));
        let new = self.checked[word] & bit == 0;
        self.checked[word] |= bit;
        self.count += u64::from(new);
        new
    }
    fn find(&mut self, pair: Seed) {
        self.check(pair);
        let cell = pair.0 * self.nb + pair.1;
        self.found[cell / 64] |= 1 << (cell % 64);
    }
    fn checked(&self) -> u64 {
        self.count
    }
    fn found(&self) -> Vec<Seed> {
        let mut out = Vec::new();
        for (w, &word) in self.found.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let cell = w * 64 + bits.trailing_zeros() as usize;
                out.push((cell / self.nb, cell % self.nb));
                bits &= bits - 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_join_pairs_rows_that_share_a_band() {
        // Two bands; a0 shares band 1 with b1, a1 shares band 0 with b0 and b1.
        let a = [1, 10, 2, 20];
        let b = [2, 30, 2, 10];
        let (pairs, proposed, complete) = band_join(&a, &b, 2, None);
        assert_eq!(pairs, vec![(0, 1), (1, 0), (1, 1)]);
        assert_eq!(proposed, 3);
        assert!(complete);
        let (pairs, proposed, complete) = band_join(&a, &b, 2, Some(1));
        assert_eq!((pairs, proposed, complete), (vec![(0, 1)], 1, false));
    }

    #[test]
    fn band_join_finds_every_pair_a_nested_loop_finds() {
        let mut x = 99u64;
        let mut key = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 60) << 40 // 16 values, far apart in the high bits
        };
        for bands in [1, 3, 7] {
            let a: Vec<u64> = (0..bands * 20).map(|_| key()).collect();
            let b: Vec<u64> = (0..bands * 30).map(|_| key()).collect();
            let mut want = Vec::new();
            let mut proposed = 0;
            for (fa, ka) in a.iter().enumerate() {
                for (fb, kb) in b.iter().enumerate() {
                    if fa % bands == fb % bands && ka == kb {
                        want.push((fa / bands, fb / bands));
                        proposed += 1;
                    }
                }
            }
            want.sort_unstable();
            want.dedup();
            assert_eq!(band_join(&a, &b, bands, None), (want, proposed, true));
        }
    }

    #[test]
    fn the_pair_table_and_the_hash_sets_agree() {
        let (na, nb) = (37, 23);
        let mut table = PairTable::new(na, nb);
        let mut hashes = PairHashes::default();
        let mut x = 12_345u64;
        for step in 0..5_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let pair = ((x >> 33) as usize % na, (x >> 17) as usize % nb);
            if step % 3 == 0 {
                table.find(pair);
                hashes.find(pair);
            } else {
                assert_eq!(table.check(pair), hashes.check(pair));
            }
            assert_eq!(table.checked(), hashes.checked());
        }
        assert_eq!(table.found(), hashes.found());
        assert!(table.found().windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sorted_dice_counts_shared_terms() {
        assert_eq!(
            sorted_dice(&[1, 3, 5, 7], &[3, 4, 5, 8, 9]),
            2.0 * 2.0 / 9.0
        );
        assert_eq!(sorted_dice(&[1, 2], &[1, 2]), 1.0);
        assert_eq!(sorted_dice(&[5], &[1, 2, 3]), 0.0);
        assert_eq!(sorted_dice(&[], &[1]), 0.0);
    }

    #[test]
    fn dice_counts_distinct_content_terms() {
        assert_eq!(dice(&[1, 2, 2, NO_TERM], &[2, 3]), 0.5);
        assert_eq!(dice(&[NO_TERM], &[2]), 0.0);
    }
}
