//! Precision and recall of the normaliser on the cases `bench/quality/gen.py`
//! writes (see bench/quality/README.md; `make bench-quality` runs both).
//!
//! ```text
//! cargo run --release -p liaison-protocol --example quality -- CASES.jsonl [--failures N]
//! ```
//!
//! Each case is two entities, `a` and `b`, as two agencies wrote them, and a
//! label: `same`, or a hard negative (`sibling`, `namesake`, `one_letter`,
//! `dob_off`, `one_digit`). Both sides are normalised with
//! [`entity_selectors`] under their record's country; they hit at a kind
//! when they share a selector of that kind. Prints one Markdown table per
//! family to stdout; with `--failures N`, up to N missed positives and N
//! strong false hits per source to stderr (for namesakes, PersonFull hits
//! only: PersonName leaves the patronymic out by design).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

use liaison_protocol::normalize::{entity_selectors, Context};
use liaison_protocol::record::Entity;
use liaison_protocol::{Country, Selector, SelectorKind};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Case {
    family: String,
    source: String,
    #[serde(default)]
    variant: String,
    label: String,
    a: Side,
    b: Side,
}

#[derive(Deserialize)]
struct Side {
    #[serde(default)]
    country: Option<String>,
    entity: Value,
}

/// One side, normalised.
struct Read {
    entity: Value,
    country: Option<String>,
    /// The selectors, or why there are none.
    selectors: Result<BTreeSet<Selector>, String>,
}

/// Which strengths two sides hit at.
#[derive(Clone, Copy, Default)]
struct Hit {
    /// PersonFull.
    full: bool,
    /// PersonFull, PersonName, or a non-person kind.
    strong: bool,
    /// PersonPhonetic.
    phonetic: bool,
    /// PersonFuzzy.
    weak: bool,
}

impl Hit {
    fn of(a: &BTreeSet<Selector>, b: &BTreeSet<Selector>) -> Hit {
        let mut hit = Hit::default();
        for s in a.intersection(b) {
            match s.kind {
                SelectorKind::PersonFull => {
                    hit.full = true;
                    hit.strong = true;
                }
                SelectorKind::PersonPhonetic => hit.phonetic = true,
                SelectorKind::PersonFuzzy => hit.weak = true,
                _ => hit.strong = true,
            }
        }
        hit
    }

    fn strong_or_phonetic(self) -> bool {
        self.strong || self.phonetic
    }

    fn any(self) -> bool {
        self.strong || self.phonetic || self.weak
    }
}

/// Pairs of one label, and how many hit at each strength (cumulative:
/// `phonetic` counts pairs that hit strong or phonetic, `any` at any).
#[derive(Clone, Copy, Default)]
struct Counts {
    pairs: usize,
    full: usize,
    strong: usize,
    phonetic: usize,
    any: usize,
    /// Pairs with a side that could not be normalised.
    unread: usize,
}

impl Counts {
    fn add(&mut self, hit: Hit, unread: bool) {
        self.pairs += 1;
        self.full += usize::from(hit.full);
        self.strong += usize::from(hit.strong);
        self.phonetic += usize::from(hit.strong_or_phonetic());
        self.any += usize::from(hit.any());
        self.unread += usize::from(unread);
    }

    fn merge(&mut self, o: &Counts) {
        self.pairs += o.pairs;
        self.full += o.full;
        self.strong += o.strong;
        self.phonetic += o.phonetic;
        self.any += o.any;
        self.unread += o.unread;
    }
}

/// Counts by label.
#[derive(Default)]
struct Tally(BTreeMap<String, Counts>);

impl Tally {
    fn add(&mut self, label: &str, hit: Hit, unread: bool) {
        self.0.entry(label.to_owned()).or_default().add(hit, unread);
    }

    fn merge(&mut self, o: &Tally) {
        for (label, c) in &o.0 {
            self.0.entry(label.clone()).or_default().merge(c);
        }
    }

    fn get(&self, label: &str) -> Counts {
        self.0.get(label).copied().unwrap_or_default()
    }
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "–".to_owned()
    } else {
        format!("{:.1}", 100.0 * n as f64 / of as f64)
    }
}

