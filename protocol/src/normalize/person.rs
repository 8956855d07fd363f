//! Person keys: several selectors per person, each starting with the date
//! of birth (`1985-03-14|...`), so that the same person written by any
//! agency of the region meets the same key.
//!
//! **Flow.** The name parts are turned into symbols once
//! (`translit::symbols`) and read under every transliteration scheme the
//! text may use (`translit::read`); each distinct reading is parsed into
//! name tokens and a patronymic, the tokens are folded, and keys are made
//! from every reading. The parts used are `surname` and `given` (with
//! `patronymic`) when both are present, else `full_name` (in any order) when
//! present, else whatever parts there are.
//!
//! **Parsing.** Hyphenated pieces are one token (`Abdul-Aziz` =
//! `abdulaziz`), spaces separate tokens. A Turkic patronymic marker (`uulu`,
//! `kyzy`, `uly`, `qizi`, `oʻgʻli`, `ogly`, `oglu` in any script) takes the
//! token before it as the patronymic, wherever it is written; in a
//! `full_name` of three or more tokens a token (not the first) ending in
//! `-ovich -evich -ovna -evna -ichna -ich` (Russian), `-ivna` (Ukrainian
//! -івна/-ївна) or `-avich -auna -euna` (Belarusian) is the patronymic, as is a glued
//! Kazakh `-uly`/`-kyzy` from the third token on. A patronymic is reduced to
//! the father's name (`Asanovich`, `Asan uulu`, `Asanuly` all give `asan`).
//! A person written the Kyrgyz way with no other surname (`Asan uulu
//! Bakyt`) gets the surname `Asanov`, the form such names replaced.
//!
//! **Folds** (on canonical tokens, in `fold_name`): `o` is `a` (Russified
//! vowels: Курбонов/Курбанов, Абдулло/Абдулла, Бахтиёр/Бахтияр), `z` is
//! `s` (German writes з as `s`), `ng` is `n` (ң is `n` in GOST and Kazakh
//! passports), a doubled letter is written once; then the feminine endings
//! `-ova -eva -ina -skaya` become `-ov -ev -in -ski`, and the Tajik and
//! Persian endings `-zoda -zod -zade` become `-ov` (Rahmonzoda/Rahmonov).
//!
//! **Keys**, all `DOB|...` with DOB as ISO 8601:
//! - `PersonFull`: sorted name tokens `|` patronymic; only with a patronymic;
//! - `PersonName`: sorted name tokens (so order does not matter), plus
//!   variants where the tokens of a multi-word `surname` or `given`, or two
//!   adjacent tokens of a `full_name` of three or more, are joined (`Abdul
//!   Aziz` meets `Abdulaziz`);
//! - `PersonPhonetic`: sorted phonetic codes ([`phonetic::code`]);
//! - `PersonFuzzy`: their one-deletion neighbourhood
//!   ([`phonetic::fuzzy_keys`]).
//!
//! A name with fewer than two tokens yields no key: a given name and a date
//! of birth alone would match strangers. Bounds per person, since each key
//! costs an OPRF evaluation: at most 5 full, 12 name, 5 phonetic and
//! [`phonetic::MAX_FUZZY_KEYS`] fuzzy keys ([`MAX_KEYS`] in all); at most 6
//! name tokens of at most 32 letters are used.

use super::{phonetic, translit, Error};
use crate::date::Date;
use crate::{Selector, SelectorKind};

/// Most person selectors [`selectors`] appends for one person.
pub const MAX_KEYS: usize =
    MAX_FULL_KEYS + MAX_NAME_KEYS + MAX_PHONETIC_KEYS + phonetic::MAX_FUZZY_KEYS;

const MAX_FULL_KEYS: usize = 5;
const MAX_NAME_KEYS: usize = 12;
const MAX_PHONETIC_KEYS: usize = 5;
/// Name tokens used; more are dropped (the first ones written are kept).
const MAX_TOKENS: usize = 6;
/// Letters kept of one token.
const MAX_TOKEN_LEN: usize = 32;
/// Symbols kept of one name part: longer input is not a name, and must not
/// cost more than one.
const MAX_PART_SYMBOLS: usize = 128;

/// A person's name as written, each part optional.
#[derive(Clone, Copy, Debug, Default)]
pub struct Names<'a> {
    /// Family name.
    pub surname: Option<&'a str>,
    /// Given name.
    pub given: Option<&'a str>,
    /// Patronymic.
    pub patronymic: Option<&'a str>,
    /// The whole name, parts in any order.
    pub full_name: Option<&'a str>,
}

