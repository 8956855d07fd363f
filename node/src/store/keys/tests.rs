//! Tests of the key encodings.

use liaison_protocol::{Selector, SelectorKind};

use super::*;

#[test]
fn selector_entries_round_trip_and_do_not_collide() {
    let a = Selector::new(SelectorKind::Phone, "+996775987817");
    let key = selector_entry(&a, "KG-1");
    let (sel, id) = decode_selector_entry(&key).unwrap();
    assert_eq!((sel, id), (a.clone(), "KG-1"));
    // A value that extends another is not under its prefix, thanks to
    // the length prefix.
    let b = Selector::new(SelectorKind::Phone, "+99677598781");
    assert!(!key.starts_with(&selector_prefix(&b)));
    // Kinds separate equal values.
    let c = Selector::new(SelectorKind::Document, "+996775987817");
    assert!(!key.starts_with(&selector_prefix(&c)));
    assert_eq!(
        selector_entry_record(&key, selector_prefix(&a).len()),
        Some("KG-1")
    );
    assert!(decode_selector_entry(&[1, 1, 0]).is_none());
    assert!(decode_selector_entry(&[99, 1, 0, 0]).is_none());
}
