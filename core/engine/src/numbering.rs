//! `Numbering`: dense numbers for distinct keys, in order of first appearance, in an
//! open-addressing table (linear probing, at most half full). The hash is keyed by a
//! secret drawn once per process, so that no text can be written to make its keys
//! collide (the per-comparison joins hash keys that texts decide).

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// MurmurHash3's 64-bit finaliser: a bijection that mixes every bit into every bit.
#[inline]
pub(crate) fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

fn secret() -> u64 {
    static SECRET: OnceLock<u64> = OnceLock::new();
    *SECRET.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x5157_4545_4E54_4C59);
        h.finish()
    })
}

/// A `BuildHasher` for `std`'s maps under the same per-process secret: a
/// multiply-rotate over 8 bytes at a time, finished by `fmix64` (SipHash cost more
/// than the rest of the lookups it served).
#[derive(Clone, Copy)]
pub struct SecretState(u64);

impl Default for SecretState {
    fn default() -> Self {
        SecretState(secret())
    }
}

impl BuildHasher for SecretState {
    type Hasher = SecretHasher;

    fn build_hasher(&self) -> SecretHasher {
        SecretHasher(self.0)
    }
}

pub struct SecretHasher(u64);

impl Hasher for SecretHasher {
    fn finish(&self) -> u64 {
        fmix64(self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = c.iter().rev().fold(0u64, |w, &b| (w << 8) | u64::from(b));
            self.write_u64(word);
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b) | 0x100);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Distinct `(u64, u64)` keys numbered `0, 1, ...` as they are first added.
pub struct Numbering {
    /// Key number + 1 per slot, 0 when free.
    slots: Vec<u32>,
    keys: Vec<(u64, u64)>,
    shift: u32,
    secret: u64,
}

impl Numbering {
    /// A table for up to `keys` distinct keys (it grows past that).
    pub fn with_capacity(keys: usize) -> Self {
        let size = (2 * keys).next_power_of_two().max(16);
        Numbering {
            slots: vec![0; size],
            keys: Vec::with_capacity(keys),
            shift: 64 - size.trailing_zeros(),
            secret: secret(),
        }
    }

    /// How many distinct keys were added.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    #[inline]
    fn slot(&self, key: (u64, u64)) -> usize {
        let h = key.0 ^ self.secret ^ key.1.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (fmix64(h) >> self.shift) as usize
    }

    /// `key`'s number, or the free slot where it would go.
    #[inline]
    fn find(&self, key: (u64, u64)) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut at = self.slot(key);
        loop {
            match self.slots[at] {
                0 => return Err(at),
                s if self.keys[s as usize - 1] == key => return Ok(s - 1),
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// `key`'s number, if it was added.
    #[inline]
    pub fn get(&self, key: (u64, u64)) -> Option<u32> {
        self.find(key).ok()
    }

    /// `key`'s number, a new one (`len()` before the call) if it had none.
    #[inline]
    pub fn add(&mut self, key: (u64, u64)) -> u32 {
        let at = match self.find(key) {
            Ok(number) => return number,
            Err(free) => free,
        };
        let number = self.keys.len() as u32;
        self.keys.push(key);
        self.slots[at] = number + 1;
        if 2 * self.keys.len() > self.slots.len() {
            self.grow();
        }
        number
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        self.slots = vec![0; size];
        self.shift = 64 - size.trailing_zeros();
        let mask = size - 1;
        for (k, &key) in self.keys.iter().enumerate() {
            let mut at = self.slot(key);
            while self.slots[at] != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = k as u32 + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_hasher_tells_slices_apart() {
        let state = SecretState::default();
        let hash = |x: &[i64]| state.hash_one(x);
        assert_eq!(hash(&[1, 2, 3]), hash(&[1, 2, 3]));
        assert_ne!(hash(&[1, 2, 3]), hash(&[1, 2, 4]));
        assert_ne!(hash(&[1, 2]), hash(&[1, 2, 0]));
    }

    #[test]
    fn keys_are_numbered_in_order_of_first_appearance() {
        let mut n = Numbering::with_capacity(2);
        let keys: Vec<(u64, u64)> = (0..1_000u64).map(|k| (k % 300, k % 7)).collect();
        let mut first = std::collections::HashMap::new();
        for &key in &keys {
            let next = first.len() as u32;
            let want = *first.entry(key).or_insert(next);
            assert_eq!(n.add(key), want);
        }
        assert_eq!(n.len(), first.len());
        for (&key, &number) in &first {
            assert_eq!(n.get(key), Some(number));
        }
        assert_eq!(n.get((5_000, 0)), None);
    }
}