impl Names<'_> {
    /// Whether no part is given.
    pub fn is_empty(&self) -> bool {
        self.surname.is_none()
            && self.given.is_none()
            && self.patronymic.is_none()
            && self.full_name.is_none()
    }
}

/// Appends the person keys of `names` born on `dob` to `out` (at most
/// [`MAX_KEYS`], no duplicates; none if the name has fewer than two
/// tokens). Fails as [`check`] does.
pub fn selectors(names: &Names<'_>, dob: Date, out: &mut Vec<Selector>) -> Result<(), Error> {
    let input = Input::new(names)?;
    let mut keys = Keys::new(dob);
    input.each_reading(|parsed| keys.add(parsed));
    keys.push_into(out);
    Ok(())
}

/// Checks that at least one part of the name has a letter that can be
/// read (Cyrillic or Latin, any transliteration).
pub fn check(names: &Names<'_>) -> Result<(), Error> {
    Input::new(names).map(drop)
}

/// The part of a name that a weak hit's keys say differed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamePart {
    /// The `surname` field.
    Surname,
    /// The `given` field.
    Given,
    /// One word of a `full_name` (which word is surname or given name is
    /// not known).
    FullName,
}

/// Which part of `names` (as the querier itself wrote them) the one-letter
/// keys in `matched` were made by varying: the surname, the given name, or
/// a word of the full name. `None` when the keys do not say (the letters
/// that differ lie past the part of each name the keys keep, or several
/// parts could explain them). Nothing of the other side's name is needed
/// or learnt: only which of our own keys hit.
pub fn differing_part(names: &Names<'_>, dob: Date, matched: &[&str]) -> Option<NamePart> {
    let input = Input::new(names).ok()?;
    let prefix = format!("{dob}|");
    let mut found: Vec<NamePart> = Vec::new();
    input.each_reading(|parsed| {
        let mut coded: Vec<(String, Field)> = parsed
            .tokens
            .iter()
            .map(|(t, f)| (phonetic::code(&fold_name(t)), *f))
            .collect();
        if coded.len() < 2 {
            return;
        }
        coded.sort_by(|a, b| a.0.cmp(&b.0));
        let codes: Vec<String> = coded.iter().map(|(c, _)| c.clone()).collect();
        let mut base = Vec::new();
        phonetic::fuzzy_keys(&prefix, &codes, &mut base, 1);
        for (j, (_, field)) in coded.iter().enumerate() {
            let mut varied = Vec::new();
            phonetic::fuzzy_keys_varying(&prefix, &codes, j, &mut varied);
            let hit = varied
                .iter()
                .any(|k| !base.contains(k) && matched.contains(&k.as_str()));
            let part = match field {
                Field::Surname => NamePart::Surname,
                Field::Given => NamePart::Given,
                Field::Full | Field::Patronymic => NamePart::FullName,
            };
            if hit && !found.contains(&part) {
                found.push(part);
            }
        }
    });
    match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Which field a name part came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Surname,
    Given,
    Full,
    Patronymic,
}

/// The chosen name parts as symbols.
struct Input {
    /// The field of each part.
    fields: Vec<Field>,
    /// The symbols of all parts.
    syms: Vec<u8>,
    /// Where each part's symbols end.
    ends: Vec<usize>,
}

