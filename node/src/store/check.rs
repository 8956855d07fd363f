//! `liaison check`: proves the store is internally consistent, as it must
//! be after any crash — every record decodes, every selector a record holds
//! has its index entry and no index entry lacks its record, and the
//! counters equal what is there.

use std::collections::BTreeMap;

use liaison_protocol::SelectorKind;

use super::records::Records;
use super::Error;

/// What the check found.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Records held.
    pub records: u64,
    /// Index entries held.
    pub index_entries: u64,
    /// Each inconsistency, described.
    pub problems: Vec<String>,
}

/// Runs the check. Reads everything once and holds every (selector, record)
/// pair twice in memory for a sorted merge: about 100 bytes an index entry,
/// so some 500 MB for a store of a million five-selector records.
pub fn run(records: &Records<'_>) -> Result<Report, Error> {
    let mut report = Report::default();
    let mut expected: BTreeMap<SelectorKind, u64> = BTreeMap::new();
    let mut pairs = Vec::new();
    records.for_each(|id, selectors| {
        report.records += 1;
        let mut unique: Vec<_> = selectors
            .iter()
            .filter(|s| super::records::is_indexed(s))
            .collect();
        unique.sort();
        unique.dedup();
        for s in unique {
            *expected.entry(s.kind).or_default() += 1;
            pairs.push((s.clone(), id.to_owned()));
        }
        true
    })?;
    pairs.sort();
    let mut index = Vec::with_capacity(pairs.len());
    records.for_each_index_entry(|s, id| {
        index.push((s, id.to_owned()));
        true
    })?;
    index.sort();
    report.index_entries = index.len() as u64;
    let (mut i, mut j) = (0, 0);
    while i < pairs.len() || j < index.len() {
        match (pairs.get(i), index.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), b) if b.is_none_or(|b| a < b) => {
                report.problems.push(format!(
                    "record {} holds {} but the index lacks it",
                    a.1, a.0
                ));
                i += 1;
            }
            (_, Some(b)) => {
                report.problems.push(format!(
                    "index entry {} points at record {}, which does not hold it",
                    b.0, b.1
                ));
                j += 1;
            }
            (Some(_), None) | (None, None) => unreachable!("loop condition"),
        }
        if report.problems.len() >= 100 {
            report
                .problems
                .push("... stopped after 100 problems".into());
            break;
        }
    }
    let counts = records.counts()?;
    if counts.records != report.records {
        report.problems.push(format!(
            "record counter says {}, the store holds {}",
            counts.records, report.records
        ));
    }
    if counts.selectors != expected {
        report.problems.push(format!(
            "selector counters {:?} differ from the index {:?}",
            counts.selectors, expected
        ));
    }
    Ok(report)
}
