//! Whether a number is valid under its country's numbering plan: the
//! `phonenumber` crate's `is_valid` (its `validator::is_valid_with`,
//! `source_for` and `number_type`), ported so that it does not go through
//! the crate's regular expression cache.
//!
//! **Why a port.** The crate keeps every compiled pattern in one
//! `Arc<Mutex<RegexCache>>` (`regex-cache`: an LRU of a hundred entries
//! keyed by the pattern's source, hashed with SipHash on every lookup) and
//! holds that mutex for the whole of each match. Validity was most of the
//! CPU cost of reading a phone (about 60% of it, under perf), and ingest
//! reads phones on two threads at once: they waited on each other, and
//! every match paid a hash of a pattern hundreds of characters long. Here the metadata still comes from
//! the crate (its public API: [`DATABASE`], `Metadata::descriptors`,
//! `Descriptor::{national_number, possible_length}`,
//! `Metadata::leading_digits`); only the matching is ours, with
//! [`Regex`]es each thread compiles once, the first time it needs one.
//!
//! **What is matched.** The crate's `Descriptor::is_match` checks the
//! length against the descriptor's possible lengths, then whether its
//! pattern finds a match *starting at 0* (not a match of the whole
//! number). The leftmost match starts at 0 exactly when some match does,
//! so each pattern is compiled anchored, `^(?:pattern)`, and asked only
//! whether it matches. The equivalence with the crate, on every country
//! calling code of its metadata, is tested in `super::equivalence`.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use phonenumber::country;
use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use regex::{Regex, RegexBuilder};

/// Whether `national` (a national significant number as the crate writes
/// it: leading zeros kept, no trunk prefix) is valid under the plan of
/// country calling code `code`: `phonenumber::is_valid` of that number.
pub(super) fn is_valid(code: u16, national: &str) -> bool {
    let plans = plans();
    let Some(Some(source)) = plans.by_code.get(usize::from(code)) else {
        return false;
    };
    let check = |compiled: &[OnceCell<Option<Regex>>]| {
        let matcher = Matcher {
            plans,
            compiled,
            national,
        };
        match source {
            Source::One(plan) => plan.is_some_and(|plan| matcher.type_is_known(plan)),
            Source::Shared(regions) => matcher.shared(regions),
        }
    };
    // A thread whose locals are being destroyed (a phone read from another
    // thread local's destructor) compiles what it needs for this number
    // alone.
    COMPILED
        .try_with(|compiled| check(compiled))
        .unwrap_or_else(|_| check(&uncompiled()))
}

/// Where the plan for numbers under one country calling code comes from
/// (the crate's `source_for`, then its look-up of the metadata found).
#[derive(Debug)]
enum Source {
    /// The one region of the code, or its one non-geographic entity
    /// (`001`: `+800`, `+882` ...); none when the region's id is not one
    /// the crate knows (the crate then finds no plan either).
    One(Option<PlanIndex>),
    /// Regions sharing the code (`+1`, `+7`, `+44` ...), in the crate's
    /// order: main country first.
    Shared(Vec<SharedRegion>),
}

/// One region of a shared country calling code.
#[derive(Debug)]
struct SharedRegion {
    /// The region's metadata: its leading digits claim a number for it, or
    /// when it has none, its plan holding the number does. None only when
    /// the metadata has no entry under the region's id (where the crate
    /// would panic).
    own: Option<PlanIndex>,
    /// The plan a claimed number is then checked against: the crate looks
    /// the region up again by its id parsed as a `country::Id` (None where
    /// that fails, again where the crate would panic).
    checked: Option<PlanIndex>,
}

/// A plan's position in [`Plans::plans`].
type PlanIndex = usize;

/// A pattern's position in [`Plans::patterns`] and in each thread's
/// [`COMPILED`].
type PatternIndex = usize;

