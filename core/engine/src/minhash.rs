//! MinHash signatures and LSH band keys, bit-equal to datasketch's "affine32" scheme.
//!
//! A term id (already a stable 32-bit hash, so the MinHash hash function is the
//! identity) goes through the MurmurHash3 32-bit finaliser, then permutation `p` maps it
//! to `a[p] * h + b[p]` modulo 2**32; a signature slot is the minimum over the set. The
//! permutations `(a, b)` are datasketch's own, drawn once by the caller per
//! `(num_perm, seed)`: regenerating them here would mean reproducing numpy's Mersenne
//! Twister draws, and agreement is what matters.

/// The value of every slot of the signature of an empty set.
pub const EMPTY: u32 = u32::MAX;

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// MurmurHash3's 32-bit finaliser (datasketch's `_fmix(h, 32)`).
#[inline]
pub fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^= h >> 16;
    h
}

/// Signatures of many sets, row after row: `out.len() == (offsets.len() - 1) * a.len()`.
///
/// Set `i` is `values[offsets[i]..offsets[i + 1]]`; each value is truncated to its low
/// 32 bits, as numpy's `astype(uint32)` does. Panics when `offsets` is not a monotone
/// cover of `values` or `a` and `b` differ in length: the binding checks both first.
pub fn signatures(values: &[i64], offsets: &[usize], a: &[u32], b: &[u32]) -> Vec<u32> {
    assert_eq!(a.len(), b.len(), "permutations a and b differ in length");
    let num_perm = a.len();
    let sets = offsets.len().saturating_sub(1);
    let mut out = vec![EMPTY; sets * num_perm];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        unsafe { fill_avx2(&mut out, values, offsets, a, b) };
        return out;
    }
    fill(&mut out, values, offsets, a, b);
    out
}

/// `fill` compiled for AVX2: eight 32-bit lanes a multiply (the same integer
/// arithmetic, so the same signatures).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_avx2(out: &mut [u32], values: &[i64], offsets: &[usize], a: &[u32], b: &[u32]) {
    fill(out, values, offsets, a, b);
}

/// The rows of `signatures`, into `out` (all `EMPTY`).
#[inline(always)]
fn fill(out: &mut [u32], values: &[i64], offsets: &[usize], a: &[u32], b: &[u32]) {
    let num_perm = a.len();
    let sets = offsets.len().saturating_sub(1);
    for (i, row) in out.chunks_exact_mut(num_perm.max(1)).enumerate().take(sets) {
        for &v in &values[offsets[i]..offsets[i + 1]] {
            let h = fmix32(v as u32);
            for ((slot, &ap), &bp) in row.iter_mut().zip(a).zip(b) {
                let permuted = ap.wrapping_mul(h).wrapping_add(bp);
                *slot = (*slot).min(permuted);
            }
        }
    }
}

/// One 64-bit key per band of one signature row, written into `out` (`bands` long).
///
/// With `rows <= 2` the key is the rows packed side by side, so equal keys mean equal
/// bands exactly; with more rows it is a multiplicative mix of them (a false collision
/// has probability about 2**-64 per pair). Stored data depends on these exact values.
#[inline]
pub fn band_keys_row(sig: &[u32], bands: usize, rows: usize, out: &mut [u64]) {
    for (band, key) in out.iter_mut().enumerate().take(bands) {
        let cols = &sig[band * rows..(band + 1) * rows];
        *key = match rows {
            1 => u64::from(cols[0]),
            2 => (u64::from(cols[0]) << 32) | u64::from(cols[1]),
            _ => cols[1..].iter().fold(u64::from(cols[0]), |k, &c| {
                k.wrapping_mul(MIX) ^ (k >> 29) ^ u64::from(c)
            }),
        };
    }
}

/// Band keys of `sigs` (rows of `num_perm`), `bands` per row, row after row.
pub fn band_keys(sigs: &[u32], num_perm: usize, bands: usize, rows: usize) -> Vec<u64> {
    assert!(
        bands * rows <= num_perm,
        "bands * rows must fit in num_perm"
    );
    let n = sigs.len().checked_div(num_perm).unwrap_or(0);
    let mut out = vec![0u64; n * bands];
    if bands == 0 {
        return out;
    }
    for (sig, keys) in sigs.chunks_exact(num_perm).zip(out.chunks_exact_mut(bands)) {
        band_keys_row(sig, bands, rows, keys);
    }
    out
}

