//! Envelope and receipt bytes as a peer sends them: any input must be
//! refused or read, never panic; what is read must encode back to exactly
//! the input (one encoding per envelope, so its hash names it), and opening
//! it must fail cleanly or succeed.
#![no_main]

use liaison_protocol::envelope::{Envelope, Receipt, Recipient, Window, MAX_ENVELOPE};
use liaison_protocol::keys::{AgencyKey, SealingKey, SigningKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::decode(data, MAX_ENVELOPE) {
        assert_eq!(env.to_bytes(), data, "decode then encode is the identity");
        let signing = SigningKey::from_seed(&[2; 32]);
        let sealing = SealingKey::from_bytes([3; 32]);
        let sender = AgencyKey::new(&SigningKey::from_seed(&[1; 32]), &SealingKey::from_bytes([4; 32]));
        let _ = env.open(
            Recipient {
                federation: "fuzz",
                signing: &signing,
                sealing: &sealing,
            },
            |_| Some(&sender),
            |_, _| false,
            Window {
                now_ms: env.header.timestamp_ms,
                max_age_ms: 1000,
                max_skew_ms: 1000,
            },
        );
    }
    if let Ok(receipt) = Receipt::decode(data) {
        assert_eq!(receipt.to_bytes(), data, "decode then encode is the identity");
    }
});
