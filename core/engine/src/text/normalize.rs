//! Normalisation for matching, with a map back to the original text.
//!
//! The matching text is NFKC-normalised, case-folded, has curly quotes and dashes unified
//! and whitespace runs collapsed to one space. [`Normalized::to_original`] turns
//! half-open `[start, end)` ranges of the normalised text into half-open ranges of code
//! points of the original text; it is the only place where that mapping lives.

use super::unicode::{all_ascii, combining, is_nfkc, is_space, push_casefold, push_nfkc_with};

/// A normalised text and the segments that map it back to the original.
///
/// Segment `k` covers `text[norm_starts[k]..norm_starts[k+1]]` and came from
/// `original[orig_starts[k]..orig_starts[k+1]]`. A segment is either one-to-one (same
/// length on both sides) or atomic (one normalised unit for several original code
/// points, or the reverse); atomic segments never split. The last segment is empty
/// and closes both texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub text: Vec<char>,
    pub norm_starts: Vec<i64>,
    pub orig_starts: Vec<i64>,
    pub one_to_one: Vec<bool>,
}

/// The one-for-one stand-ins applied after folding: quotes and dashes unified, and the
/// characters NFKC would expand or that break the fast path (the ellipsis is
/// punctuation either way, no-break and other spaces are whitespace either way).
#[inline]
pub fn quote_or_dash(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}' | '\u{2032}' | '\u{b4}' | '`'
        | '\u{2039}' | '\u{203a}' => '\'',
        '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{201f}' | '\u{2033}' | '\u{ab}' | '\u{bb}' => '"',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{ad}' => '-',
        '\u{2026}' => '.',
        '\u{a0}' | '\u{2007}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{2000}'..='\u{200a}' => {
            ' '
        }
        _ => c,
    }
}

fn lower_ascii(chunk: &[char]) -> impl Iterator<Item = char> + '_ {
    chunk.iter().map(|c| c.to_ascii_lowercase())
}

/// `_fold` of the Python stage: NFKC, then casefold, then [`quote_or_dash`]; with
/// scratch buffers reused from chunk to chunk (a hostile text has 200,000 chunks).
#[derive(Default)]
struct Folder {
    nfkc: Vec<char>,
    decomposed: Vec<char>,
    single: Vec<char>,
}

impl Folder {
    fn fold(&mut self, chunk: &[char], out: &mut Vec<char>) {
        fold_into(chunk, out, &mut self.nfkc, &mut self.decomposed);
    }

    fn fold_len(&mut self, c: char) -> usize {
        self.single.clear();
        fold_into(&[c], &mut self.single, &mut self.nfkc, &mut self.decomposed);
        self.single.len()
    }

    /// True when some character folds to a different length (ß -> ss, ﬁ -> fi, ...)
    /// or is a combining mark: equal total length does not prove a one-to-one mapping
    /// if one character grows and another shrinks (NFKC composition).
    fn changes_length_locally(&mut self, chunk: &[char]) -> bool {
        chunk.iter().any(|&c| self.fold_len(c) != 1) || chunk.iter().any(|&c| combining(c) != 0)
    }
}

fn fold_into(chunk: &[char], out: &mut Vec<char>, nfkc: &mut Vec<char>, buf: &mut Vec<char>) {
    if chunk.is_ascii() {
        out.extend(lower_ascii(chunk));
        return;
    }
    nfkc.clear();
    push_nfkc_with(chunk, nfkc, buf);
    let start = out.len();
    for &c in nfkc.iter() {
        push_casefold(c, out);
    }
    for c in &mut out[start..] {
        *c = quote_or_dash(*c);
    }
}

trait IsAscii {
    fn is_ascii(&self) -> bool;
}

impl IsAscii for [char] {
    fn is_ascii(&self) -> bool {
        self.iter().all(char::is_ascii)
    }
}

/// The folded text when every character folds to exactly one character, else None.
///
/// `casefold` never shrinks a character, so equal total length means one-to-one; a
/// text already in NFKC is left alone by NFKC.
fn one_to_one_fold(text: &[char]) -> Option<Vec<char>> {
    if text.is_ascii() {
        return Some(lower_ascii(text).collect());
    }
    let translated: Vec<char> = text.iter().map(|&c| quote_or_dash(c)).collect();
    if !is_nfkc(&translated) {
        return None;
    }
    let mut folded = Vec::with_capacity(text.len());
    for c in translated {
        push_casefold(c, &mut folded);
    }
    (folded.len() == text.len()).then_some(folded)
}

/// Normalise `text` for matching; see the module documentation for what changes.
pub fn normalize(text: &[char]) -> Normalized {
    if let Some(out) = normalize_ascii(text) {
        return out;
    }
    match one_to_one_fold(text) {
        Some(folded) => collapse_whitespace(text, &folded),
        None => normalize_by_chunk(text),
    }
}

/// `normalize` of an ASCII text (None when `text` is not ASCII): folding is
/// lower-casing and every whitespace character becomes ' ', in passes without a
/// branch per character (they compile to vector code); only when two whitespace
/// characters meet does the text go through `collapse_whitespace`.
fn normalize_ascii(text: &[char]) -> Option<Normalized> {
    if !all_ascii(text) {
        return None;
    }
    let folded: Vec<char> = text.iter().map(|&c| fold_ascii(c as u8) as char).collect();
    let doubled = folded
        .iter()
        .zip(folded.iter().skip(1))
        .fold(false, |any, (&x, &y)| any | ((x == ' ') & (y == ' ')));
    if doubled {
        return Some(collapse_whitespace(text, &folded));
    }
    let end = len_i64(folded.len());
    Some(Normalized {
        text: folded,
        norm_starts: vec![0, end],
        orig_starts: vec![0, end],
        one_to_one: vec![true, true],
    })
}

/// An ASCII character lower-cased, whitespace (`is_space`) as ' ', without branches.
#[inline(always)]
fn fold_ascii(b: u8) -> u8 {
    let space = (b == b' ') | (b.wrapping_sub(b'\t') < 5) | (b.wrapping_sub(0x1c) < 4);
    let upper = b.wrapping_sub(b'A') < 26;
    let lowered = b | (u8::from(upper) << 5);
    if space {
        b' '
    } else {
        lowered
    }
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Fast path: `folded` is `text` folded one character for one character; only
/// whitespace runs of two or more characters become atomic segments.
fn collapse_whitespace(text: &[char], folded: &[char]) -> Normalized {
    let mut out = Normalized {
        text: Vec::with_capacity(folded.len()),
        norm_starts: vec![0],
        orig_starts: vec![0],
        one_to_one: vec![true],
    };
    // A space is written as ' ' as it comes (no branch on it in the common case);
    // its run, when a second space follows, becomes one atomic segment.
    let mut k = 0;
    let mut after_space = false;
    while k < folded.len() {
        let c = folded[k];
        let space = is_space(c);
        if space && after_space {
            let start = k - 1;
            k += 1;
            while k < folded.len() && is_space(folded[k]) {
                k += 1;
            }
            let at = out.text.len() - 1; // the run's ' '
            out.norm_starts.push(len_i64(at));
            out.orig_starts.push(len_i64(start));
            out.one_to_one.push(false);
            out.norm_starts.push(len_i64(at + 1));
            out.orig_starts.push(len_i64(k));
            out.one_to_one.push(true);
            after_space = false;
            continue;
        }
        out.text.push(if space { ' ' } else { c });
        after_space = space;
        k += 1;
    }
    out.norm_starts.push(len_i64(out.text.len()));
    out.orig_starts.push(len_i64(text.len()));
    out.one_to_one.push(true);
    out
}

/// General path: chunk by chunk, character cluster by cluster where folding changes
/// lengths (ß -> ss, ligatures, combining marks).
pub fn normalize_by_chunk(text: &[char]) -> Normalized {
    let mut out = Normalized {
        text: Vec::with_capacity(text.len()),
        norm_starts: Vec::new(),
        orig_starts: Vec::new(),
        one_to_one: Vec::new(),
    };
    let emit = |out: &mut Normalized, piece_start: usize, orig_start: usize, orig_len| {
        let piece_len = out.text.len() - piece_start;
        out.norm_starts.push(len_i64(piece_start));
        out.orig_starts.push(len_i64(orig_start));
        out.one_to_one.push(piece_len == orig_len);
    };
    let mut folder = Folder::default();
    let mut pos = 0;
    let mut k = 0;
    while k < text.len() {
        if is_space(text[k]) {
            k += 1;
            continue;
        }
        let start = k;
        while k < text.len() && !is_space(text[k]) {
            k += 1;
        }
        if start > pos {
            let at = out.text.len();
            out.text.push(' ');
            emit(&mut out, at, pos, start - pos);
        }
        let chunk = &text[start..k];
        let at = out.text.len();
        folder.fold(chunk, &mut out.text);
        let whole = chunk.is_ascii()
            || (out.text.len() - at == chunk.len() && !folder.changes_length_locally(chunk));
        if whole {
            emit(&mut out, at, start, chunk.len());
        } else {
            out.text.truncate(at);
            let mut c0 = 0;
            while c0 < chunk.len() {
                // A base character followed by its combining marks.
                let mut c1 = c0 + 1;
                while c1 < chunk.len() && combining(chunk[c1]) != 0 {
                    c1 += 1;
                }
                let at = out.text.len();
                folder.fold(&chunk[c0..c1], &mut out.text);
                emit(&mut out, at, start + c0, c1 - c0);
                c0 = c1;
            }
        }
        pos = k;
    }
    if pos < text.len() {
        let at = out.text.len();
        out.text.push(' ');
        emit(&mut out, at, pos, text.len() - pos);
    }
    out.norm_starts.push(len_i64(out.text.len()));
    out.orig_starts.push(len_i64(text.len()));
    out.one_to_one.push(true);
    out
}

/// Finds segments by walking from the last one found rather than by bisection: one
/// step or none for each of a text's tokens, mapped in order (any order is right).
pub struct Mapper<'n> {
    norm: &'n Normalized,
    at: usize,
}

impl Mapper<'_> {
    /// The last `k` with `norm_starts[k] <= p` (0 when none is): `Normalized::segment`.
    fn segment(&mut self, p: i64) -> usize {
        let starts = &self.norm.norm_starts;
        while self.at > 0 && starts[self.at] > p {
            self.at -= 1;
        }
        while self.at + 1 < starts.len() && starts[self.at + 1] <= p {
            self.at += 1;
        }
        self.at
    }

    /// `Normalized::to_original`.
    pub fn to_original(&mut self, start: i64, end: i64) -> (i64, i64) {
        let norm = self.norm;
        let seg_s = self.segment(start);
        norm.original_of(seg_s, start, end, |p| self.segment(p))
    }
}

impl Normalized {
    /// The segment holding normalised position `p`: the last `k` with
    /// `norm_starts[k] <= p` (0 when none is).
    fn segment(&self, p: i64) -> usize {
        self.norm_starts
            .partition_point(|&s| s <= p)
            .saturating_sub(1)
    }

    /// A `to_original` for many ranges, fastest when they come in order.
    pub fn mapper(&self) -> Mapper<'_> {
        Mapper { norm: self, at: 0 }
    }

    /// Map the half-open normalised range `[start, end)` to a half-open range of the
    /// original text. An empty or reversed range maps to an empty range at `start`.
    pub fn to_original(&self, start: i64, end: i64) -> (i64, i64) {
        self.original_of(self.segment(start), start, end, |p| self.segment(p))
    }

    /// `to_original` with `start`'s segment found, and a way to find `end`'s.
    fn original_of(
        &self,
        seg_s: usize,
        start: i64,
        end: i64,
        mut segment: impl FnMut(i64) -> usize,
    ) -> (i64, i64) {
        let orig_s = if self.one_to_one[seg_s] {
            self.orig_starts[seg_s] + (start - self.norm_starts[seg_s])
        } else {
            self.orig_starts[seg_s]
        };
        if end <= start {
            return (orig_s, orig_s);
        }
        // The last normalised character of the range is end - 1.
        let seg_e = segment((end - 1).max(0));
        let orig_e = if self.one_to_one[seg_e] {
            self.orig_starts[seg_e] + (end - self.norm_starts[seg_e])
        } else {
            let next = (seg_e + 1).min(self.orig_starts.len() - 1);
            self.orig_starts[next]
        };
        (orig_s, orig_e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn slice(text: &str, start: i64, end: i64) -> String {
        let t = chars(text);
        let (s, e) = normalize(&t).to_original(start, end);
        t[s as usize..e as usize].iter().collect()
    }

    #[test]
    fn folds_case_quotes_dashes_and_whitespace() {
        let n = normalize(&chars("Ça  “Va”\t—\n\nOK"));
        assert_eq!(n.text.iter().collect::<String>(), "ça \"va\" - ok");
    }

    #[test]
    fn ascii_folds_as_the_general_path() {
        for b in 0u8..0x80 {
            let c = b as char;
            let mut want = Vec::new();
            fold_into(&[c], &mut want, &mut Vec::new(), &mut Vec::new());
            let want = if is_space(c) { ' ' } else { want[0] };
            assert_eq!(fold_ascii(b) as char, want, "{b}");
        }
    }

    #[test]
    fn expansions_map_back_to_whole_characters() {
        let text = "ﬁnance Straße ＡＢＣ";
        let n = normalize(&chars(text));
        assert_eq!(n.text.iter().collect::<String>(), "finance strasse abc");
        assert_eq!(slice(text, 0, 7), "ﬁnance");
        assert_eq!(slice(text, 1, 2), "ﬁ");
        assert_eq!(slice(text, 8, 15), "Straße");
        assert_eq!(slice(text, 16, 19), "ＡＢＣ");
    }

    #[test]
    fn whitespace_runs_are_atomic() {
        let text = "a  \n b";
        assert_eq!(normalize(&chars(text)).text.len(), 3);
        assert_eq!(slice(text, 1, 2), "  \n ");
        assert_eq!(slice(text, 2, 3), "b");
    }

    #[test]
    fn fast_path_agrees_with_the_chunk_path() {
        for text in [
            "Ça  “Va”\t—\n\nOK",
            "  lead and trail  ",
            "",
            " ",
            "abc Σ déjà\u{a0}vu",
            "A b  C\t\n\nd e ",
            "   ",
            "x",
            " y  z\x1c\x1fW ",
        ] {
            let t = chars(text);
            let (fast, slow) = (normalize(&t), normalize_by_chunk(&t));
            assert_eq!(fast.text, slow.text, "{text:?}");
            let n = fast.text.len() as i64;
            let mut mapper = slow.mapper();
            for s in 0..n {
                for e in s + 1..=n {
                    assert_eq!(fast.to_original(s, e), slow.to_original(s, e), "{text:?}");
                    assert_eq!(mapper.to_original(s, e), fast.to_original(s, e), "{text:?}");
                }
            }
        }
    }
}
