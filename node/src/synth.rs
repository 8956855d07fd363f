//! Synthetic records in the region's spellings, for load tests, the
//! ingest benchmark and the multi-node tests.
//!
//! Each record holds a person (a Kyrgyz, Tajik, Kazakh, Uzbek or Russian
//! name, in Cyrillic or in a Latin transliteration, with a date of birth in
//! either accepted layout), a phone in one of the national or international
//! forms of its country, and a passport; one in four also holds a vehicle.
//! The output is deterministic for a seed.

use liaison_protocol::record::{Document, Entity, Extra, Link, Person, Phone, Record, Vehicle};
use liaison_protocol::Country;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

const SURNAMES: &[&str] = &[
    "Курбонов",
    "Асанов",
    "Токтогулов",
    "Жумабеков",
    "Сатыбалдиев",
    "Рахимов",
    "Саидов",
    "Назаров",
    "Шарипов",
    "Абдуллаев",
    "Нурланов",
    "Сейткали",
    "Ахметов",
    "Есенов",
    "Каримов",
    "Юсупов",
    "Турсунов",
    "Исмоилов",
    "Иванов",
    "Петров",
    "Хабибуллаев",
    "Жураев",
    "Эргашев",
    "Мамбетов",
    "Бакиев",
    "Осмонов",
    "Давлатов",
    "Хасанов",
    "Шукуров",
    "Алиев",
];
const GIVEN: &[&str] = &[
    "Юсуф",
    "Бакыт",
    "Нурлан",
    "Айбек",
    "Азамат",
    "Фаррух",
    "Шерзод",
    "Дилшод",
    "Рустам",
    "Улугбек",
    "Ерлан",
    "Асель",
    "Айгерим",
    "Гульнара",
    "Мадина",
    "Зарина",
    "Тимур",
    "Алишер",
    "Бахтиёр",
    "Жамшид",
    "Евгений",
    "Сергей",
    "Камол",
    "Икром",
    "Хуршед",
    "Эркин",
    "Нодир",
    "Санжар",
    "Жанна",
    "Ильхом",
];

/// A simple ICAO 9303 transliteration, enough to give the generator's Latin
/// spellings; the normaliser's own tables live in `liaison_protocol`.
fn icao(cyrillic: &str) -> String {
    let mut out = String::with_capacity(cyrillic.len());
    for c in cyrillic.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let t = match lower {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'э' | 'ё' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' | 'й' => "i",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' => "ie",
            'ы' => "y",
            'ь' => "",
            'ю' => "iu",
            'я' => "ia",
            _ => {
                out.push(lower);
                continue;
            }
        };
        out.push_str(t);
    }
    out.to_uppercase()
}

struct Country3 {
    code: &'static str,
    /// Writes a random local mobile number in one of the country's forms.
    phone: fn(&mut ChaCha8Rng) -> String,
    passport: fn(&mut ChaCha8Rng) -> String,
    plate: fn(&mut ChaCha8Rng) -> String,
}

fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn letters(rng: &mut ChaCha8Rng, n: usize) -> String {
    const PLATE_LETTERS: &[u8] = b"ABCEHKMOPTXY";
    (0..n)
        .map(|_| char::from(PLATE_LETTERS[rng.gen_range(0..PLATE_LETTERS.len())]))
        .collect()
}

