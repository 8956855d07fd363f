//! An agency key as a peer hands it over: any text must be refused or read,
//! never panic, and what is read must print back to itself.
#![no_main]

use liaison_protocol::keys::AgencyKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = text.parse::<AgencyKey>() {
            let again: AgencyKey = key
                .to_string()
                .parse()
                .expect("a key that was read prints back to a readable key");
            assert_eq!(again, key);
        }
    }
});