/// The negative labels in the order they are reported.
const NEGATIVES: [&str; 5] = ["sibling", "namesake", "one_letter", "dob_off", "one_digit"];

/// One Markdown table: a row per key of `rows`, and a totals row.
fn table(family: &str, by: &str, rows: &BTreeMap<String, Tally>) -> String {
    let mut total = Tally::default();
    for t in rows.values() {
        total.merge(t);
    }
    let negatives: Vec<&str> = NEGATIVES
        .into_iter()
        .filter(|l| total.get(l).pairs > 0)
        .collect();
    let person = family == "person";
    let mut out = String::new();
    let mut head = format!("| {by} | same |");
    let mut rule = String::from("|---|--:|");
    if person {
        head.push_str(" R full | R strong | R +phon | R any | unread |");
        rule.push_str("--:|--:|--:|--:|--:|");
    } else {
        head.push_str(" recall | unread |");
        rule.push_str("--:|--:|");
    }
    for l in &negatives {
        if person {
            let _ = write!(head, " {l} (n) | FH f/s/p/w |");
            rule.push_str("--:|:-:|");
        } else {
            let _ = write!(head, " {l} (n) | FH |");
            rule.push_str("--:|--:|");
        }
    }
    let _ = writeln!(out, "{head}\n{rule}");
    let row = |name: &str, t: &Tally, out: &mut String| {
        let s = t.get("same");
        let mut line = format!("| {name} | {} |", s.pairs);
        if person {
            let _ = write!(
                line,
                " {} | {} | {} | {} | {} |",
                pct(s.full, s.pairs),
                pct(s.strong, s.pairs),
                pct(s.phonetic, s.pairs),
                pct(s.any, s.pairs),
                s.unread
            );
        } else {
            let _ = write!(line, " {} | {} |", pct(s.strong, s.pairs), s.unread);
        }
        for l in &negatives {
            let c = t.get(l);
            if c.pairs == 0 {
                line.push_str(" | |");
            } else if person {
                let _ = write!(
                    line,
                    " {} | {}/{}/{}/{} |",
                    c.pairs,
                    pct(c.full, c.pairs),
                    pct(c.strong, c.pairs),
                    pct(c.phonetic, c.pairs),
                    pct(c.any, c.pairs)
                );
            } else {
                let _ = write!(line, " {} | {} |", c.pairs, pct(c.strong, c.pairs));
            }
        }
        let _ = writeln!(out, "{line}");
    };
    for (name, t) in rows {
        row(&format!("`{name}`"), t, &mut out);
    }
    row("**all**", &total, &mut out);
    out
}

fn read_side(side: Side, line: usize) -> Result<Read, String> {
    let entity: Entity = serde_json::from_value(side.entity.clone())
        .map_err(|e| format!("line {line}: not an entity: {e}"))?;
    let country = side
        .country
        .as_deref()
        .map(str::parse::<Country>)
        .transpose()
        .map_err(|e| format!("line {line}: {e}"))?;
    let mut out = Vec::new();
    let selectors = entity_selectors(&entity, &Context { country }, &mut out)
        .map(|()| out.into_iter().collect())
        .map_err(|e| e.to_string());
    Ok(Read {
        entity: side.entity,
        country: side.country,
        selectors,
    })
}

fn show(r: &Read) -> String {
    let mut s = format!(
        "    {} (country {})\n",
        r.entity,
        r.country.as_deref().unwrap_or("-")
    );
    match &r.selectors {
        Err(e) => {
            let _ = writeln!(s, "      unread: {e}");
        }
        Ok(sel) => {
            let fuzzy = sel
                .iter()
                .filter(|x| x.kind == SelectorKind::PersonFuzzy)
                .count();
            for x in sel.iter().filter(|x| x.kind != SelectorKind::PersonFuzzy) {
                let _ = writeln!(s, "      {x}");
            }
            if fuzzy > 0 {
                let _ = writeln!(s, "      ({fuzzy} person_fuzzy)");
            }
            if sel.is_empty() {
                let _ = writeln!(s, "      (no selectors)");
            }
        }
    }
    s
}

