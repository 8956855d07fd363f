//! Phonetic codes of name tokens, and the one-typo neighbourhoods that
//! [`super::person`] turns into `PersonPhonetic` and `PersonFuzzy` keys.
//!
//! A code is the consonant skeleton of a canonical token (from
//! [`super::translit`], after the person folds), in classes chosen for the
//! noise of this region's transliteration rather than for English sound
//! (as Soundex is):
//! - vowels, and so the glides `y`/`i`/`j`-as-й, are dropped: Курбонов and
//!   Курбанов, Ибрагим and Ибрахим differ only there;
//! - `b p f v w` are one class (Юсупов/Юсуфов, `-ov`/`-off`), `d t` another
//!   (Ахмед/Ахмет), `g k q h` another (Ибрагим/Иброҳим, Мухаммад/Магомед),
//!   `s z c` another (German `s` for з), `j sh ch shch tch` another (ж/ш
//!   both `sch` in German, ч/ш swapped in French-style text, дж/ж in
//!   Uzbek); `ng` is `n` (ң, Kazakh `ñ`, GOST `n`);
//! - a class repeated by adjacent letters is written once.
//!
//! Codes are upper-case ASCII (`B J K L M N R S T`), at most
//! [`MAX_CODE_LEN`] symbols; a token with no consonant codes as `A`.
//!
//! **Fuzzy keys.** Two spellings one typo apart usually have codes one
//! symbol apart (inserted, deleted or substituted). [`fuzzy_keys`] lists,
//! for the sorted codes of a name, the codes themselves and every variant
//! with one symbol deleted from one token: two such neighbourhoods share a
//! member whenever the codes are one edit apart (for an insertion the
//! shorter code equals a deletion of the longer; for a substitution both
//! delete the same position). To bound the count, each token's code is cut
//! to `k` symbols with `k = clamp(21 / tokens, 2, 7)`; deletions are taken
//! from the first `k + 1` symbols and the result cut to `k` again, so an
//! edit beyond the cut still leaves the cut codes equal. One name gives at
//! most `1 + tokens · k ≤ 22` keys; a person's total is capped at
//! [`MAX_FUZZY_KEYS`].
//!
//! A typo that breaks a digraph (`sh` typed `th`, `ng` typed `nk`, a letter
//! typed inside `dzh`), splits a doubled letter (`ss` typed `sbs`) or turns
//! a letter into `x` (`ks`) can move the code by two symbols; those pairs
//! share no fuzzy key. Clusters such as `ts` (ц) are deliberately not one
//! class, so that a typo in either letter stays one symbol.

/// Most symbols kept of one token's code.
pub const MAX_CODE_LEN: usize = 12;

/// Most fuzzy keys one person yields, over all readings of its name.
pub const MAX_FUZZY_KEYS: usize = 24;

/// Deletion positions one name may use in total; see the module
/// documentation.
const DELETION_BUDGET: usize = 21;

/// Class of a vowel: dropped, and separates repeats.
const VOWEL: u8 = 0;
/// Class of a character that is not a letter: ignored.
const IGNORED: u8 = 1;

/// The phonetic code of one canonical name token (lower-case `a`–`z`).
pub fn code(word: &str) -> String {
    let mut out = String::with_capacity(8);
    encode(word, &mut out);
    out
}

/// Appends the phonetic code of `word` to `out`; see [`code`].
pub fn encode(word: &str, out: &mut String) {
    let start = out.len();
    let b = word.as_bytes();
    let mut last = VOWEL;
    let mut i = 0;
    while i < b.len() && out.len() - start < MAX_CODE_LEN {
        let (class, n) = match &b[i..] {
            [b's' | b'c', b'h', ..] => (b'J', 2),
            [b't', b'c', b'h', ..] => (b'J', 3),
            [b'n', b'g', ..] => (b'N', 2),
            [c, ..] => (class(*c), 1),
            [] => break,
        };
        i += n;
        match class {
            VOWEL => last = VOWEL,
            IGNORED => {}
            c if c == last => {}
            c => {
                out.push(char::from(c));
                last = c;
            }
        }
    }
    if out.len() == start {
        out.push('A');
    }
}

fn class(c: u8) -> u8 {
    match c {
        b'a' | b'e' | b'i' | b'o' | b'u' | b'y' => VOWEL,
        b'b' | b'p' | b'f' | b'v' | b'w' => b'B',
        b'd' | b't' => b'T',
        b'g' | b'k' | b'q' | b'h' | b'x' => b'K',
        b's' | b'z' | b'c' => b'S',
        b'j' => b'J',
        b'l' => b'L',
        b'm' => b'M',
        b'n' => b'N',
        b'r' => b'R',
        _ => IGNORED,
    }
}

/// Most tokens of one name that fuzzy keys use; the person module passes
/// at most six.
const MAX_FUZZY_TOKENS: usize = 8;

/// Appends to `out` the fuzzy keys of one name, `prefix` then the
/// space-separated sorted codes: the codes cut as the module documentation
/// says, then each one-symbol deletion. Keys already in `out` are not
/// repeated, and nothing is added once `out` holds `limit` keys. Only the
/// first eight codes are used.
pub fn fuzzy_keys(prefix: &str, codes: &[String], out: &mut Vec<String>, limit: usize) {
    fuzzy_keys_of(prefix, codes, out, limit, None);
}

