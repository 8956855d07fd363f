//! Lower-case hex, the one text form of ids, tags, keys and hashes in the
//! node's JSON, logs and screens. At the bottom of the house beside
//! [`crate::clock`]: nothing here imports the rest of the node.

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Exactly `2 × N` hex digits (either case) as bytes; `None` otherwise
/// (`u8::from_str_radix` alone would take a sign: "+f").
pub fn decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Any even number of hex digits (up to 512) as bytes; `None` otherwise.
pub fn decode_vec(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.len() > 512 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_the_wrong_length_or_digits() {
        let bytes = [0x00, 0x7f, 0xa5, 0xff];
        assert_eq!(encode(&bytes), "007fa5ff");
        assert_eq!(decode::<4>("007FA5ff"), Some(bytes));
        assert_eq!(decode::<4>("007fa5f"), None);
        assert_eq!(decode::<4>("007fa5fg"), None);
        assert_eq!(decode::<2>("+1+2"), None);
        assert_eq!(decode::<1>("é"), None);
    }
}