/// Failures kept for one source.
#[derive(Default)]
struct Failures {
    missed: Vec<String>,
    false_hits: Vec<String>,
}

fn run(path: &str, failures: usize) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    // family -> source -> tally, and family -> variant -> tally.
    let mut by_source: BTreeMap<String, BTreeMap<String, Tally>> = BTreeMap::new();
    let mut by_variant: BTreeMap<String, BTreeMap<String, Tally>> = BTreeMap::new();
    let mut kept: BTreeMap<(String, String), Failures> = BTreeMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{path}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let case: Case =
            serde_json::from_str(&line).map_err(|e| format!("{path} line {n}: {e}"))?;
        let a = read_side(case.a, n)?;
        let b = read_side(case.b, n)?;
        let empty = BTreeSet::new();
        let sa = a.selectors.as_ref().unwrap_or(&empty);
        let sb = b.selectors.as_ref().unwrap_or(&empty);
        let hit = Hit::of(sa, sb);
        let unread = a.selectors.is_err() || b.selectors.is_err();
        by_source
            .entry(case.family.clone())
            .or_default()
            .entry(case.source.clone())
            .or_default()
            .add(&case.label, hit, unread);
        by_variant
            .entry(case.family.clone())
            .or_default()
            .entry(case.variant.clone())
            .or_default()
            .add(&case.label, hit, unread);
        if failures > 0 {
            let f = kept.entry((case.family, case.source.clone())).or_default();
            let positive = case.label == "same";
            // A namesake meets the PersonName key by design (it leaves the
            // patronymic out): only a PersonFull hit is a failure there.
            let false_hit = if case.label == "namesake" {
                hit.full
            } else {
                hit.strong
            };
            let list = if positive && !hit.strong {
                &mut f.missed
            } else if !positive && false_hit {
                &mut f.false_hits
            } else {
                continue;
            };
            if list.len() < failures {
                let also = if hit.phonetic {
                    " (hits phonetic)"
                } else if hit.weak {
                    " (hits weak only)"
                } else {
                    ""
                };
                list.push(format!(
                    "  [{}] {}{also}, line {n}\n{}{}",
                    case.label,
                    case.variant,
                    show(&a),
                    show(&b)
                ));
            }
        }
    }
    let titles = [
        ("person", "Persons"),
        ("phone", "Phones"),
        ("document", "Documents"),
    ];
    for (family, title) in titles {
        let Some(rows) = by_source.get(family) else {
            continue;
        };
        println!("### {title}, by source\n");
        println!("{}", table(family, "source", rows));
        if let Some(rows) = by_variant.get(family) {
            let by = if family == "person" {
                "layout / form"
            } else {
                "country"
            };
            println!("### {title}, by {by}\n");
            println!("{}", table(family, by, rows));
        }
    }
    for ((family, source), f) in &kept {
        if f.missed.is_empty() && f.false_hits.is_empty() {
            continue;
        }
        eprintln!("=== {family} {source}");
        if !f.missed.is_empty() {
            eprintln!(" missed (no strong hit):");
            for m in &f.missed {
                eprint!("{m}");
            }
        }
        if !f.false_hits.is_empty() {
            eprintln!(" strong false hits:");
            for m in &f.false_hits {
                eprint!("{m}");
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut failures = 0;
    while let Some(arg) = args.next() {
        if arg == "--failures" {
            match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => failures = n,
                None => {
                    eprintln!("--failures takes a number");
                    return ExitCode::from(2);
                }
            }
        } else if path.is_none() {
            path = Some(arg);
        } else {
            eprintln!("usage: quality CASES.jsonl [--failures N]");
            return ExitCode::from(2);
        }
    }
    let Some(path) = path else {
        eprintln!("usage: quality CASES.jsonl [--failures N]");
        return ExitCode::from(2);
    };
    match run(&path, failures) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quality: {e}");
            ExitCode::FAILURE
        }
    }
}