const COUNTRIES: &[Country3] = &[
    Country3 {
        code: "KGZ",
        phone: |r| {
            let n = format!("7{}{}", r.gen_range(0..10u8), digits(r, 7));
            match r.gen_range(0..3) {
                0 => format!("0{} {} {}", &n[..3], &n[3..6], &n[6..]),
                1 => format!("+996 {} {} {}", &n[..3], &n[3..6], &n[6..]),
                _ => format!("00996{n}"),
            }
        },
        passport: |r| {
            format!(
                "A{} {}",
                if r.gen_bool(0.5) { 'N' } else { 'C' },
                digits(r, 7)
            )
        },
        plate: |r| format!("0{} {} {}", r.gen_range(1..9), digits(r, 3), letters(r, 3)),
    },
    Country3 {
        code: "TJK",
        phone: |r| {
            let n = format!("9{}{}", r.gen_range(0..10u8), digits(r, 7));
            match r.gen_range(0..2) {
                0 => format!("{} {} {}", &n[..2], &n[2..5], &n[5..]),
                _ => format!("+992 {} {} {}", &n[..2], &n[2..5], &n[5..]),
            }
        },
        passport: |r| format!("4{}", digits(r, 8)),
        plate: |r| format!("{} {} 0{}", digits(r, 4), letters(r, 2), r.gen_range(1..9)),
    },
    Country3 {
        code: "KAZ",
        phone: |r| {
            let n = format!("70{}{}", r.gen_range(0..9u8), digits(r, 7));
            match r.gen_range(0..3) {
                0 => format!("8 {} {} {} {}", &n[..3], &n[3..6], &n[6..8], &n[8..]),
                1 => format!("+7 ({}) {}-{}-{}", &n[..3], &n[3..6], &n[6..8], &n[8..]),
                _ => format!("+7{n}"),
            }
        },
        passport: |r| format!("N{}", digits(r, 8)),
        plate: |r| format!("{} {} 0{}", digits(r, 3), letters(r, 3), r.gen_range(1..9)),
    },
    Country3 {
        code: "UZB",
        phone: |r| {
            let n = format!("9{}{}", r.gen_range(0..10u8), digits(r, 7));
            match r.gen_range(0..2) {
                0 => format!("{} {} {} {}", &n[..2], &n[2..5], &n[5..7], &n[7..]),
                _ => format!("+998 {} {} {} {}", &n[..2], &n[2..5], &n[5..7], &n[7..]),
            }
        },
        passport: |r| format!("{}{}", letters(r, 2), digits(r, 7)),
        plate: |r| {
            format!(
                "0{} {} {} {}",
                r.gen_range(1..9),
                letters(r, 1),
                digits(r, 3),
                letters(r, 2)
            )
        },
    },
];

/// A deterministic source of synthetic records.
#[derive(Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
}

impl Generator {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The `n`th record: id `SYN-n`.
    pub fn record(&mut self, n: u64) -> Record {
        let r = &mut self.rng;
        let c = &COUNTRIES[r.gen_range(0..COUNTRIES.len())];
        let (surname, given) = (
            SURNAMES[r.gen_range(0..SURNAMES.len())],
            GIVEN[r.gen_range(0..GIVEN.len())],
        );
        let (surname, given) = if r.gen_bool(0.5) {
            (surname.to_owned(), given.to_owned())
        } else {
            (icao(surname), icao(given))
        };
        let (y, m, d) = (
            r.gen_range(1950..2005),
            r.gen_range(1..13),
            r.gen_range(1..29),
        );
        let dob = if r.gen_bool(0.5) {
            format!("{y}-{m:02}-{d:02}")
        } else {
            format!("{d:02}.{m:02}.{y}")
        };
        let mut entities = vec![
            Entity::Person(Person {
                reference: Some("p".into()),
                surname: Some(surname),
                given: Some(given),
                dob: Some(dob),
                ..Person::default()
            }),
            Entity::Phone(Phone {
                reference: Some("t".into()),
                number: (c.phone)(r),
                extra: Extra::new(),
            }),
            Entity::Document(Document {
                reference: Some("d".into()),
                doc_type: Some("passport".into()),
                country: Some(c.code.into()),
                number: (c.passport)(r),
                extra: Extra::new(),
            }),
        ];
        let mut links = vec![
            Link {
                from: "p".into(),
                to: "t".into(),
                rel: "uses".into(),
                extra: Extra::new(),
            },
            Link {
                from: "p".into(),
                to: "d".into(),
                rel: "holds".into(),
                extra: Extra::new(),
            },
        ];
        if r.gen_range(0..4) == 0 {
            entities.push(Entity::Vehicle(Vehicle {
                reference: Some("v".into()),
                plate: Some((c.plate)(r)),
                country: Some(c.code.into()),
                ..Vehicle::default()
            }));
            links.push(Link {
                from: "p".into(),
                to: "v".into(),
                rel: "uses".into(),
                extra: Extra::new(),
            });
        }
        Record {
            summary: Some(format!("Synthetic record {n}")),
            grading: Some("C3".parse().expect("C3 is a valid grading")),
            country: Some(
                c.code
                    .parse::<Country>()
                    .expect("the generator's countries are ISO codes"),
            ),
            entities,
            links,
            ..Record::new(format!("SYN-{n}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_record_normalises_and_is_deterministic() {
        let mut a = Generator::new(7);
        let mut b = Generator::new(7);
        for n in 0..2000 {
            let r = a.record(n);
            assert_eq!(r, b.record(n));
            let selectors =
                crate::ingest::prepare(&r, None).unwrap_or_else(|e| panic!("{e}: {r:?}"));
            assert!(selectors.len() >= 3, "{selectors:?}");
        }
    }
}
