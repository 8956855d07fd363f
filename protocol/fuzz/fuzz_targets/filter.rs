//! A tag filter as a peer sends it: refused or read, never a panic, and a
//! lookup in anything read never leaves the fingerprint array. Half the
//! runs decode the fuzzer's bytes as they are; the other half build a real
//! filter and apply the fuzzer's edits to it, so the geometry checks are
//! reached with everything else valid.

#![no_main]

use libfuzzer_sys::fuzz_target;
use liaison_protocol::filter::Filter;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let tags: Vec<[u8; 32]> = (0..(u16::from(mode) * 8))
            .map(|i| {
                let mut t = [0u8; 32];
                t[..2].copy_from_slice(&i.to_le_bytes());
                t
            })
            .collect();
        let mut b = Filter::build(&tags, &mut rand_core::OsRng)
            .expect("builds")
            .to_bytes();
        // Edits: (offset u16, xor byte) pairs, in the header mostly.
        for e in rest.chunks_exact(3) {
            let at = usize::from(u16::from_le_bytes([e[0], e[1]])) % b.len();
            b[at] ^= e[2];
        }
        b
    };
    if let Ok(f) = Filter::decode(&bytes) {
        assert_eq!(f.to_bytes(), bytes);
        for probe in rest.chunks_exact(32).take(64) {
            let _ = f.contains(probe.try_into().expect("32 bytes"));
        }
        for i in 0..256u16 {
            let mut t = [0u8; 32];
            t[..2].copy_from_slice(&i.to_le_bytes());
            let _ = f.contains(&t);
        }
    }
});
