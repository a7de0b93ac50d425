//! Quoted segments: the text inside quotation marks, in every script's style.
//!
//! News quotes people, and outlets repeat the same short quote in their own marks:
//! "…" “…” ”…” «…» »…« „…“ „…” ‚…‘ ‹…› 「…」 『…』, and single quotes ('…', ‘…’) where
//! they pair. Quotes are found on the original text (normalisation folds some marks
//! together, and „…“ pairs marks that open other styles). An opening mark starts a word
//! (no letter or digit before it, none of the spaces after it); its closer is the first
//! mark of its style that ends a word (no space before it, no letter or digit after it).
//! A single quote between two letters is an apostrophe and never pairs. Quotes do not
//! nest (a quote inside a quote belongs to the outer one) and do not cross a blank line
//! or run longer than [`MAX_QUOTE_CHARS`]; an opener without a closer is ignored.
//!
//! Work: `O(n log n)` for a text of `n` code points (each opener looks at most
//! `MAX_CLOSERS_TRIED` candidate closers per closing mark, found by bisection).

use super::unicode::{is_alnum, is_space};

/// The longest quote, in code points; past it an opener is taken to be unpaired.
pub const MAX_QUOTE_CHARS: usize = 3000;
const MAX_CLOSERS_TRIED: usize = 16;

/// Every quotation mark; an index into it names a mark.
const MARKS: [char; 15] = [
    '"', '\'', '\u{ab}', '\u{bb}', '\u{2018}', '\u{2019}', '\u{201a}', '\u{201c}', '\u{201d}',
    '\u{201e}', '\u{2039}', '\u{203a}', '\u{300c}', '\u{300d}', '\u{300e}',
];
const LAST_MARK: char = '\u{300f}';

/// Each opening mark and the marks that may close it, in the order they are tried.
pub fn closers(opener: char) -> &'static [char] {
    match opener {
        '"' => &['"'],
        '\u{201c}' => &['\u{201d}', '\u{201c}'], // “…” (and “…“ typed carelessly)
        '\u{201d}' => &['\u{201d}'],             // ”…” (Swedish, Finnish)
        '\u{201e}' => &['\u{201c}', '\u{201d}'], // „…“ (German, Czech), „…” (Polish)
        '\u{ab}' => &['\u{bb}'],                 // «…»
        '\u{bb}' => &['\u{ab}'],                 // »…« (German, Danish)
        '\u{201a}' => &['\u{2018}', '\u{2019}'], // ‚…‘ and ‚…’
        '\u{2039}' => &['\u{203a}'],             // ‹…›
        '\u{203a}' => &['\u{2039}'],             // ›…‹
        '\u{300c}' => &['\u{300d}'],             // 「…」
        '\u{300e}' => &['\u{300f}'],             // 『…』
        '\'' => &['\''],
        '\u{2018}' => &['\u{2019}'], // ‘…’
        _ => &[],
    }
}

fn mark_index(c: char) -> Option<usize> {
    if c.is_ascii() {
        // The ASCII marks are MARKS[0] and MARKS[1]: no scan for every character.
        return match c {
            '"' => Some(0),
            '\'' => Some(1),
            _ => None,
        };
    }
    if c == LAST_MARK {
        return Some(MARKS.len());
    }
    MARKS.iter().position(|&m| m == c)
}

fn is_single(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201a}')
}

/// Corner brackets are never anything but quotation marks, and CJK text has no spaces
/// around them: they pair without the word-boundary tests.
fn is_bracket(c: char) -> bool {
    matches!(c, '\u{300c}' | '\u{300d}' | '\u{300e}' | '\u{300f}')
}

/// Guillemets may have spaces inside them (French typesetting: « oui »).
fn is_spaced(c: char) -> bool {
    matches!(c, '\u{ab}' | '\u{bb}' | '\u{2039}' | '\u{203a}')
}

