//! Re-indexing: when the normaliser learns to read more (an old dialling
//! plan, a Ukrainian patronymic), records already stored keep the
//! selectors they were stored under until they are read again. `liaison
//! check` finds them ([`scan`]); `liaison reindex` re-reads each from the
//! JSON it was written as and moves its index entries ([`run`]), so the
//! next epoch's filter, built from the index, carries the new keys, and
//! peers watching learn the new ones by delta at once.

use liaison_protocol::record::Record;
use liaison_protocol::{Country, Selector};

use super::{prepare, Error};
use crate::store::records::Records;
use crate::store::Store;

/// Record ids listed by way of example.
const EXAMPLES: usize = 10;

/// What a scan or a re-index found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reindex {
    /// Records read.
    pub records: u64,
    /// Records whose stored selectors differ from what the normaliser
    /// makes of them today.
    pub stale: u64,
    /// Of those, re-indexed by this run (0 for a scan).
    pub reindexed: u64,
    /// Records today's normaliser refuses (kept as they are, with their
    /// old selectors): re-ingest them corrected.
    pub unreadable: u64,
    /// A few stale or unreadable record ids, with what changed.
    pub examples: Vec<String>,
}

/// Finds the records whose selectors are out of date, changing nothing.
pub fn scan(store: &Store, country: Option<Country>) -> Result<Reindex, Error> {
    Ok(stale(store, country)?.0)
}

/// Re-indexes every out-of-date record, `batch_size` records to a write
/// batch; each batch is atomic, so an interrupted run leaves every record
/// either as it was or re-indexed, and running again finishes the job.
pub fn run(store: &Store, country: Option<Country>, batch_size: usize) -> Result<Reindex, Error> {
    let (mut report, ids) = stale(store, country)?;
    let records = Records::new(store);
    for chunk in ids.chunks(batch_size.max(1)) {
        store.check_stop()?;
        let mut batch = Vec::with_capacity(chunk.len());
        for id in chunk {
            let Some(selectors) = records
                .get(id)?
                .and_then(|r| prepare(&r.record, country).ok())
            else {
                // Removed or changed since the scan: nothing to do.
                continue;
            };
            let Some(prepared) = records.reselected(id, selectors)? else {
                continue;
            };
            batch.push(prepared);
        }
        report.reindexed += batch.len() as u64;
        // Queued for the peers' deltas in the same write; they carry only
        // selectors that are new to the owner.
        records.put_batch(batch)?;
    }
    store.flush()?;
    Ok(report)
}

/// The report of a scan and the ids of the stale records.
fn stale(store: &Store, country: Option<Country>) -> Result<(Reindex, Vec<String>), Error> {
    let mut report = Reindex::default();
    let mut ids = Vec::new();
    let mut failure = None;
    Records::new(store).for_each_written(|id, stored, json| {
        report.records += 1;
        let record: Record = match serde_json::from_slice(json) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(crate::store::Column::Records.corrupt(format!("record {id}: {e}")));
                return false;
            }
        };
        match prepare(&record, country) {
            // Both sorted and deduplicated: prepare's output, and every
            // stored list (`records::canonical`).
            Ok(now) if now.as_slice() == stored => {}
            Ok(now) => {
                report.stale += 1;
                if report.examples.len() < EXAMPLES {
                    report.examples.push(describe(id, stored, &now));
                }
                ids.push(id.to_owned());
            }
            Err(refusal) => {
                report.unreadable += 1;
                if report.examples.len() < EXAMPLES {
                    report
                        .examples
                        .push(format!("{id}: refused today: {refusal}"));
                }
            }
        }
        true
    })?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok((report, ids))
}

/// `ID: +2 -1 (phone:+992918104804 ...)`: counts of selectors gained and
/// lost, kinds only, never the values (the output may go to a ticket).
fn describe(id: &str, old: &[Selector], new: &[Selector]) -> String {
    let gained = new.iter().filter(|s| !old.contains(s)).count();
    let lost = old.iter().filter(|s| !new.contains(s)).count();
    let mut kinds: Vec<&str> = new
        .iter()
        .filter(|s| !old.contains(s))
        .chain(old.iter().filter(|s| !new.contains(s)))
        .map(|s| s.kind.as_str())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    format!(
        "{id}: {gained} selectors to add, {lost} to remove ({})",
        kinds.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::Prepared;

    #[test]
    fn records_stored_under_older_rules_are_found_then_reindexed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let records = Records::new(&store);
        let tjk: Country = "TJK".parse().unwrap();
        let mut record = Record::new("TJ-1");
        record.country = Some(tjk);
        record.entities = vec![serde_json::from_value(
            serde_json::json!({"type": "phone", "number": "8 918 104804"}),
        )
        .unwrap()];
        // As an earlier normaliser stored it: the 8 read as a digit.
        let old = vec![Selector::new(
            liaison_protocol::SelectorKind::Phone,
            "+9928918104804",
        )];
        records
            .put_batch(vec![Prepared::new(&record, old, "old.ndjson:1", 1)])
            .unwrap();
        let scan = scan(&store, None).unwrap();
        assert_eq!((scan.records, scan.stale, scan.reindexed), (1, 1, 0));
        assert!(scan.examples[0].starts_with("TJ-1: 1 selectors to add, 1 to remove (phone)"));
        assert!(!scan.examples[0].contains("918"), "no values: {scan:?}");

        let done = run(&store, None, 100).unwrap();
        assert_eq!((done.stale, done.reindexed), (1, 1));
        let want =
            liaison_protocol::Selector::new(liaison_protocol::SelectorKind::Phone, "+992918104804");
        assert_eq!(records.find(&want, 10).unwrap(), ["TJ-1"]);
        let stored = records.get("TJ-1").unwrap().unwrap();
        assert_eq!(stored.record, record, "the record itself is untouched");
        assert_eq!(stored.source, "old.ndjson:1");
        assert_eq!(stored.ingested_at, 1);
        assert_eq!(scan_clean(&store), 0);
        let check = crate::store::check::run(&records).unwrap();
        assert!(check.problems.is_empty(), "{:?}", check.problems);
    }

    fn scan_clean(store: &Store) -> u64 {
        scan(store, None).unwrap().stale
    }
}
