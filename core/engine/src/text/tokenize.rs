//! Tokenisation for every script.
//!
//! Scripts written with spaces (Latin, Cyrillic, Greek, Arabic, Devanagari, ...) give
//! word tokens; scripts written without them (Han, kana, Thai, Lao, Khmer, Myanmar) give
//! overlapping character bigrams, so a Chinese passage is matched as finely as an
//! English one. Sentence ends are recorded so that the unit stage can cut on them.
//!
//! Token offsets are half-open ranges of code points of the *original* text.

use super::normalize::{normalize, Normalized};
use super::unicode::{all_ascii, is_alnum, is_mark};

/// The tokens of one text: `words[k]` is the normalised form of token `k`,
/// `starts[k]..ends[k]` its range in the original text. `sentence_ends` holds the
/// indices `k` such that a sentence ends right after token `k - 1` (exclusive token
/// bounds, increasing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    pub words: Words,
    pub starts: Vec<i64>,
    pub ends: Vec<i64>,
    pub sentence_ends: Vec<i64>,
}

/// Token strings: ranges of one `String` (the normalised text, or the tokens one after
/// another), so that a text's tokens cost no allocation each: `words[k]` or
/// `words.get(k)` is token `k`'s.
#[derive(Debug, Clone, Default)]
pub struct Words {
    text: String,
    /// Byte range in `text` of each token.
    ranges: Vec<(usize, usize)>,
}

impl PartialEq for Words {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Words {}

impl Words {
    /// Append a token.
    pub fn push(&mut self, word: &str) {
        let start = self.text.len();
        self.text.push_str(word);
        self.ranges.push((start, self.text.len()));
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Token `k`'s string, if there is one.
    pub fn get(&self, k: usize) -> Option<&str> {
        let &(start, end) = self.ranges.get(k)?;
        self.text.get(start..end)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.ranges
            .iter()
            .map(|&(start, end)| self.text.get(start..end).unwrap_or_default())
    }
}

impl std::ops::Index<usize> for Words {
    type Output = str;

    fn index(&self, k: usize) -> &str {
        match self.get(k) {
            Some(word) => word,
            None => panic!("token {k} of {}", self.len()),
        }
    }
}

impl<S: AsRef<str>> FromIterator<S> for Words {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut out = Words::default();
        for w in iter {
            out.push(w.as_ref());
        }
        out
    }
}

/// `t` in UTF-8, and where each of its code points starts in it (None: all ASCII, one
/// byte each).
fn utf8(t: &[char]) -> (String, Option<Vec<usize>>) {
    if all_ascii(t) {
        let bytes: Vec<u8> = t.iter().map(|&c| c as u8).collect();
        if let Ok(text) = String::from_utf8(bytes) {
            return (text, None);
        }
    }
    let mut text = String::with_capacity(t.len() + t.len() / 2);
    let mut at = Vec::with_capacity(t.len() + 1);
    for &c in t {
        at.push(text.len());
        text.push(c);
    }
    at.push(text.len());
    (text, Some(at))
}

impl Tokens {
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// Scripts without spaces between words.
#[inline]
pub fn is_unspaced(c: char) -> bool {
    matches!(c,
        '\u{0e00}'..='\u{0e7f}' // Thai
        | '\u{0e80}'..='\u{0eff}' // Lao
        | '\u{1000}'..='\u{109f}' // Myanmar
        | '\u{1780}'..='\u{17ff}' // Khmer
        | '\u{3040}'..='\u{30ff}' // Hiragana, Katakana
        | '\u{3400}'..='\u{4dbf}' // CJK extension A
        | '\u{4e00}'..='\u{9fff}' // CJK unified ideographs
        | '\u{f900}'..='\u{faff}' // CJK compatibility ideographs
        | '\u{20000}'..='\u{2fa1f}' // CJK extensions B-F and supplement
    )
}

/// A letter or digit of a spaced script.
#[inline]
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    is_alnum(c) && !is_unspaced(c)
}

/// A combining mark inside a word. Marks of unspaced scripts (Thai tone marks, ...)
/// belong to their bigrams; the Python stage listed the marks below U+20000 only.
#[inline]
fn is_word_mark(c: char) -> bool {
    !c.is_ascii() && (c as u32) < 0x20000 && is_mark(c) && !is_unspaced(c)
}

/// The ASCII characters that may end a sentence (`\n` and `is_sentence_mark`'s), as
/// bits of their code points.
const ASCII_ENDS: u128 = 1 << b'\n' | 1 << b'.' | 1 << b'!' | 1 << b'?' | 1 << b';';

#[inline]
fn is_sentence_mark(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | '。' | '！' | '？')
}

/// The end of the word that starts at `i` (`t[i]` is a letter or a mark): letters and
/// marks, then any number of `'` or `.` each followed by letters (`don't`, `u.s`).
fn word_end(t: &[char], i: usize) -> usize {
    let mut j = i;
    while j < t.len() && (is_letter(t[j]) || is_word_mark(t[j])) {
        j += 1;
    }
    while j + 1 < t.len() && matches!(t[j], '\'' | '.') && is_letter(t[j + 1]) {
        j += 2;
        while j < t.len() && is_letter(t[j]) {
            j += 1;
        }
    }
    j
}

