//! The console's languages: message catalogues in Project Fluent syntax
//! (`node/src/daemon/console/web/i18n/*.ftl`, embedded in the binary), the language a
//! request gets (its cookie, else its browser's `Accept-Language`, else
//! English), and dates and numbers written as each language writes them.
//!
//! A message missing from a catalogue renders as `??key??`, which the
//! unit tests and the browser tests look for: both catalogues must hold
//! every key the templates use.

use std::borrow::Cow;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// Every language, the default first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    /// Its BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// The language of a tag (`ru`, `ru-RU`, `en-GB`...), if spoken here.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("web/i18n/en.ftl"),
            Lang::Ru => include_str!("web/i18n/ru.ftl"),
        }
    }
}

/// The language for a request: the cookie's choice, else the first of the
/// browser's `Accept-Language` (by quality) spoken here, else English.
pub fn negotiate(chosen: Option<&str>, accept: Option<&str>) -> Lang {
    if let Some(l) = chosen.and_then(Lang::parse) {
        return l;
    }
    let mut offered: Vec<(f32, usize, Lang)> = accept
        .unwrap_or("")
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut bits = part.split(';');
            let lang = Lang::parse(bits.next()?)?;
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, i, lang))
        })
        .collect();
    offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    offered.first().map_or(Lang::En, |o| o.2)
}

/// Why a catalogue could not be loaded (a build with a broken catalogue:
/// the unit tests catch it first).
#[derive(Debug, thiserror::Error)]
#[error("console message catalogue {lang}.ftl: {detail}")]
pub struct CatalogueError {
    lang: &'static str,
    detail: String,
}

/// Both catalogues, parsed once.
pub struct Catalogues {
    en: FluentBundle<FluentResource>,
    ru: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Catalogues(en, ru)")
    }
}

fn bundle(lang: Lang) -> Result<FluentBundle<FluentResource>, CatalogueError> {
    let fail = |detail: String| CatalogueError {
        lang: lang.tag(),
        detail,
    };
    let resource = FluentResource::try_new(lang.source().to_owned())
        .map_err(|(_, errors)| fail(format!("{errors:?}")))?;
    let id: unic_langid::LanguageIdentifier =
        lang.tag().parse().map_err(|e| fail(format!("{e}")))?;
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: they would show up in
    // copied text and in tests, and our arguments are never right-to-left.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .map_err(|errors| fail(format!("{errors:?}")))?;
    Ok(bundle)
}

impl Catalogues {
    /// Parses both catalogues.
    pub fn load() -> Result<Catalogues, CatalogueError> {
        Ok(Catalogues {
            en: bundle(Lang::En)?,
            ru: bundle(Lang::Ru)?,
        })
    }

    fn of(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::En => &self.en,
            Lang::Ru => &self.ru,
        }
    }

    /// Whether `lang`'s catalogue has `key`.
    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.of(lang).has_message(key)
    }

    /// Message `key` in `lang` with `args`; `??key??` if there is none.
    pub fn text(&self, lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundle = self.of(lang);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            return format!("??{key}??");
        };
        let mut errors = Vec::new();
        let text: Cow<'_, str> = bundle.format_pattern(pattern, args, &mut errors);
        if errors.is_empty() {
            text.into_owned()
        } else {
            format!("??{key}??")
        }
    }
}

/// Largest integer a message's number keeps exactly (Fluent's numbers are
/// `f64`); larger ones, such as ids, are passed as text.
const EXACT: u64 = 1 << 53;

/// An argument for a message: numbers stay numbers (for plural forms),
/// except integers too large for a double (ids), which stay exact as text.
pub fn arg(value: &serde_json::Value) -> FluentValue<'static> {
    match value {
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) if u > EXACT => FluentValue::from(u.to_string()),
            (_, Some(i), _) if i.unsigned_abs() > EXACT => FluentValue::from(i.to_string()),
            (_, _, Some(f)) => FluentValue::from(f),
            _ => FluentValue::from(n.to_string()),
        },
        serde_json::Value::String(s) => FluentValue::from(s.clone()),
        serde_json::Value::Bool(b) => FluentValue::from(b.to_string()),
        serde_json::Value::Null => FluentValue::from(""),
        other => FluentValue::from(other.to_string()),
    }
}

