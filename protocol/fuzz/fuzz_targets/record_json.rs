//! One NDJSON line, as ingest (and later a peer's report) reads it: decoding
//! and normalising every entity must never panic, and every selector made
//! must be non-empty and free of NUL.
#![no_main]

use liaison_protocol::normalize::{entity_selectors, Context};
use liaison_protocol::record::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = serde_json::from_slice::<Record>(data) else {
        return;
    };
    let ctx = Context {
        country: record.country.or("KGZ".parse().ok()),
    };
    let mut out = Vec::new();
    for entity in &record.entities {
        out.clear();
        if entity_selectors(entity, &ctx, &mut out).is_ok() {
            for s in &out {
                assert!(!s.value.is_empty() && !s.value.contains('\0'), "{s:?}");
            }
        }
    }
});