/// The numbering plans of the crate's metadata, indexed once per process
/// and read-only after: no lock is taken to read them.
#[derive(Debug)]
struct Plans {
    /// [`Source`] by country calling code (the index), up to the highest
    /// code of the metadata.
    by_code: Vec<Option<Source>>,
    /// Every plan some [`Source`] refers to.
    plans: Vec<Plan>,
    /// Every distinct pattern source of those plans (fixed-line and mobile
    /// share theirs in many countries).
    patterns: Vec<&'static str>,
}

/// What the validity check needs of one region's metadata.
#[derive(Debug)]
struct Plan {
    /// The general descriptor: every valid number matches it.
    general: Pattern,
    /// The descriptors of the number types the crate's `number_type`
    /// recognises (fixed line, mobile, toll free, premium rate, shared
    /// cost, VoIP, personal, pager, UAN, voicemail; not emergency, short
    /// codes, standard rate, carrier or no-international, which it never
    /// returns). A number is valid when it matches one of them; fixed
    /// line and mobile come first as the likeliest.
    types: Vec<Pattern>,
    /// The leading digits that claim a number for this region where its
    /// country calling code is shared.
    leading_digits: Option<PatternIndex>,
}

/// A descriptor: the lengths a number may have, and its pattern.
#[derive(Debug)]
struct Pattern {
    /// Possible lengths; empty when any length is.
    lengths: &'static [u16],
    pattern: PatternIndex,
}

thread_local! {
    /// This thread's compiled patterns, by [`PatternIndex`]: each compiled
    /// the first time this thread matches it, `None` if it does not
    /// compile (no pattern of the crate's metadata fails; one that did
    /// would match nothing, where the crate would panic).
    static COMPILED: Box<[OnceCell<Option<Regex>>]> = uncompiled();
}

/// A cell for each pattern, none compiled yet.
fn uncompiled() -> Box<[OnceCell<Option<Regex>>]> {
    plans().patterns.iter().map(|_| OnceCell::new()).collect()
}

/// The plans, indexed on first use.
fn plans() -> &'static Plans {
    static PLANS: OnceLock<Plans> = OnceLock::new();
    PLANS.get_or_init(Plans::index)
}

impl Plans {
    /// Indexes the crate's metadata for every country calling code it has.
    fn index() -> Plans {
        let mut index = Indexer::default();
        let mut by_code = Vec::new();
        // Every code the metadata may hold: country calling codes have at
        // most three digits, but the crate's key is a u16, and the scan is
        // cheap, once per process.
        for code in 0..=u16::MAX {
            let Some(regions) = DATABASE.region(&code) else {
                continue;
            };
            let source = match regions.as_slice() {
                [] => continue,
                // The crate: `001` is looked up by code, any other region
                // by its id parsed and written back.
                ["001"] => Source::One(
                    DATABASE
                        .by_code(&code)
                        .and_then(|all| all.into_iter().next())
                        .map(|meta| index.plan(meta)),
                ),
                [region] => Source::One(by_parsed_id(region).map(|meta| index.plan(meta))),
                regions => Source::Shared(
                    regions
                        .iter()
                        .map(|region| SharedRegion {
                            own: DATABASE.by_id(*region).map(|meta| index.plan(meta)),
                            checked: by_parsed_id(region).map(|meta| index.plan(meta)),
                        })
                        .collect(),
                ),
            };
            let at = usize::from(code);
            if by_code.len() <= at {
                by_code.resize_with(at + 1, || None);
            }
            by_code[at] = Some(source);
        }
        Plans {
            by_code,
            plans: index.plans,
            patterns: index.patterns,
        }
    }
}

/// The metadata the crate checks a number against once it has found its
/// region: the region's id parsed as a `country::Id`, written back, looked
/// up.
fn by_parsed_id(region: &str) -> Option<&'static Metadata> {
    let id = region.parse::<country::Id>().ok()?;
    DATABASE.by_id(id.as_ref())
}