/// Half-open ranges of the normalised text `t`: words, and the bigrams (or lone
/// characters) of unspaced runs, ordered by start.
pub fn token_spans(t: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::with_capacity(t.len() / 4);
    let mut i = 0;
    while i < t.len() {
        let c = t[i];
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            i += 1; // ASCII punctuation and spaces: no token, no mark, not unspaced
            continue;
        }
        if is_letter(c) || is_word_mark(c) {
            let j = word_end(t, i);
            spans.push((i, j));
            i = j;
        } else if is_unspaced(c) {
            let mut j = i + 1;
            while j < t.len() && is_unspaced(t[j]) {
                j += 1;
            }
            if j - i == 1 {
                spans.push((i, j));
            } else {
                spans.extend((i..j - 1).map(|k| (k, k + 2)));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    spans
}

/// Token counts at the sentence marks of `t`: a sentence ends after the last token
/// that starts before its end mark (a run of `.!?;。！？`, or a newline).
fn sentence_ends(t: &[char], spans: &[(usize, usize)]) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    let mut k = 0;
    for (p, &c) in t.iter().enumerate() {
        if (c as u32) < 128 && (ASCII_ENDS >> (c as u32)) & 1 == 0 {
            continue; // the common case: an ASCII character that ends nothing
        }
        let starts_mark =
            c == '\n' || (is_sentence_mark(c) && (p == 0 || !is_sentence_mark(t[p - 1])));
        if !starts_mark {
            continue;
        }
        while k < spans.len() && spans[k].0 < p {
            k += 1;
        }
        let count = i64::try_from(k).unwrap_or(i64::MAX);
        if count > 0 && out.last() != Some(&count) {
            out.push(count);
        }
    }
    out
}

/// Tokenise the already normalised `norm`.
pub fn tokenize_normalized(norm: &Normalized) -> Tokens {
    let t = &norm.text;
    let spans = token_spans(t);
    let (text, byte_at) = utf8(t);
    let ranges = match &byte_at {
        None => spans.clone(),
        Some(at) => spans.iter().map(|&(s, e)| (at[s], at[e])).collect(),
    };
    let mut tokens = Tokens {
        words: Words { text, ranges },
        starts: Vec::with_capacity(spans.len()),
        ends: Vec::with_capacity(spans.len()),
        sentence_ends: sentence_ends(t, &spans),
    };
    let mut map = norm.mapper();
    for &(s, e) in &spans {
        let (os, oe) = map.to_original(s as i64, e as i64);
        tokens.starts.push(os);
        tokens.ends.push(oe);
    }
    tokens
}

/// Tokenise `text` (code points).
pub fn tokenize(text: &[char]) -> Tokens {
    tokenize_normalized(&normalize(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let words = tokenize(&text.chars().collect::<Vec<_>>()).words;
        words.iter().map(String::from).collect()
    }

    #[test]
    fn spaced_scripts_give_words() {
        assert_eq!(words("The Kremlin said"), ["the", "kremlin", "said"]);
        assert_eq!(words("Кремль заявил"), ["кремль", "заявил"]);
        assert_eq!(words("हिन्दी भाषा"), ["हिन्दी", "भाषा"]);
        assert_eq!(
            words("Putin’s drones u.s. snake_case"),
            ["putin's", "drones", "u.s", "snake", "case"]
        );
    }

    #[test]
    fn unspaced_scripts_give_bigrams() {
        assert_eq!(words("克里姆林宫"), ["克里", "里姆", "姆林", "林宫"]);
        assert_eq!(words("ข่าวด่วน")[..2], ["ข่", "่า"]);
        assert_eq!(words("一 x"), ["一", "x"]);
    }

    #[test]
    fn words_are_the_normalised_tokens_in_any_script() {
        for text in [
            "Ça “Va” naïve ﬁnance",
            "plain ascii words.",
            "",
            "克里姆林宫 x",
        ] {
            let chars: Vec<char> = text.chars().collect();
            let norm = normalize(&chars);
            let t = tokenize(&chars);
            let want: Vec<String> = token_spans(&norm.text)
                .iter()
                .map(|&(s, e)| norm.text[s..e].iter().collect())
                .collect();
            assert_eq!(t.words.iter().collect::<Vec<_>>(), want);
            assert_eq!(t.words, want.iter().collect::<Words>());
        }
    }

    #[test]
    fn offsets_are_code_points_of_the_original() {
        let text: Vec<char> = "Путин (Putin) 普京 said.".chars().collect();
        let t = tokenize(&text);
        let back: Vec<String> = (0..t.len())
            .map(|k| {
                text[t.starts[k] as usize..t.ends[k] as usize]
                    .iter()
                    .collect()
            })
            .collect();
        assert_eq!(back, ["Путин", "Putin", "普京", "said"]);
    }

    #[test]
    fn the_ascii_end_bits_are_the_marks() {
        for b in 0u8..128 {
            let c = b as char;
            let bit = (ASCII_ENDS >> b) & 1 == 1;
            assert_eq!(bit, c == '\n' || is_sentence_mark(c), "{b}");
        }
    }

    #[test]
    fn sentence_ends_are_recorded() {
        let t = tokenize(&"One two. Three four! 五六。七".chars().collect::<Vec<_>>());
        assert_eq!(t.sentence_ends, [2, 4, 5]);
    }
}
