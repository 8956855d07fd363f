//! Organisation names: folded to canonical Latin readings with the legal
//! form removed, so `ОсОО «Ак-Жол Транс»`, `Ak-Zhol Trans LLC` and
//! `AK ZHOL TRANS, OsOO` give the same selector.
//!
//! Legal forms are listed as agencies write them (Russian, Kyrgyz, Kazakh,
//! Tajik, Uzbek, English, German, French abbreviations and spelled-out
//! forms); they are read through [`translit::readings`] once, so they are
//! recognised in whatever script or transliteration the name uses.

use std::sync::OnceLock;

use super::{translit, Error};

/// Legal forms of the region and of common foreign partners, as written.
const LEGAL_FORMS: &[&str] = &[
    // Russian (used across the region).
    "ООО",
    "ОАО",
    "ЗАО",
    "ПАО",
    "АО",
    "ИП",
    "ЧП",
    "ТОО",
    "ОДО",
    "НКО",
    "ГУП",
    "МУП",
    "общество с ограниченной ответственностью",
    "открытое акционерное общество",
    "закрытое акционерное общество",
    "акционерное общество",
    "индивидуальный предприниматель",
    "товарищество с ограниченной ответственностью",
    // Kyrgyz.
    "ОсОО",
    "ЖЧК",
    "жоопкерчилиги чектелген коом",
    "ААК",
    // Kazakh.
    "ЖШС",
    "АҚ",
    "жауапкершілігі шектеулі серіктестік",
    // Tajik.
    "ҶДММ",
    "ҶСП",
    "ҶСК",
    "ҷамъияти дорои масъулияти маҳдуд",
    // Uzbek.
    "МЧЖ",
    "MChJ",
    "XK",
    "QK",
    "AJ",
    "mas'uliyati cheklangan jamiyat",
    "масъулияти чекланган жамият",
    // English, German, French and others met in trade records.
    "LLC",
    "L.L.C.",
    "LLP",
    "Ltd",
    "Limited",
    "Inc",
    "Incorporated",
    "Corp",
    "Corporation",
    "Co",
    "Company",
    "JSC",
    "OJSC",
    "CJSC",
    "PJSC",
    "PLC",
    "GmbH",
    "AG",
    "SA",
    "SARL",
    "SAS",
    "BV",
    "FZE",
    "FZCO",
    "limited liability company",
    "joint stock company",
    "limited liability partnership",
];

/// Legal forms as token sequences of every reading, longest first.
fn legal_forms() -> &'static [Vec<String>] {
    static FORMS: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    FORMS.get_or_init(|| {
        let mut forms: Vec<Vec<String>> = LEGAL_FORMS
            .iter()
            .flat_map(|f| translit::readings(f))
            .map(|r| r.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .filter(|t| !t.is_empty() && !t[0].is_empty())
            .collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        forms
    })
}

/// Removes legal forms from the start and end of `tokens` (where agencies
/// write them), repeatedly, so `OsOO Ak Zhol LLC` loses both. A legal-form
/// word inside the name (`Co` in `Trans Co Logistics`) is kept.
fn strip_legal_forms<'a>(mut tokens: &'a [&'a str]) -> &'a [&'a str] {
    let forms = legal_forms();
    let is = |part: &[&str], form: &Vec<String>| part.iter().zip(form).all(|(a, b)| *a == b);
    loop {
        let before = tokens.len();
        if let Some(f) = forms
            .iter()
            .find(|f| f.len() <= tokens.len() && is(&tokens[..f.len()], f))
        {
            tokens = &tokens[f.len()..];
        }
        if let Some(f) = forms
            .iter()
            .find(|f| f.len() <= tokens.len() && is(&tokens[tokens.len() - f.len()..], f))
        {
            tokens = &tokens[..tokens.len() - f.len()];
        }
        if tokens.len() == before {
            return tokens;
        }
    }
}

/// The canonical readings of an organisation's name, legal form removed.
pub fn names(raw: &str) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    let mut only_form = false;
    for reading in translit::readings(raw) {
        let tokens: Vec<&str> = reading.split(' ').filter(|t| !t.is_empty()).collect();
        let kept = strip_legal_forms(&tokens);
        if kept.is_empty() {
            only_form |= !tokens.is_empty();
            continue;
        }
        let name = kept.join(" ");
        if !out.contains(&name) {
            out.push(name);
        }
    }
    if out.is_empty() {
        return Err(Error::Name {
            given: raw.to_owned(),
            reason: if only_form {
                "it is only a legal form: write the organisation's own name too"
            } else {
                "it has no letters or digits"
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares_a_name(a: &str, b: &str) -> bool {
        let (a, b) = (names(a).unwrap(), names(b).unwrap());
        a.iter().any(|x| b.contains(x))
    }

    #[test]
    fn legal_forms_fold_across_scripts() {
        let forms = [
            "ОсОО «Ак-Жол Транс»",
            "Ak-Zhol Trans LLC",
            "AK ZHOL TRANS, OsOO",
            "ООО \"Ак Жол Транс\"",
            "Общество с ограниченной ответственностью «Ак-Жол Транс»",
            "Ak Zhol Trans Limited Liability Company",
            "ЖЧК Ак-Жол Транс",
        ];
        for a in forms {
            for b in forms {
                assert!(
                    shares_a_name(a, b),
                    "{a} / {b}: {:?} {:?}",
                    names(a),
                    names(b)
                );
            }
        }
        assert!(shares_a_name(
            "ТОО «Шымкент Логистик»",
            "Shymkent Logistik LLP"
        ));
        assert!(shares_a_name("ҶДММ Роҳи Абрешим", "Rohi Abreshim LLC"));
    }

    #[test]
    fn different_names_stay_apart() {
        assert!(!shares_a_name("ОсОО Ак-Жол Транс", "ОсОО Кара-Жол Транс"));
        assert!(!shares_a_name("Silk Road Ltd", "Silk Way Ltd"));
    }

    #[test]
    fn only_a_legal_form_is_refused() {
        assert!(
            matches!(names("ООО"), Err(Error::Name { reason, .. }) if reason.contains("only a legal form"))
        );
        assert!(matches!(names("«»"), Err(Error::Name { .. })));
    }
}
