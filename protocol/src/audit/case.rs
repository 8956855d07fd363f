//! Case-reference commitments: how an exchange is tied to an analyst's
//! case without the log saying which case.
//!
//! `commitment = SHA-256("liaison/case/v1\n" ‖ salt (32) ‖ len ‖ reference
//! ‖ len ‖ legal basis)`, lengths u32 big-endian. The node keeps one random
//! salt per case reference; an auditor given the reference, basis and salt
//! recomputes the commitment and finds every entry made under it
//! (`liaison audit open-case`). Without the salt, a commitment cannot be
//! tested against guessed case numbers.

use sha2::{Digest, Sha256};

const CONTEXT: &[u8] = b"liaison/case/v1\n";

/// The commitment to (`reference`, `basis`) under `salt`.
pub fn commitment(salt: &[u8; 32], reference: &str, basis: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CONTEXT);
    h.update(salt);
    for part in [reference, basis] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_binds_salt_reference_and_basis() {
        let salt = [7u8; 32];
        let c = commitment(&salt, "KG-2026-0113", "Art. 12 CCP");
        assert_ne!(c, commitment(&[8u8; 32], "KG-2026-0113", "Art. 12 CCP"));
        assert_ne!(c, commitment(&salt, "KG-2026-0114", "Art. 12 CCP"));
        assert_ne!(c, commitment(&salt, "KG-2026-0113", "Art. 13 CCP"));
        // The length prefixes keep the split between the parts unambiguous.
        assert_ne!(commitment(&salt, "ab", "c"), commitment(&salt, "a", "bc"));
        assert_eq!(c, commitment(&salt, "KG-2026-0113", "Art. 12 CCP"));
    }
}