impl Input {
    fn new(names: &Names<'_>) -> Result<Input, Error> {
        let full_only =
            names.full_name.is_some() && (names.surname.is_none() || names.given.is_none());
        let parts = if full_only {
            [
                (Field::Full, names.full_name),
                (Field::Patronymic, names.patronymic),
                (Field::Surname, None),
            ]
        } else {
            [
                (Field::Surname, names.surname),
                (Field::Given, names.given),
                (Field::Patronymic, names.patronymic),
            ]
        };
        let mut input = Input {
            fields: Vec::with_capacity(3),
            syms: Vec::with_capacity(64),
            ends: Vec::with_capacity(3),
        };
        for (field, text) in parts {
            if let Some(text) = text {
                let start = input.syms.len();
                translit::symbols(text, &mut input.syms);
                input.syms.truncate(start + MAX_PART_SYMBOLS);
                input.fields.push(field);
                input.ends.push(input.syms.len());
            }
        }
        if translit::has_letters(&input.syms) {
            Ok(input)
        } else {
            let given = [
                names.surname,
                names.given,
                names.patronymic,
                names.full_name,
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            Err(Error::Name {
                given,
                reason: "no letters: write the name in Cyrillic or Latin letters",
            })
        }
    }

    /// Calls `f` with each distinct reading of the name, the primary first.
    fn each_reading(&self, mut f: impl FnMut(&Parsed)) {
        let mut seen: Vec<String> = Vec::with_capacity(2);
        let mut raw = String::with_capacity(self.syms.len() + 8);
        for &scheme in translit::schemes(&self.syms) {
            raw.clear();
            let mut start = 0;
            for (i, &end) in self.ends.iter().enumerate() {
                if i > 0 {
                    raw.push('|');
                }
                translit::read(&self.syms[start..end], scheme, &mut raw);
                start = end;
            }
            if !seen.contains(&raw) {
                f(&parse(&raw, &self.fields));
                seen.push(raw.clone());
            }
        }
    }
}

/// One reading of a name, parsed.
#[derive(Debug, Default)]
struct Parsed {
    /// Name tokens, canonical and unfolded, in written order, with their
    /// field.
    tokens: Vec<(String, Field)>,
    /// The father's name, canonical and unfolded.
    patronymic: Option<String>,
}

/// A word of a name part: a name token, or a Turkic patronymic marker.
#[derive(Debug)]
enum Unit {
    Name(String),
    Marker,
}

/// Parses one reading: the canonical parts separated by `|`, in the order
/// of `fields`.
fn parse(raw: &str, fields: &[Field]) -> Parsed {
    let mut parsed = Parsed::default();
    // The patronymic field's, and one found inside a name part; each with
    // whether it was written the Turkic way.
    let mut from_field: Option<(String, bool)> = None;
    let mut in_names: Option<(String, bool)> = None;
    let mut units: Vec<Unit> = Vec::new();
    for (text, &field) in raw.split('|').zip(fields) {
        units.clear();
        split_units(text, &mut units);
        if field == Field::Patronymic {
            from_field = patronymic_of(&units);
            continue;
        }
        let mut names: Vec<String> = Vec::with_capacity(units.len());
        let mut after_name = false;
        for unit in units.drain(..) {
            match unit {
                Unit::Name(s) => {
                    names.push(s);
                    after_name = true;
                }
                Unit::Marker => {
                    if after_name && in_names.is_none() {
                        in_names = names.pop().map(|s| (s, true));
                    }
                    after_name = false;
                }
            }
        }
        if field == Field::Full && in_names.is_none() && names.len() >= 3 {
            // A patronymic is never written first.
            if let Some(k) = (1..names.len()).find(|&k| russian_stem(&names[k]).is_some()) {
                let token = names.remove(k);
                in_names = russian_stem(&token).map(|s| (s.to_owned(), false));
            } else if let Some(k) = (2..names.len()).find(|&k| turkic_stem(&names[k]).is_some()) {
                let token = names.remove(k);
                in_names = turkic_stem(&token).map(|s| (s.to_owned(), true));
            }
        }
        parsed.tokens.extend(names.into_iter().map(|n| (n, field)));
    }
    if parsed.tokens.len() < 2 {
        // `Asan uulu Bakyt`: the Kyrgyz form of `Asanov Bakyt`.
        let turkic = [&in_names, &from_field]
            .into_iter()
            .flatten()
            .find(|(_, turkic)| *turkic);
        if let Some((stem, _)) = turkic {
            let mut surname = stem.clone();
            translit::append_canonical(&mut surname, "ov");
            parsed.tokens.push((surname, Field::Surname));
        }
    }
    parsed.patronymic = from_field.or(in_names).map(|(s, _)| s);
    parsed.tokens.truncate(MAX_TOKENS);
    parsed
}

/// Splits a canonical name part into units: words at spaces, hyphenated
/// pieces joined, markers apart, digits dropped.
fn split_units(text: &str, units: &mut Vec<Unit>) {
    for word in text.split(' ') {
        let mut name = String::new();
        for piece in word.split('-') {
            let cleaned;
            let piece = if piece.bytes().any(|b| b.is_ascii_digit()) {
                let mut c = String::with_capacity(piece.len());
                for seg in piece.split(|c: char| c.is_ascii_digit()) {
                    translit::append_canonical(&mut c, seg);
                }
                cleaned = c;
                cleaned.as_str()
            } else {
                piece
            };
            if piece.is_empty() {
                continue;
            }
            if is_marker(piece) {
                if !name.is_empty() {
                    units.push(Unit::Name(std::mem::take(&mut name)));
                }
                units.push(Unit::Marker);
            } else if name.len() < MAX_TOKEN_LEN {
                translit::append_canonical(&mut name, piece);
            }
        }
        if !name.is_empty() {
            name.truncate(MAX_TOKEN_LEN);
            units.push(Unit::Name(name));
        }
    }
}

/// Turkic patronymic markers, canonical: Kyrgyz уулу/кызы, Kazakh ұлы/қызы,
/// Uzbek oʻgʻli/qizi (ўғли, угли), Azerbaijani and Turkmen oglu/ogly/gyzy.
fn is_marker(piece: &str) -> bool {
    matches!(
        piece,
        "ulu" | "uli" | "kizi" | "gizi" | "ogli" | "oglu" | "ugli"
    )
}

/// The father's name in a Slavic patronymic: Russian `-ович -евич -овна
/// -евна -ична -инична`, Ukrainian `-ович -івна -ївна` (`-ovych -ivna
/// -yivna` in the national transliteration), Belarusian `-авіч -евіч -аўна
/// -еўна` (`-avich -auna -euna`); the ending forms as the grammars of the
/// three languages give them.
fn russian_stem(token: &str) -> Option<&str> {
    const SUFFIXES: [&str; 11] = [
        "inichna", "ovich", "evich", "avich", "ichna", "ovna", "evna", "ivna", "auna", "euna",
        "ich",
    ];
    SUFFIXES
        .iter()
        .find(|s| token.len() >= s.len() + 2 && token.ends_with(*s))
        .map(|s| &token[..token.len() - s.len()])
}

/// The father's name in a glued Kazakh or Uzbek patronymic (`Nurlanuly`).
fn turkic_stem(token: &str) -> Option<&str> {
    const SUFFIXES: [&str; 6] = ["kizi", "ugli", "ogli", "oglu", "uli", "ulu"];
    SUFFIXES
        .iter()
        .find(|s| token.len() >= s.len() + 3 && token.ends_with(*s))
        .map(|s| &token[..token.len() - s.len()])
}

/// The patronymic written in the `patronymic` field.
fn patronymic_of(units: &[Unit]) -> Option<(String, bool)> {
    for pair in units.windows(2) {
        if let [Unit::Name(n), Unit::Marker] = pair {
            return Some((n.clone(), true));
        }
    }
    let mut joined = String::new();
    for unit in units {
        if let Unit::Name(n) = unit {
            translit::append_canonical(&mut joined, n);
        }
    }
    if joined.is_empty() {
        return None;
    }
    if let Some(s) = russian_stem(&joined) {
        return Some((s.to_owned(), false));
    }
    if let Some(s) = turkic_stem(&joined) {
        return Some((s.to_owned(), true));
    }
    Some((joined, false))
}

/// Endings folded after the letter folds, so written in folded letters
/// (`ova` is `ava`, `zoda` is `sada`): (ending, replacement, shortest
/// token it applies to). The first that fits applies.
const ENDINGS: [(&str, &str, usize); 7] = [
    ("skaia", "ski", 7),
    ("sada", "av", 7),
    ("sade", "av", 7),
    ("sad", "av", 6),
    ("ava", "av", 5),
    ("eva", "ev", 5),
    ("ina", "in", 5),
];

/// Folds a canonical name token; see the module documentation.
fn fold_name(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    fold_letters(token.bytes(), &mut out);
    if let Some((ending, tail, _)) = ENDINGS
        .iter()
        .find(|(ending, _, min)| out.len() >= *min && out.ends_with(ending))
    {
        out.truncate(out.len() - ending.len());
        for c in tail.bytes() {
            if out.as_bytes().last() != Some(&c) {
                out.push(char::from(c));
            }
        }
    }
    out
}

/// The letter folds alone, for patronymic stems.
fn fold_patronymic(stem: &str) -> String {
    let mut out = String::with_capacity(stem.len());
    fold_letters(stem.bytes(), &mut out);
    out
}

fn fold_letters(letters: impl Iterator<Item = u8>, out: &mut String) {
    let mut prev = 0u8;
    for c in letters {
        let c = match c {
            b'o' => b'a',
            b'z' => b's',
            _ => c,
        };
        if (c == b'g' && prev == b'n') || c == prev {
            continue;
        }
        out.push(char::from(c));
        prev = c;
    }
}

/// Joins of compound names that may be written as one word elsewhere:
/// each multi-token `surname` or `given` joined whole, and each adjacent
/// pair of a `full_name` of three or more tokens.
fn compound_variants(tokens: &[(String, Field)]) -> Vec<Vec<String>> {
    let mut variants = Vec::new();
    let join = |range: std::ops::Range<usize>| {
        let mut v: Vec<String> = Vec::with_capacity(tokens.len());
        let mut joined = String::new();
        for (i, (t, _)) in tokens.iter().enumerate() {
            if range.contains(&i) {
                translit::append_canonical(&mut joined, t);
                if i + 1 == range.end {
                    v.push(std::mem::take(&mut joined));
                }
            } else {
                v.push(t.clone());
            }
        }
        v
    };
    for field in [Field::Surname, Field::Given, Field::Full] {
        // Tokens of one field are contiguous: parse pushes them part by part.
        let Some(first) = tokens.iter().position(|(_, f)| *f == field) else {
            continue;
        };
        let count = tokens[first..]
            .iter()
            .take_while(|(_, f)| *f == field)
            .count();
        match field {
            Field::Full if count >= 3 => {
                for k in first..first + count - 1 {
                    variants.push(join(k..k + 2));
                }
            }
            Field::Surname | Field::Given if count >= 2 => {
                variants.push(join(first..first + count))
            }
            _ => {}
        }
    }
    variants
}

/// The keys of one person, gathered over its readings.
struct Keys {
    /// `DOB|`.
    prefix: String,
    full: Vec<String>,
    name: Vec<String>,
    /// Name keys of compound joins, used after every reading's own.
    variants: Vec<String>,
    phonetic: Vec<String>,
    /// Each distinct list of sorted codes, in reading order, for fuzzy keys.
    codes: Vec<Vec<String>>,
}

impl Keys {
    fn new(dob: Date) -> Keys {
        Keys {
            prefix: format!("{dob}|"),
            full: Vec::new(),
            name: Vec::new(),
            variants: Vec::new(),
            phonetic: Vec::new(),
            codes: Vec::new(),
        }
    }

