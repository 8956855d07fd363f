//! Every matching message a peer can send (manifest, filter chunk, delta,
//! evaluation request, evaluation answer): refused or read, never a panic,
//! and whatever is read encodes back to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use liaison_protocol::matching::{Answer, Chunk, Delta, Evaluate, SignedManifest};

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Ok(m) = SignedManifest::decode(bytes) {
                assert_eq!(m.to_bytes(), bytes);
            }
        }
        1 => {
            if let Ok(c) = Chunk::decode(bytes) {
                assert_eq!(c.to_bytes(), bytes);
            }
        }
        2 => {
            if let Ok(d) = Delta::decode(bytes) {
                assert_eq!(d.to_bytes(), bytes);
            }
        }
        3 => {
            if let Ok(e) = Evaluate::decode(bytes) {
                assert_eq!(e.to_bytes(), bytes);
            }
        }
        _ => {
            if let Ok(a) = Answer::decode(bytes) {
                assert_eq!(a.to_bytes(), bytes);
            }
        }
    }
});
