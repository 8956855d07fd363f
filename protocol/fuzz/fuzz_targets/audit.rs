//! Every decoder of audit data a peer or an export can hand us: log
//! entries, checkpoint notes, witness pushes, and whole export files. None
//! may panic; whatever decodes must re-encode to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use liaison_protocol::audit::export;
use liaison_protocol::audit::note::{Push, SignedCheckpoint};
use liaison_protocol::audit::{tree, Entry};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => {
            if let Ok(e) = Entry::decode(rest) {
                assert_eq!(e.to_bytes(), rest);
            }
        }
        1 => {
            if let Ok(n) = SignedCheckpoint::parse(rest) {
                assert_eq!(n.to_text().as_bytes(), rest);
            }
        }
        2 => {
            if let Ok(p) = Push::decode(rest) {
                let c = &p.checkpoint.checkpoint;
                let _ = tree::verify_consistency(p.from, &c.root, c.size, &c.root, &p.proof);
            }
        }
        _ => {
            let report = export::verify(rest, None, |_, _| {});
            // Random bytes are never a valid, signed export.
            assert!(!report.problems.is_empty());
        }
    }
});
