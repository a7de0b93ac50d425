//! Content terms: what a token contributes to similarity.
//!
//! Function words carry no evidence of reuse, so they get no term; every other token is
//! cut to a short prefix (a language-blind stand-in for stemming: "attacked" and
//! "attacks" meet at "attac") and hashed to a stable 32-bit id (CRC-32 of its UTF-8,
//! zlib's, the same in every process, so stored signatures stay valid across restarts).

use std::sync::OnceLock;

use super::unicode::is_alpha;

/// The term of a function word.
pub const NO_TERM: i64 = -1;

/// Function words of the languages our users ingest most, sorted (code point order).
/// Only whole tokens match.
pub static STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "al",
    "all",
    "als",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren't",
    "as",
    "at",
    "au",
    "auch",
    "auf",
    "aux",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "ce",
    "como",
    "con",
    "could",
    "d",
    "dans",
    "das",
    "del",
    "dem",
    "den",
    "der",
    "des",
    "did",
    "didn't",
    "die",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "du",
    "during",
    "each",
    "ein",
    "eine",
    "el",
    "elle",
    "en",
    "es",
    "est",
    "et",
    "few",
    "for",
    "from",
    "further",
    "für",
    "had",
    "has",
    "have",
    "having",
    "he",
    "he's",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "i'm",
    "if",
    "il",
    "im",
    "in",
    "into",
    "is",
    "isn't",
    "ist",
    "it",
    "it's",
    "its",
    "itself",
    "just",
    "la",
    "las",
    "le",
    "les",
    "ll",
    "lo",
    "los",
    "m",
    "me",
    "mit",
    "more",
    "most",
    "my",
    "myself",
    "más",
    "ne",
    "nicht",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "para",
    "pas",
    "por",
    "pour",
    "que",
    "qui",
    "re",
    "s",
    "said",
    "same",
    "say",
    "says",
    "se",
    "she",
    "she's",
    "should",
    "sich",
    "so",
    "some",
    "su",
    "such",
    "sur",
    "t",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they're",
    "this",
    "those",
    "through",
    "to",
    "too",
    "two",
    "un",
    "una",
    "und",
    "under",
    "une",
    "until",
    "up",
    "ve",
    "very",
    "von",
    "was",
    "wasn't",
    "we",
    "we're",
    "were",
    "weren't",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won't",
    "would",
    "y",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "zu",
    "а",
    "без",
    "более",
    "больше",
    "будет",
    "будто",
    "бы",
    "был",
    "была",
    "были",
    "было",
    "быть",
    "в",
    "вам",
    "вас",
    "вдруг",
    "ведь",
    "во",
    "вот",
    "впрочем",
    "все",
    "всегда",
    "всего",
    "всех",
    "всю",
    "вы",
    "від",
    "где",
    "да",
    "даже",
    "два",
    "для",
    "до",
    "другой",
    "его",
    "ее",
    "ей",
    "ему",
    "если",
    "есть",
    "еще",
    "ж",
    "же",
    "з",
    "за",
    "зачем",
    "здесь",
    "и",
    "из",
    "или",
    "им",
    "иногда",
    "их",
    "й",
    "к",
    "как",
    "какая",
    "какой",
    "когда",
    "конечно",
    "кто",
    "куда",
    "ли",
    "лучше",
    "меня",
    "мне",
    "много",
    "может",
    "можно",
    "мой",
    "моя",
    "мы",
    "між",
    "на",
    "над",
    "надо",
    "наконец",
    "нас",
    "не",
    "него",
    "нее",
    "ней",
    "нельзя",
    "нет",
    "ни",
    "нибудь",
    "никогда",
    "ним",
    "них",
    "ничего",
    "но",
    "ну",
    "о",
    "об",
    "один",
    "он",
    "она",
    "они",
    "опять",
    "от",
    "перед",
    "по",
    "под",
    "после",
    "потом",
    "потому",
    "почти",
    "при",
    "про",
    "раз",
    "разве",
    "с",
    "сам",
    "свою",
    "себе",
    "себя",
    "сейчас",
    "со",
    "совсем",
    "та",
    "так",
    "такой",
    "там",
    "тебя",
    "тем",
    "теперь",
    "то",
    "тогда",
    "того",
    "тоже",
    "только",
    "том",
    "тот",
    "три",
    "тут",
    "ты",
    "у",
    "уж",
    "уже",
    "хорошо",
    "хоть",
    "це",
    "чего",
    "чем",
    "через",
    "что",
    "чтобы",
    "чуть",
    "що",
    "эти",
    "этого",
    "этой",
    "этом",
    "этот",
    "эту",
    "я",
    "як",
    "і",
    "із",
];

/// Whether `word` is a function word.
pub fn is_stopword(word: &str) -> bool {
    // Function words are short: a longer token is no function word, without a lookup.
    word.len() <= LONGEST_STOPWORD_BYTES && Stopwords::get().contains(word)
}

const LONGEST_STOPWORD_BYTES: usize = 20;

