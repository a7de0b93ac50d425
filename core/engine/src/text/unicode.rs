//! Character properties, NFKC and case folding, as Python 3.11 computes them.
//!
//! The data come from `tables.rs` (generated from Python's unicodedata, Unicode 14.0),
//! so `is_space` is `str.isspace`, `is_alnum` is `str.isalnum`, `nfkc` is
//! `unicodedata.normalize("NFKC", ...)` and `casefold` is `str.casefold`, for every code
//! point, whatever Unicode version Rust's own `char` methods follow.

use super::tables as t;

#[inline]
fn record(c: char) -> usize {
    let cp = c as usize;
    let block = t::INDEX[cp >> t::SHIFT] as usize;
    t::BLOCKS[(block << t::SHIFT) + (cp & ((1 << t::SHIFT) - 1))] as usize
}

#[inline]
fn flags(c: char) -> u16 {
    t::RECORD_FLAGS[record(c)]
}

/// Whether every character of `text` is ASCII: one pass without a branch per
/// character (it compiles to vector code).
pub fn all_ascii(text: &[char]) -> bool {
    text.iter().fold(0u32, |all, &c| all | c as u32) < 0x80
}

/// `str.isspace` (the `\s` of Python's `re`).
#[inline]
pub fn is_space(c: char) -> bool {
    if c.is_ascii() {
        return matches!(
            c,
            ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f'
        );
    }
    flags(c) & t::SPACE != 0
}

/// `str.isalnum` (the `\w` of Python's `re`, less `_`).
#[inline]
pub fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    flags(c) & t::ALNUM != 0
}

/// `str.isalpha`.
#[inline]
pub fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    flags(c) & t::ALPHA != 0
}

/// `str.isdecimal` (the `\d` of Python's `re`).
#[inline]
pub fn is_decimal(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    flags(c) & t::DECIMAL != 0
}

/// `str.isupper` of one character.
#[inline]
pub fn is_upper(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_uppercase();
    }
    flags(c) & t::UPPER != 0
}

/// General category `M*` (a combining mark of any kind).
#[inline]
pub fn is_mark(c: char) -> bool {
    !c.is_ascii() && flags(c) & t::MARK != 0
}

/// `unicodedata.combining`: the canonical combining class.
#[inline]
pub fn combining(c: char) -> u8 {
    if c.is_ascii() {
        return 0;
    }
    t::RECORD_CCC[record(c)]
}

fn lookup(keys: &[u32], at: &[u32], data: &'static [u32], c: char) -> Option<&'static [u32]> {
    let k = keys.binary_search(&(c as u32)).ok()?;
    let (len, offset) = ((at[k] & 0xff) as usize, (at[k] >> 8) as usize);
    data.get(offset..offset + len)
}

fn push_code_points(out: &mut Vec<char>, cps: &[u32]) {
    // The tables hold scalar values only (the generator skips surrogates).
    out.extend(cps.iter().filter_map(|&cp| char::from_u32(cp)));
}

/// Appends `str.casefold` of `c`.
#[inline]
pub fn push_casefold(c: char, out: &mut Vec<char>) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    if flags(c) & t::FOLDS != 0 {
        if let Some(cps) = lookup(&t::FOLD_KEYS, &t::FOLD_AT, &t::FOLD_DATA, c) {
            push_code_points(out, cps);
            return;
        }
    }
    out.push(c);
}

const S_BASE: u32 = 0xAC00;
const S_COUNT: u32 = 11172;
const L_BASE: u32 = 0x1100;
const L_COUNT: u32 = 19;
const V_BASE: u32 = 0x1161;
const V_COUNT: u32 = 21;
const T_BASE: u32 = 0x11A7;
const T_COUNT: u32 = 28;
const N_COUNT: u32 = V_COUNT * T_COUNT;

fn push_decomposition(c: char, out: &mut Vec<char>) {
    let cp = c as u32;
    if (S_BASE..S_BASE + S_COUNT).contains(&cp) {
        let s = cp - S_BASE;
        let (l, v, tt) = (
            L_BASE + s / N_COUNT,
            V_BASE + (s % N_COUNT) / T_COUNT,
            s % T_COUNT,
        );
        push_code_points(out, &[l, v]);
        if tt != 0 {
            push_code_points(out, &[T_BASE + tt]);
        }
        return;
    }
    if !c.is_ascii() && flags(c) & t::DECOMPOSES != 0 {
        if let Some(cps) = lookup(&t::DECOMP_KEYS, &t::DECOMP_AT, &t::DECOMP_DATA, c) {
            push_code_points(out, cps);
            return;
        }
    }
    out.push(c);
}