/// The fuzzy keys of [`fuzzy_keys`] made by a deletion in code `j` only
/// (without the key of the cut codes alone): which name token a weak hit
/// points at.
pub fn fuzzy_keys_varying(prefix: &str, codes: &[String], j: usize, out: &mut Vec<String>) {
    fuzzy_keys_of(prefix, codes, out, usize::MAX, Some(j));
}

fn fuzzy_keys_of(
    prefix: &str,
    codes: &[String],
    out: &mut Vec<String>,
    limit: usize,
    only: Option<usize>,
) {
    let codes = &codes[..codes.len().min(MAX_FUZZY_TOKENS)];
    let n = codes.len();
    if n == 0 {
        return;
    }
    let keep = (DELETION_BUDGET / n).clamp(2, 7);
    // Codes are ASCII, so byte cuts are character cuts.
    let mut kept = [""; MAX_FUZZY_TOKENS];
    for (k, c) in kept.iter_mut().zip(codes) {
        *k = &c[..c.len().min(keep)];
    }
    let kept = &kept[..n];
    let mut key = String::with_capacity(prefix.len() + 8 * n);
    if only.is_none() {
        add_key(prefix, kept, None, &mut key, out, limit);
    }
    let mut variant = String::with_capacity(keep + 1);
    for (j, c) in codes.iter().enumerate() {
        if only.is_some_and(|o| o != j) {
            continue;
        }
        let window = &c.as_bytes()[..c.len().min(keep + 1)];
        for p in 0..window.len() {
            if out.len() >= limit {
                return;
            }
            variant.clear();
            for (q, &s) in window.iter().enumerate() {
                if q != p && variant.len() < keep {
                    variant.push(char::from(s));
                }
            }
            if variant.is_empty() {
                variant.push('_');
            }
            add_key(prefix, kept, Some((j, &variant)), &mut key, out, limit);
        }
    }
}

/// Writes the key of `kept` (with token `j` replaced) into the scratch
/// `key`, and appends it to `out` if new.
fn add_key(
    prefix: &str,
    kept: &[&str],
    replace: Option<(usize, &str)>,
    key: &mut String,
    out: &mut Vec<String>,
    limit: usize,
) {
    if out.len() >= limit {
        return;
    }
    let mut tokens = [""; MAX_FUZZY_TOKENS];
    tokens[..kept.len()].copy_from_slice(kept);
    if let Some((j, v)) = replace {
        tokens[j] = v;
    }
    let tokens = &mut tokens[..kept.len()];
    tokens.sort_unstable();
    key.clear();
    key.push_str(prefix);
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            key.push(' ');
        }
        key.push_str(t);
    }
    if !out.iter().any(|k| k == key) {
        out.push(key.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_fold_regional_noise() {
        assert_eq!(code("kurbonov"), "KRBNB");
        assert_eq!(code("kurbanav"), "KRBNB");
        for w in ["ibragim", "ibrahim", "ibrohim"] {
            assert_eq!(code(w), "BRKM", "{w}");
        }
        assert_eq!(code("iusupov"), code("iusufov"));
        assert_eq!(code("tsoi"), "TS");
        assert_eq!(code("jukov"), code("shukov"));
        assert_eq!(code("aleksandr"), "LKSNTR");
        assert_eq!(code("mingbai"), code("minbai"));
        assert_eq!(code("aia"), "A");
        assert_eq!(code(""), "A");
        assert!(code(&"bd".repeat(40)).len() <= MAX_CODE_LEN);
    }

    fn keys(codes: &[&str]) -> Vec<String> {
        let codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
        let mut out = Vec::new();
        fuzzy_keys("d|", &codes, &mut out, MAX_FUZZY_KEYS);
        out
    }

    fn share(a: &[&str], b: &[&str]) -> bool {
        let kb = keys(b);
        keys(a).iter().any(|k| kb.contains(k))
    }

    #[test]
    fn one_edit_apart_share_a_key() {
        // Substitution, insertion, deletion, in either token, either order.
        assert!(share(&["KRBNB", "SB"], &["KRMNB", "SB"]));
        assert!(share(&["KRBNB", "SB"], &["KRBNB", "SBT"]));
        assert!(share(&["KRBNB", "SB"], &["SB", "KRNB"]));
        // Beyond the cut.
        assert!(share(&["KRBNBSTLM", "SB"], &["KRBNBSTLR", "SB"]));
        // An insertion inside the cut shifts the tail.
        assert!(share(&["ABCDEFGH", "SB"], &["ABXCDEFGH", "SB"]));
        assert!(!share(&["KRBNB", "SB"], &["BTRB", "SB"]));
    }

    #[test]
    fn the_count_is_bounded() {
        for n in 1..=8 {
            // Distinct codes, so sorting merges no variants.
            let all = "BKLMNRSTBKLMNRST";
            let codes: Vec<&str> = (0..n).map(|i| &all[i..i + 8]).collect();
            let k = keys(&codes);
            let keep = (DELETION_BUDGET / n).clamp(2, 7);
            assert!(k.len() <= 1 + n * keep && k.len() <= 22, "{n}: {}", k.len());
        }
        let mut out = Vec::new();
        fuzzy_keys(
            "d|",
            &["BKLMNRST".to_owned(), "JKLMNRST".to_owned()],
            &mut out,
            5,
        );
        assert_eq!(out.len(), 5);
    }
}