/// `STOPWORDS` in an open-addressing table (linear probing, at most a quarter full)
/// under a multiply-xor hash of the bytes, each slot with its word's full hash: a
/// lookup is a few multiplies, and a string comparison only on a full-hash match
/// (`std`'s SipHash set cost a tenth of `prepare`).
struct Stopwords {
    /// A word's index in `STOPWORDS` (low 16 bits) and the top 48 bits of its hash;
    /// `FREE` as the index when the slot is free. 8 KiB: it stays in cache.
    slots: Vec<u64>,
}

const FREE: u16 = u16::MAX;
const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;

#[inline(always)]
fn fnv_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
}

#[inline(always)]
fn fnv_finish(h: u64) -> u64 {
    h ^ (h >> 29) ^ (h >> 47)
}
const TAG: u64 = !0xffff;

impl Stopwords {
    fn get() -> &'static Stopwords {
        static SET: OnceLock<Stopwords> = OnceLock::new();
        SET.get_or_init(|| {
            let size = (STOPWORDS.len() * 2).next_power_of_two();
            let mut slots = vec![u64::from(FREE); size];
            for (k, w) in STOPWORDS.iter().enumerate() {
                let h = Self::hash(w.as_bytes());
                let mut at = (h as usize) & (size - 1);
                while slots[at] as u16 != FREE {
                    at = (at + 1) & (size - 1);
                }
                slots[at] = (h & TAG) | k as u64;
            }
            Stopwords { slots }
        })
    }

    /// FNV-1a of the bytes, folded: `token_ids` computes it in its one pass over a
    /// token's bytes.
    #[inline]
    fn hash(bytes: &[u8]) -> u64 {
        let h = bytes.iter().fold(FNV_OFFSET, |h, &b| fnv_step(h, b));
        fnv_finish(h)
    }

    #[inline]
    fn contains(&self, word: &str) -> bool {
        self.contains_hashed(word, Self::hash(word.as_bytes()))
    }

    /// `contains`, with `h` the word's `hash`.
    #[inline]
    fn contains_hashed(&self, word: &str, h: u64) -> bool {
        let mask = self.slots.len() - 1;
        let mut at = (h as usize) & mask;
        loop {
            let slot = self.slots[at];
            let k = slot as u16;
            if k == FREE {
                return false;
            }
            if slot & TAG == h & TAG && STOPWORDS[k as usize] == word {
                return true;
            }
            at = (at + 1) & mask;
        }
    }
}

/// zlib's CRC-32 of `bytes` (Python's `zlib.crc32`). Tokens are short: up to
/// `SHORT_CRC` bytes a byte-at-a-time table is quicker than `crc32fast`'s set-up.
#[inline]
pub fn crc32(bytes: &[u8]) -> i64 {
    if bytes.len() > SHORT_CRC {
        return i64::from(crc32fast::hash(bytes));
    }
    let crc = bytes.iter().fold(!0u32, |crc, &b| {
        CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    });
    i64::from(!crc)
}

const SHORT_CRC: usize = 24;

/// The reflected CRC-32 table of polynomial 0xEDB88320 (zlib's).
static CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// Where `word` is cut for its term: after its first `stem_prefix` characters when it
/// is all letters (not cut otherwise, or when `stem_prefix` is 0). A byte offset.
#[inline]
fn term_cut(word: &str, stem_prefix: usize) -> usize {
    if stem_prefix == 0 || word.is_empty() {
        return word.len();
    }
    if word.is_ascii() {
        let all_letters = word.bytes().all(|b| b.is_ascii_alphabetic());
        return if all_letters {
            word.len().min(stem_prefix)
        } else {
            word.len()
        };
    }
    if !word.chars().all(is_alpha) {
        return word.len();
    }
    word.char_indices()
        .nth(stem_prefix)
        .map_or(word.len(), |(at, _)| at)
}

/// The content-term id of one normalised token: `NO_TERM` for a function word, else
/// the CRC-32 of its first `stem_prefix` characters when it is all letters (all of
/// it otherwise, or when `stem_prefix` is 0).
pub fn term_id(word: &str, stem_prefix: usize) -> i64 {
    if is_stopword(word) {
        return NO_TERM;
    }
    crc32(&word.as_bytes()[..term_cut(word, stem_prefix)])
}