/// An integer as `lang` writes it: `1,234,567` or `1 234 567` (no-break
/// spaces, as CLDR has Russian).
pub fn number(lang: Lang, n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let sep = match lang {
        Lang::En => ',',
        Lang::Ru => '\u{a0}',
    };
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_RU: [&str; 12] = [
    "янв.",
    "февр.",
    "мар.",
    "апр.",
    "мая",
    "июн.",
    "июл.",
    "авг.",
    "сент.",
    "окт.",
    "нояб.",
    "дек.",
];

/// A Unix time in ms as `lang` writes a date and time, in UTC (the node's
/// clock; the console says so): `3 Dec 2026, 14:25 UTC`, `3 дек. 2026 г.,
/// 14:25 UTC`.
pub fn datetime(lang: Lang, ms: u64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return ms.to_string();
    };
    let month = usize::from(u8::from(t.month())) - 1;
    match lang {
        Lang::En => format!(
            "{} {} {}, {:02}:{:02} UTC",
            t.day(),
            MONTHS_EN[month],
            t.year(),
            t.hour(),
            t.minute()
        ),
        Lang::Ru => format!(
            "{} {} {} г., {:02}:{:02} UTC",
            t.day(),
            MONTHS_RU[month],
            t.year(),
            t.hour(),
            t.minute()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_the_cookies_else_the_browsers_best_else_english() {
        assert_eq!(negotiate(Some("ru"), Some("en-GB")), Lang::Ru);
        assert_eq!(
            negotiate(Some("xx"), Some("ru-RU,ru;q=0.9,en;q=0.8")),
            Lang::Ru
        );
        assert_eq!(negotiate(None, Some("kk-KZ, en;q=0.5, ru;q=0.7")), Lang::Ru);
        assert_eq!(negotiate(None, Some("ru;q=0, en")), Lang::En);
        assert_eq!(negotiate(None, Some("de, fr")), Lang::En);
        assert_eq!(negotiate(None, None), Lang::En);
    }

    #[test]
    fn numbers_and_dates_are_written_as_each_language_writes_them() {
        assert_eq!(number(Lang::En, 1_234_567), "1,234,567");
        assert_eq!(number(Lang::Ru, 1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(number(Lang::En, -12), "-12");
        assert_eq!(number(Lang::En, 123), "123");
        // 2026-12-03 14:25:00 UTC
        let ms = 1_796_307_900_000;
        assert_eq!(datetime(Lang::En, ms), "3 Dec 2026, 14:25 UTC");
        assert_eq!(datetime(Lang::Ru, ms), "3 дек. 2026 г., 14:25 UTC");
    }

    #[test]
    fn large_ids_reach_a_message_exactly_and_counts_choose_plural_forms() {
        let c = Catalogues::load().expect("catalogues");
        let mut args = FluentArgs::new();
        args.set("id", arg(&serde_json::json!(117_722_932_794_425_343u64)));
        assert_eq!(
            c.text(Lang::En, "match-result", Some(&args)),
            "Match 117722932794425343"
        );
        let count = |lang, n: u64| {
            let mut args = FluentArgs::new();
            args.set("count", arg(&serde_json::json!(n)));
            c.text(lang, "overview-entries", Some(&args))
        };
        assert_eq!(count(Lang::En, 1), "1 entry");
        assert_eq!(count(Lang::En, 5), "5 entries");
        assert_eq!(count(Lang::Ru, 1), "1 запись");
        assert_eq!(count(Lang::Ru, 3), "3 записи");
        assert_eq!(count(Lang::Ru, 11), "11 записей");
        assert_eq!(count(Lang::Ru, 21), "21 запись");
    }

    #[test]
    fn both_catalogues_parse_and_hold_the_same_keys() {
        let c = Catalogues::load().expect("catalogues");
        let keys = |lang: Lang| -> std::collections::BTreeSet<String> {
            lang.source()
                .lines()
                .filter_map(|l| {
                    let (k, _) = l.split_once(" =")?;
                    (!k.starts_with([' ', '#', '.', '*', '[']) && !k.is_empty())
                        .then(|| k.to_owned())
                })
                .collect()
        };
        let (en, ru) = (keys(Lang::En), keys(Lang::Ru));
        assert!(en.len() > 50, "the English catalogue has {} keys", en.len());
        let only_en: Vec<_> = en.difference(&ru).collect();
        let only_ru: Vec<_> = ru.difference(&en).collect();
        assert!(only_en.is_empty(), "missing in ru.ftl: {only_en:?}");
        assert!(only_ru.is_empty(), "missing in en.ftl: {only_ru:?}");
        for k in &en {
            for lang in Lang::ALL {
                assert!(c.has(lang, k), "{k} does not parse in {}", lang.tag());
            }
        }
        assert_eq!(c.text(Lang::En, "no-such-key", None), "??no-such-key??");
    }
}
