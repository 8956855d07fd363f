//! Tests of the records layer: encoding, the index, replacement,
//! withdrawal and the expiry index.

use super::format::encode;
use super::*;
use liaison_protocol::record::{Entity, Phone};

fn stored(id: &str, phones: &[&str]) -> StoredRecord {
    StoredRecord {
        record: Record {
            entities: phones
                .iter()
                .map(|p| {
                    Entity::Phone(Phone {
                        number: (*p).into(),
                        ..Phone::default()
                    })
                })
                .collect(),
            ..Record::new(id)
        },
        selectors: phones
            .iter()
            .map(|p| Selector::new(SelectorKind::Phone, *p))
            .collect(),
        source: "test:1".into(),
        ingested_at: 1_700_000_000,
    }
}

fn prepared(id: &str, phones: &[&str]) -> Prepared {
    let r = stored(id, phones);
    Prepared::new(&r.record, r.selectors, &r.source, r.ingested_at)
}

fn phone(p: &str) -> Selector {
    Selector::new(SelectorKind::Phone, p)
}

#[test]
fn encoding_round_trips_and_refuses_truncation() {
    let r = stored("KG-1", &["+992935551234", "+996775987817"]);
    let bytes = encode(&r);
    assert_eq!(decode(&bytes).unwrap(), r);
    for cut in [0, 1, 5, 12, 20, bytes.len() - 1] {
        assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn a_store_made_before_the_expiry_index_is_indexed_once_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mut r = Record::new("OLD");
        r.expires = Some(time::OffsetDateTime::from_unix_timestamp(1_000).unwrap());
        let p = Prepared::new(&r, vec![], "t", 0);
        Records::new(&store).put_batch(vec![p]).unwrap();
        // As a store of the previous layout: no expiry entries, no flag.
        let mut b = Batch::default();
        b.delete(Column::Expiry, keys::expiry::of("OLD"));
        b.delete(Column::Expiry, keys::expiry::at(1_000, "OLD"));
        b.delete(Column::Meta, Meta::ExpiryIndexed.key());
        store.write(b).unwrap();
        assert_eq!(Records::new(&store).purge_expired(2_000, 10).unwrap(), 0);
    }
    let store = Store::open(&dir.path().join("store")).unwrap();
    assert_eq!(Records::new(&store).purge_expired(999, 10).unwrap(), 0);
    assert_eq!(Records::new(&store).purge_expired(2_000, 10).unwrap(), 1);
    assert!(Records::new(&store).get("OLD").unwrap().is_none());
}

#[test]
fn replace_moves_index_entries_and_withdraw_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let records = Records::new(&store);
    let out = records
        .put_batch(vec![
            prepared("KG-1", &["+1", "+2"]),
            prepared("KG-2", &["+2"]),
        ])
        .unwrap();
    assert_eq!(out, vec![Outcome::Stored, Outcome::Stored]);
    assert_eq!(
        records.find(&phone("+2"), 10).unwrap(),
        vec!["KG-1", "KG-2"]
    );

    // Re-ingest KG-1 without +2 and with +3.
    let out = records
        .put_batch(vec![prepared("KG-1", &["+1", "+3"])])
        .unwrap();
    assert_eq!(out, vec![Outcome::Updated]);
    assert_eq!(records.find(&phone("+2"), 10).unwrap(), vec!["KG-2"]);
    assert_eq!(records.find(&phone("+3"), 10).unwrap(), vec!["KG-1"]);
    let c = records.counts().unwrap();
    assert_eq!(c.records, 2);
    assert_eq!(c.selectors[&SelectorKind::Phone], 3);

    // The same id twice in one batch: the later wins, counted once.
    let out = records
        .put_batch(vec![prepared("KG-3", &["+4"]), prepared("KG-3", &["+5"])])
        .unwrap();
    assert_eq!(out, vec![Outcome::Stored, Outcome::Updated]);
    assert!(records.find(&phone("+4"), 10).unwrap().is_empty());
    assert_eq!(records.counts().unwrap().records, 3);

    let gone = records.withdraw("KG-1").unwrap().unwrap();
    assert_eq!(gone.record.id, "KG-1");
    assert!(records.find(&phone("+1"), 10).unwrap().is_empty());
    assert!(records.get("KG-1").unwrap().is_none());
    assert!(records.withdraw("KG-1").unwrap().is_none());
    let c = records.counts().unwrap();
    assert_eq!(c.records, 2);
    assert_eq!(c.selectors[&SelectorKind::Phone], 2);

    // The index and the records agree entry by entry.
    let mut from_records = Vec::new();
    records
        .for_each(|id, sels| {
            from_records.extend(sels.iter().map(|s| (s.clone(), id.to_owned())));
            true
        })
        .unwrap();
    let mut from_index = Vec::new();
    records
        .for_each_index_entry(|s, id| {
            from_index.push((s, id.to_owned()));
            true
        })
        .unwrap();
    from_records.sort();
    from_index.sort();
    assert_eq!(from_records, from_index);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn selector() -> impl Strategy<Value = Selector> {
        (0usize..SelectorKind::ALL.len(), "[^\\x00]{1,40}")
            .prop_map(|(k, v)| Selector::new(SelectorKind::ALL[k], v))
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn values_round_trip(id in "[^\\x00]{1,30}", sels in proptest::collection::vec(selector(), 0..12), source in ".{0,60}", at in any::<i64>()) {
            let mut r = stored(&id, &[]);
            r.selectors = sels;
            r.source = source;
            r.ingested_at = at;
            let back = decode(&encode(&r)).unwrap();
            let mut want = r.selectors.clone();
            want.sort();
            want.dedup();
            prop_assert_eq!(back.selectors, want);
            prop_assert_eq!(back.record, r.record);
            prop_assert_eq!(back.source, r.source);
            prop_assert_eq!(back.ingested_at, r.ingested_at);
        }
    }
}
