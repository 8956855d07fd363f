//! Every follow-up message a peer can send (request, status reply, report,
//! withdrawal notice): refused or read, never a panic, and whatever is
//! read encodes back to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use liaison_protocol::exchange::{Notice, Reply, Report, Request};

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(m) = Request::decode(bytes) {
                assert_eq!(m.to_bytes(), bytes);
            }
        }
        1 => {
            if let Ok(m) = Reply::decode(bytes) {
                assert_eq!(m.to_bytes(), bytes);
            }
        }
        2 => {
            if let Ok(m) = Report::decode(bytes) {
                assert_eq!(m.to_bytes(), bytes);
            }
        }
        _ => {
            if let Ok(m) = Notice::decode(bytes) {
                assert_eq!(m.to_bytes(), bytes);
            }
        }
    }
});