    fn key(&self, tokens: &[&str], tail: Option<&str>) -> String {
        let len =
            tokens.iter().map(|t| t.len() + 1).sum::<usize>() + tail.map_or(0, |t| t.len() + 1);
        let mut key = String::with_capacity(self.prefix.len() + len);
        key.push_str(&self.prefix);
        for (i, t) in tokens.iter().enumerate() {
            if i > 0 {
                key.push(' ');
            }
            key.push_str(t);
        }
        if let Some(tail) = tail {
            key.push('|');
            key.push_str(tail);
        }
        key
    }

    fn add(&mut self, parsed: &Parsed) {
        let folded: Vec<String> = parsed.tokens.iter().map(|(t, _)| fold_name(t)).collect();
        if folded.len() >= 2 {
            let mut sorted: Vec<&str> = folded.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            if let Some(p) = &parsed.patronymic {
                let full = self.key(&sorted, Some(&fold_patronymic(p)));
                push_new(&mut self.full, full, MAX_FULL_KEYS);
            }
            let name = self.key(&sorted, None);
            push_new(&mut self.name, name, MAX_NAME_KEYS);

            let mut codes: Vec<String> = folded.iter().map(|t| phonetic::code(t)).collect();
            codes.sort_unstable();
            let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
            let phonetic = self.key(&refs, None);
            push_new(&mut self.phonetic, phonetic, MAX_PHONETIC_KEYS);
            if !self.codes.contains(&codes) {
                self.codes.push(codes);
            }
        }
        for variant in compound_variants(&parsed.tokens) {
            let folded: Vec<String> = variant.iter().map(|t| fold_name(t)).collect();
            if folded.len() >= 2 {
                let mut sorted: Vec<&str> = folded.iter().map(String::as_str).collect();
                sorted.sort_unstable();
                let key = self.key(&sorted, None);
                push_new(&mut self.variants, key, MAX_NAME_KEYS);
            }
        }
    }

    /// Appends the keys, strongest kind first.
    fn push_into(mut self, out: &mut Vec<Selector>) {
        for v in std::mem::take(&mut self.variants) {
            push_new(&mut self.name, v, MAX_NAME_KEYS);
        }
        let mut fuzzy = Vec::new();
        for codes in &self.codes {
            phonetic::fuzzy_keys(&self.prefix, codes, &mut fuzzy, phonetic::MAX_FUZZY_KEYS);
        }
        out.reserve(self.full.len() + self.name.len() + self.phonetic.len() + fuzzy.len());
        let kinds = [
            (SelectorKind::PersonFull, self.full),
            (SelectorKind::PersonName, self.name),
            (SelectorKind::PersonPhonetic, self.phonetic),
            (SelectorKind::PersonFuzzy, fuzzy),
        ];
        for (kind, values) in kinds {
            out.extend(values.into_iter().map(|v| Selector::new(kind, v)));
        }
    }
}

fn push_new(values: &mut Vec<String>, value: String, cap: usize) {
    if values.len() < cap && !values.contains(&value) {
        values.push(value);
    }
}

#[cfg(test)]
mod tests;