/// Half-open code-point ranges of `text` inside quotation marks (marks excluded), in
/// order, disjoint.
pub fn quoted_spans(text: &[char]) -> Vec<(usize, usize)> {
    let mut positions: Vec<Vec<usize>> = vec![Vec::new(); MARKS.len() + 1];
    let mut openers = Vec::new();
    for (k, &c) in text.iter().enumerate() {
        if let Some(m) = mark_index(c) {
            positions[m].push(k);
            if !closers(c).is_empty() {
                openers.push(k);
            }
        }
    }
    if openers.is_empty() {
        return Vec::new();
    }
    let n = text.len();
    let breaks: Vec<usize> = (0..n.saturating_sub(1))
        .filter(|&k| text[k] == '\n' && text[k + 1] == '\n')
        .collect();
    let mut out = Vec::new();
    let mut done = 0;
    for k in openers {
        if k < done {
            continue;
        }
        let c = text[k];
        if k + 1 >= n || (is_space(text[k + 1]) && !is_spaced(c)) {
            continue;
        }
        if !is_bracket(c) && k > 0 && is_alnum(text[k - 1]) {
            continue; // inside a word: an apostrophe, or a closer
        }
        let next_break = breaks
            .get(breaks.partition_point(|&b| b <= k))
            .copied()
            .unwrap_or(n);
        let limit = n.min(k + 1 + MAX_QUOTE_CHARS).min(next_break);
        let Some(end) = closer(text, k, &positions, limit) else {
            continue;
        };
        let (mut s, mut e) = (k + 1, end);
        while s < e && is_space(text[s]) {
            s += 1;
        }
        while e > s && is_space(text[e - 1]) {
            e -= 1;
        }
        if e > s {
            out.push((s, e));
        }
        done = end + 1;
    }
    out
}

/// The position of the mark that closes the quote opened at `k`, if any.
fn closer(text: &[char], k: usize, positions: &[Vec<usize>], limit: usize) -> Option<usize> {
    let single = is_single(text[k]);
    let mut best: Option<usize> = None;
    for &mark in closers(text[k]) {
        let ks = mark_index(mark).map_or(&[][..], |m| &positions[m][..]);
        let at = ks.partition_point(|&p| p <= k);
        for &e in ks[at..].iter().take(MAX_CLOSERS_TRIED) {
            if e >= limit || best.is_some_and(|b| e >= b) {
                break;
            }
            if is_bracket(mark) {
                best = Some(e);
                break;
            }
            let before = text[e - 1];
            let after = text.get(e + 1).copied().unwrap_or(' ');
            if (is_space(before) && !is_spaced(mark)) || is_alnum(after) {
                continue; // opens another quote, or an apostrophe (don't, '90s)
            }
            if single && is_alnum(before) && is_alnum(after) {
                continue;
            }
            best = Some(e);
            break;
        }
    }
    best
}

/// Mask of the tokens (`starts`/`ends`, code points, both non-decreasing) lying inside
/// a quoted span.
pub fn quoted_tokens(spans: &[(usize, usize)], starts: &[i64], ends: &[i64]) -> Vec<bool> {
    let mut inside = vec![false; starts.len()];
    for &(s, e) in spans {
        let (s, e) = (s as i64, e as i64);
        let t0 = starts.partition_point(|&x| x < s);
        let t1 = ends.partition_point(|&x| x <= e);
        if t1 > t0 {
            inside[t0..t1].fill(true);
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_indices_are_positions_in_marks() {
        for cp in 0..0x3100u32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let want = if c == LAST_MARK {
                Some(MARKS.len())
            } else {
                MARKS.iter().position(|&m| m == c)
            };
            assert_eq!(mark_index(c), want, "{cp:x}");
        }
    }

    fn quotes(text: &str) -> Vec<String> {
        let t: Vec<char> = text.chars().collect();
        quoted_spans(&t)
            .into_iter()
            .map(|(s, e)| t[s..e].iter().collect())
            .collect()
    }

    #[test]
    fn every_style_pairs() {
        for (o, c) in [
            ("\"", "\""),
            ("“", "”"),
            ("„", "“"),
            ("«", "»"),
            ("»", "«"),
            ("‚", "‘"),
        ] {
            assert_eq!(
                quotes(&format!("He said {o}we will{c} today.")),
                ["we will"]
            );
        }
        assert_eq!(quotes("« oui »"), ["oui"]);
        assert_eq!(quotes("大臣は「再建する」と"), ["再建する"]);
    }

    #[test]
    fn apostrophes_and_blank_lines_do_not_pair() {
        assert!(quotes("It's the council's view that the '90s rules don't apply.").is_empty());
        assert!(quotes("“open\n\nclosed” later").is_empty());
        assert_eq!(
            quotes("“They told us ‘leave now’ and we left,” he said."),
            ["They told us ‘leave now’ and we left,"]
        );
    }

    #[test]
    fn tokens_inside_spans_are_marked() {
        // Tokens at 0..2, 3..5, 6..8; the span 3..8 holds the last two.
        assert_eq!(
            quoted_tokens(&[(3, 8)], &[0, 3, 6], &[2, 5, 8]),
            [false, true, true]
        );
    }
}