/// `(term_ids, word_ids)`: per token its content-term id (`NO_TERM` for a function
/// word) and the CRC-32 of the whole normalised token (one CRC for both when the
/// term is the whole token).
pub fn token_ids<'w>(
    words: impl ExactSizeIterator<Item = &'w str>,
    stem_prefix: usize,
) -> (Vec<i64>, Vec<i64>) {
    let mut terms = Vec::with_capacity(words.len());
    let mut ids = Vec::with_capacity(words.len());
    for w in words {
        let bytes = w.as_bytes();
        if bytes.len() > SHORT_CRC || !bytes.is_ascii() {
            let id = crc32(bytes);
            ids.push(id);
            terms.push(if is_stopword(w) {
                NO_TERM
            } else {
                let cut = term_cut(w, stem_prefix);
                if cut == w.len() {
                    id
                } else {
                    crc32(&bytes[..cut])
                }
            });
            continue;
        }
        // A short ASCII token (most are): one pass over its bytes gives its CRC-32,
        // the CRC-32 of its first `stem_prefix` bytes, whether it is all letters, and
        // its stopword hash.
        let (mut crc, mut crc_cut, mut letters, mut h) = (!0u32, !0u32, true, FNV_OFFSET);
        for (i, &b) in bytes.iter().enumerate() {
            if i == stem_prefix {
                crc_cut = crc;
            }
            crc = CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
            letters &= b.is_ascii_alphabetic();
            h = fnv_step(h, b);
        }
        let id = i64::from(!crc);
        ids.push(id);
        let stop = bytes.len() <= LONGEST_STOPWORD_BYTES
            && Stopwords::get().contains_hashed(w, fnv_finish(h));
        terms.push(if stop {
            NO_TERM
        } else if stem_prefix > 0 && letters && bytes.len() > stem_prefix {
            i64::from(!crc_cut)
        } else {
            id
        });
    }
    (terms, ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted_and_unique() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stopword("the") && is_stopword("für") && is_stopword("між"));
        assert!(!is_stopword("kremlin"));
        assert!(STOPWORDS
            .iter()
            .all(|w| w.len() <= LONGEST_STOPWORD_BYTES && is_stopword(w)));
    }

    #[test]
    fn stopword_lookup_is_exact() {
        for w in STOPWORDS {
            assert!(is_stopword(w));
            let longer = format!("{w}x");
            assert_eq!(is_stopword(&longer), STOPWORDS.contains(&longer.as_str()));
            let shorter = &w[..w.char_indices().last().map_or(0, |(at, _)| at)];
            assert_eq!(is_stopword(shorter), STOPWORDS.contains(&shorter));
        }
        assert!(!is_stopword("") && !is_stopword("kremlin") && !is_stopword("thee"));
    }

    /// Where a term ends, by the definition: after `prefix` characters of a word of
    /// letters only.
    fn cut_by_chars(w: &str, prefix: usize) -> usize {
        if prefix > 0 && w.chars().all(is_alpha) {
            w.char_indices().nth(prefix).map_or(w.len(), |(at, _)| at)
        } else {
            w.len()
        }
    }

    #[test]
    fn the_ascii_cut_is_the_general_cut() {
        for w in [
            "attacked", "abc", "a1b2c3d", "don't", "u.s", "hello", "helloo",
        ] {
            for prefix in 0..8 {
                assert_eq!(term_cut(w, prefix), cut_by_chars(w, prefix), "{w} {prefix}");
            }
        }
    }

    #[test]
    fn the_short_crc_is_crc32fast() {
        let bytes: Vec<u8> = (0..64u32).map(|k| (k * 37 + 11) as u8).collect();
        for start in 0..8 {
            for len in 0..=(SHORT_CRC + 4) {
                let b = &bytes[start..start + len];
                assert_eq!(crc32(b), i64::from(crc32fast::hash(b)));
            }
        }
    }

    #[test]
    fn token_ids_are_term_id_and_crc32_of_each_token() {
        let words = [
            "",
            "a",
            "the",
            "attacked",
            "attack",
            "attac",
            "2024abc",
            "don't",
            "u.s",
            "für",
            "привет",
            "between",
            "themselves",
            "x1",
            "abcdefghijklmnopqrstuvwxyz",
            "ab.cd",
        ];
        for prefix in [0, 1, 5, 6, 30] {
            let (terms, ids) = token_ids(words.into_iter(), prefix);
            for (k, w) in words.iter().enumerate() {
                assert_eq!(ids[k], i64::from(crc32fast::hash(w.as_bytes())), "{w}");
                let want = if STOPWORDS.contains(w) {
                    NO_TERM
                } else {
                    let cut = cut_by_chars(w, prefix);
                    i64::from(crc32fast::hash(&w.as_bytes()[..cut]))
                };
                assert_eq!(terms[k], want, "{w} {prefix}");
            }
        }
    }

    #[test]
    fn crc32_is_zlibs() {
        // zlib.crc32(b"hello") == 907060870
        assert_eq!(crc32(b"hello"), 907_060_870);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn terms_cut_letters_to_the_prefix() {
        assert_eq!(term_id("attacked", 5), term_id("attacks", 5));
        assert_eq!(term_id("attacked", 5), crc32(b"attac"));
        assert_eq!(term_id("привет", 3), crc32("при".as_bytes()));
        // Digits, apostrophes and marks are not all letters: kept whole.
        assert_eq!(term_id("2024abc", 3), crc32(b"2024abc"));
        assert_eq!(term_id("hasn't", 3), crc32(b"hasn't"));
        assert_eq!(term_id("attacked", 0), crc32(b"attacked"));
        assert_eq!(term_id("the", 5), NO_TERM);
        let (terms, words) = token_ids(["the", "attacked"].into_iter(), 5);
        assert_eq!(terms, [NO_TERM, crc32(b"attac")]);
        assert_eq!(words, [crc32(b"the"), crc32(b"attacked")]);
    }
}