fn compose(a: char, b: char) -> Option<char> {
    let (a, b) = (a as u32, b as u32);
    if (L_BASE..L_BASE + L_COUNT).contains(&a) && (V_BASE..V_BASE + V_COUNT).contains(&b) {
        return char::from_u32(S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT);
    }
    if (S_BASE..S_BASE + S_COUNT).contains(&a)
        && (a - S_BASE) % T_COUNT == 0
        && (T_BASE + 1..T_BASE + T_COUNT).contains(&b)
    {
        return char::from_u32(a + (b - T_BASE));
    }
    let second = char::from_u32(b).is_some_and(|c| !c.is_ascii() && flags(c) & t::SECOND != 0);
    if !second {
        return None;
    }
    let key = (u64::from(a) << 32) | u64::from(b);
    let k = t::COMPOSE_KEYS.binary_search(&key).ok()?;
    char::from_u32(t::COMPOSE_VALUES[k])
}

/// Whether NFKC leaves `c` alone whatever surrounds it (no decomposition, combining
/// class 0, never the second char of a composite): a text of such chars is in NFKC.
#[inline]
pub fn is_inert(c: char) -> bool {
    c.is_ascii() || flags(c) & t::INERT != 0
}

/// `unicodedata.normalize("NFKC", text)`, appended to `out`.
pub fn push_nfkc(text: &[char], out: &mut Vec<char>) {
    push_nfkc_with(text, out, &mut Vec::new());
}

/// [`push_nfkc`] with a scratch buffer the caller reuses from call to call.
pub fn push_nfkc_with(text: &[char], out: &mut Vec<char>, buf: &mut Vec<char>) {
    if text.iter().all(|&c| is_inert(c)) {
        out.extend_from_slice(text);
        return;
    }
    buf.clear();
    for &c in text {
        push_decomposition(c, buf);
    }
    // Canonical ordering: a stable sort of each run of non-starters by combining class.
    let mut k = 0;
    while k < buf.len() {
        if combining(buf[k]) == 0 {
            k += 1;
            continue;
        }
        let start = k;
        while k < buf.len() && combining(buf[k]) != 0 {
            k += 1;
        }
        buf[start..k].sort_by_key(|&c| combining(c));
    }
    // Canonical composition: each char joins the last starter unless a char between
    // them blocks it (class 0, or a class not below its own).
    let mut starter: Option<usize> = None;
    let mut between: Option<u8> = None;
    for &c in buf.iter() {
        let cc = combining(c);
        if let Some(s) = starter {
            let blocked = between.is_some_and(|b| b == 0 || b >= cc);
            if !blocked {
                if let Some(x) = compose(out[s], c) {
                    out[s] = x;
                    continue;
                }
            }
        }
        if cc == 0 {
            starter = Some(out.len());
            between = None;
        } else {
            between = Some(cc);
        }
        out.push(c);
    }
}

/// `unicodedata.is_normalized("NFKC", text)`.
pub fn is_nfkc(text: &[char]) -> bool {
    if text.iter().all(|&c| is_inert(c)) {
        return true;
    }
    let mut out = Vec::with_capacity(text.len());
    push_nfkc(text, &mut out);
    out == text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nfkc(s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut out = Vec::new();
        push_nfkc(&chars, &mut out);
        out.into_iter().collect()
    }

    fn casefold(s: &str) -> String {
        let mut out = Vec::new();
        for c in s.chars() {
            push_casefold(c, &mut out);
        }
        out.into_iter().collect()
    }

    #[test]
    fn properties_follow_python() {
        assert!(is_space('\u{3000}') && is_space('\u{1c}') && !is_space('\u{200b}'));
        assert!(is_alnum('é') && is_alnum('٣') && !is_alnum('_') && !is_alnum('\u{301}'));
        assert!(is_alpha('ß') && !is_alpha('\u{94d}') && !is_alpha('3'));
        assert!(is_decimal('٣') && !is_decimal('²'));
        assert!(is_upper('Σ') && !is_upper('σ') && !is_upper('ǅ'));
        assert!(is_mark('\u{301}') && is_mark('\u{94d}') && !is_mark('a'));
        assert_eq!(combining('\u{301}'), 230);
    }

    #[test]
    fn nfkc_decomposes_composes_and_reorders() {
        assert_eq!(nfkc("ﬁ"), "fi");
        assert_eq!(nfkc("ＡＢＣ"), "ABC");
        assert_eq!(nfkc("e\u{301}"), "é");
        // Hangul: jamo compose algorithmically, a syllable stays.
        assert_eq!(nfkc("\u{1100}\u{1161}\u{11a8}"), "\u{ac01}");
        assert_eq!(nfkc("각"), "각");
        // Marks below and above reorder before composing: a + dot below + acute.
        assert_eq!(nfkc("a\u{301}\u{323}"), "\u{1ea1}\u{301}");
        // An excluded composite stays decomposed.
        assert_eq!(nfkc("\u{958}"), "\u{915}\u{93c}");
        let is = |s: &str| is_nfkc(&s.chars().collect::<Vec<_>>());
        assert!(is("plain text") && !is("ﬁ") && is("é") && !is("e\u{301}"));
    }

    #[test]
    fn casefold_expands() {
        assert_eq!(casefold("Straße ΣΑΣ"), "strasse σασ");
        assert_eq!(casefold("İ"), "i\u{307}");
    }
}