/// Builds [`Plans::plans`] and [`Plans::patterns`], each entry once.
#[derive(Default)]
struct Indexer {
    plans: Vec<Plan>,
    /// Plans by the address of their metadata (it lives as long as the
    /// crate's database, for the whole process).
    plan_of: HashMap<*const Metadata, PlanIndex>,
    patterns: Vec<&'static str>,
    pattern_of: HashMap<&'static str, PatternIndex>,
}

impl Indexer {
    /// The index of `meta`'s plan, added on first sight.
    fn plan(&mut self, meta: &'static Metadata) -> PlanIndex {
        let key: *const Metadata = meta;
        if let Some(&at) = self.plan_of.get(&key) {
            return at;
        }
        let d = meta.descriptors();
        let types = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        let plan = Plan {
            general: self.descriptor(d.general()),
            types: types
                .into_iter()
                .flatten()
                .map(|desc| self.descriptor(desc))
                .collect(),
            leading_digits: meta.leading_digits().map(|re| self.pattern(re.as_str())),
        };
        let at = self.plans.len();
        self.plans.push(plan);
        self.plan_of.insert(key, at);
        at
    }

    fn descriptor(&mut self, desc: &'static Descriptor) -> Pattern {
        Pattern {
            lengths: desc.possible_length(),
            pattern: self.pattern(desc.national_number().as_str()),
        }
    }

    /// The index of pattern `source`, added on first sight.
    fn pattern(&mut self, source: &'static str) -> PatternIndex {
        *self.pattern_of.entry(source).or_insert_with(|| {
            self.patterns.push(source);
            self.patterns.len() - 1
        })
    }
}

/// Compiles a pattern of the metadata as the crate does (whitespace and
/// `#` comments ignored, its default size limits), anchored at the start
/// of the number. The pattern goes in a group of its own, so that an
/// alternation in it stays under the anchor, and ends with a line break, so
/// that a `#` comment at its end cannot swallow the group's close.
fn compile(source: &str) -> Option<Regex> {
    RegexBuilder::new(&format!("^(?:{source}\n)"))
        .ignore_whitespace(true)
        .unicode(true)
        .size_limit(10 * (1 << 20))
        .dfa_size_limit(2 * (1 << 20))
        .build()
        .ok()
}

/// One number checked against the plans, on this thread's patterns.
struct Matcher<'a> {
    plans: &'a Plans,
    compiled: &'a [OnceCell<Option<Regex>>],
    national: &'a str,
}

impl Matcher<'_> {
    /// Whether pattern `at` matches the number from its first digit.
    fn starts_with(&self, at: PatternIndex) -> bool {
        let (Some(source), Some(cell)) = (self.plans.patterns.get(at), self.compiled.get(at))
        else {
            return false;
        };
        cell.get_or_init(|| compile(source))
            .as_ref()
            .is_some_and(|re| re.is_match(self.national))
    }

    /// The crate's `Descriptor::is_match`.
    fn matches(&self, desc: &Pattern) -> bool {
        let possible = desc.lengths.is_empty()
            || u16::try_from(self.national.len()).is_ok_and(|len| desc.lengths.contains(&len));
        possible && self.starts_with(desc.pattern)
    }

    /// Whether the crate's `number_type` is other than `Unknown`.
    fn type_is_known(&self, plan: PlanIndex) -> bool {
        self.plans.plans.get(plan).is_some_and(|plan| {
            self.matches(&plan.general) && plan.types.iter().any(|t| self.matches(t))
        })
    }

    /// A shared country calling code: the first region that claims the
    /// number (by its leading digits, or by its plan holding it) decides.
    fn shared(&self, regions: &[SharedRegion]) -> bool {
        for region in regions {
            let Some(own) = region.own else {
                return false;
            };
            let claims = match self.plans.plans.get(own).and_then(|p| p.leading_digits) {
                Some(leading) => self.starts_with(leading),
                None => self.type_is_known(own),
            };
            if claims {
                return region.checked.is_some_and(|plan| self.type_is_known(plan));
            }
        }
        false
    }
}