/// MinHash values are already uniform: a multiply-xor over 8 bytes at a time is hash
/// enough for rows of them (SipHash cost more than the rest of the call).
#[derive(Default)]
struct RowHasher(u64);

impl Hasher for RowHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(word));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(23) ^ v).wrapping_mul(MIX);
    }
}

/// The rows of `sigs` (rows of `num_perm`) worth indexing: not the signature of an
/// empty set, and the first of each distinct signature, in row order (a sentence
/// pasted 2,000 times would otherwise put 2,000 equal entries in the index).
pub fn distinct_indexable_rows(sigs: &[u32], num_perm: usize) -> Vec<i64> {
    let mut seen: HashSet<&[u32], BuildHasherDefault<RowHasher>> = HashSet::default();
    sigs.chunks_exact(num_perm.max(1))
        .enumerate()
        .filter(|&(_, row)| row.iter().any(|&v| v != EMPTY) && seen.insert(row))
        .map(|(i, _)| i as i64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_indexable_rows_skip_empty_and_repeated_signatures() {
        let e = EMPTY;
        let sigs = [1, 2, e, e, 1, 2, 3, 4, 1, 3];
        assert_eq!(distinct_indexable_rows(&sigs, 2), vec![0, 3, 4]);
        assert!(distinct_indexable_rows(&[], 2).is_empty());
    }

    #[test]
    fn fmix32_matches_murmur3_reference_values() {
        // Known outputs of MurmurHash3's fmix32.
        assert_eq!(fmix32(0), 0);
        assert_eq!(fmix32(1), 0x514E_28B7);
    }

    #[test]
    fn empty_sets_are_all_empty_slots() {
        let sigs = signatures(&[5, 6], &[0, 0, 2, 2], &[3, 5], &[7, 11]);
        assert_eq!(&sigs[0..2], &[EMPTY, EMPTY]);
        assert_ne!(&sigs[2..4], &[EMPTY, EMPTY]);
        assert_eq!(&sigs[4..6], &[EMPTY, EMPTY]);
    }

    #[test]
    fn a_signature_is_the_minimum_of_its_terms() {
        let (a, b) = ([3u32, 0x8000_0001], [7u32, 1]);
        let both = signatures(&[10, 20], &[0, 2], &a, &b);
        let one = signatures(&[10], &[0, 1], &a, &b);
        let two = signatures(&[20], &[0, 1], &a, &b);
        for p in 0..2 {
            assert_eq!(both[p], one[p].min(two[p]));
        }
        // Values are truncated to 32 bits, as numpy's astype(uint32).
        assert_eq!(signatures(&[(1 << 32) + 10], &[0, 1], &a, &b), one);
    }

    #[test]
    fn every_code_path_gives_the_same_signatures() {
        let a: Vec<u32> = (1..=64u32)
            .map(|k| k.wrapping_mul(2_654_435_761) | 1)
            .collect();
        let b: Vec<u32> = (1..=64u32).map(|k| k.wrapping_mul(40_503)).collect();
        let values: Vec<i64> = (0..500i64).map(|k| k * 7_919 - 3_000).collect();
        let offsets = [0, 0, 3, 100, 101, 350, 500];
        let mut plain = vec![EMPTY; (offsets.len() - 1) * a.len()];
        fill(&mut plain, &values, &offsets, &a, &b);
        assert_eq!(signatures(&values, &offsets, &a, &b), plain);
        // The slow way, slot by slot.
        for (i, row) in plain.chunks(a.len()).enumerate() {
            for p in 0..a.len() {
                let want = values[offsets[i]..offsets[i + 1]]
                    .iter()
                    .map(|&v| a[p].wrapping_mul(fmix32(v as u32)).wrapping_add(b[p]))
                    .min()
                    .unwrap_or(EMPTY);
                assert_eq!(row[p], want);
            }
        }
    }

    #[test]
    fn band_keys_pack_and_mix() {
        let sig = [1u32, 2, 3, 4, 5, 6];
        assert_eq!(band_keys(&sig, 6, 2, 2), vec![(1 << 32) | 2, (3 << 32) | 4]);
        assert_eq!(band_keys(&sig, 6, 3, 1), vec![1, 2, 3]);
        let mixed = band_keys(&sig, 6, 2, 3);
        let k = MIX ^ 2; // 1 * MIX, and 1 >> 29 is 0
        assert_eq!(mixed[0], k.wrapping_mul(MIX) ^ (k >> 29) ^ 3);
    }
}
