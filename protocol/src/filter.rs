//! Tag filters: how an owner lets one peer test tags without holding the
//! tag list. A binary fuse filter with 32-bit fingerprints (false
//! positives about 2^-32; `xorf`), built over the deduplicated tags of the
//! owner's selectors for that peer and epoch, padded with random keys to a
//! size bucket so its size tells only the bucket, not the count.
//!
//! The filter travels inside signed envelopes, and the owner's manifest
//! names its hash (issue 5); this module is the filter and its bytes.
//! [`Filter::decode`] never trusts the sender's geometry: it checks the
//! segment layout against the fingerprint array before a single lookup,
//! so no filter a peer sends can make a lookup read out of bounds.
//!
//! Layout (big-endian except the fingerprints, which are little-endian u32):
//! version (1) ‖ bucket u32 ‖ seed u64 ‖ segment length u32 ‖ segment
//! length mask u32 ‖ segment count length u32 ‖ fingerprint count u32 ‖
//! fingerprints.

use rand_core::{CryptoRng, RngCore};
use xorf::{BinaryFuse32, Descriptor, Filter as _};

use crate::wire::{self, Reader};

/// Version byte of the layout.
pub const FILTER_VERSION: u8 = 1;
/// The smallest bucket: filters hold at least this many keys.
pub const MIN_BUCKET: u32 = 1 << 10;
/// The largest bucket (16 M tags).
pub const MAX_BUCKET: u32 = 1 << 24;

/// Why a filter could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// More distinct tags than [`MAX_BUCKET`].
    #[error("{tags} tags is over the largest filter ({max})")]
    TooMany {
        /// Distinct tags given.
        tags: usize,
        /// The cap.
        max: u32,
    },
    /// The construction did not converge (astronomically unlikely for
    /// distinct keys).
    #[error("building the filter failed: {0}")]
    Build(&'static str),
    /// The bytes are not a valid filter.
    #[error(transparent)]
    Decode(#[from] wire::Error),
}

/// The bucket a filter of `n` distinct tags is padded to: the next power
/// of two, at least [`MIN_BUCKET`].
pub fn bucket(n: usize) -> Option<u32> {
    let b = (n.max(MIN_BUCKET as usize)).checked_next_power_of_two()?;
    u32::try_from(b).ok().filter(|b| *b <= MAX_BUCKET)
}

/// The filter key of a tag: its first 8 bytes (tags are uniform hash
/// outputs already).
pub fn key(tag: &[u8; 32]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&tag[..8]);
    u64::from_le_bytes(k)
}

/// A tag filter.
#[derive(Debug, Clone)]
pub struct Filter {
    bucket: u32,
    inner: BinaryFuse32,
}

impl Filter {
    /// Builds the filter of `tags` (duplicates removed), padded with
    /// random keys from `rng` up to its [`bucket`].
    pub fn build(tags: &[[u8; 32]], rng: &mut (impl RngCore + CryptoRng)) -> Result<Filter, Error> {
        Self::of_keys(tags.iter().map(key).collect(), rng)
    }

    /// Builds the filter of the tags whose [`key`]s are given (duplicates
    /// removed), padded as [`Filter::build`] pads: for a builder that
    /// streams its tags and keeps 8 bytes of each, not 32.
    pub fn of_keys(
        mut keys: Vec<u64>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Filter, Error> {
        if !keys.is_sorted() {
            keys.sort_unstable();
        }
        keys.dedup();
        let bucket = bucket(keys.len()).ok_or(Error::TooMany {
            tags: keys.len(),
            max: MAX_BUCKET,
        })?;
        // Padding: random keys, distinct from each other and from the
        // real ones (the construction needs distinct keys).
        let real = keys.len();
        while keys.len() < bucket as usize {
            let missing = bucket as usize - keys.len();
            keys.extend((0..missing).map(|_| rng.next_u64()));
            keys.sort_unstable();
            keys.dedup();
        }
        debug_assert!(keys.len() >= real);
        let inner = BinaryFuse32::try_from(&keys).map_err(Error::Build)?;
        Ok(Filter { bucket, inner })
    }

    /// Whether `tag` may be in the set (never a false "no"; a false "yes"
    /// about once in 2^32).
    pub fn contains(&self, tag: &[u8; 32]) -> bool {
        self.inner.contains(&key(tag))
    }

    /// The size bucket it was padded to.
    pub fn bucket(&self) -> u32 {
        self.bucket
    }

    /// Bytes on the wire.
    pub fn len_bytes(&self) -> usize {
        1 + 4 + 8 + 4 * 4 + 4 * self.inner.fingerprints.len()
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let d = &self.inner.descriptor;
        let mut out = Vec::with_capacity(self.len_bytes());
        out.push(FILTER_VERSION);
        out.extend_from_slice(&self.bucket.to_be_bytes());
        out.extend_from_slice(&d.seed.to_be_bytes());
        out.extend_from_slice(&d.segment_length.to_be_bytes());
        out.extend_from_slice(&d.segment_length_mask.to_be_bytes());
        out.extend_from_slice(&d.segment_count_length.to_be_bytes());
        out.extend_from_slice(&(self.inner.fingerprints.len() as u32).to_be_bytes());
        for f in self.inner.fingerprints.iter() {
            out.extend_from_slice(&f.to_le_bytes());
        }
        out
    }

    /// Reads a filter a peer sent, refusing any whose geometry could make
    /// a lookup leave the fingerprint array, or whose size does not fit
    /// its bucket.
    pub fn decode(bytes: &[u8]) -> Result<Filter, Error> {
        let bad = |field, problem| wire::Error::Malformed { field, problem };
        let mut r = Reader::new(bytes);
        if r.u8("version")? != FILTER_VERSION {
            return Err(bad("version", "unsupported filter version").into());
        }
        let bucket = r.u32("bucket")?;
        if !bucket.is_power_of_two() || !(MIN_BUCKET..=MAX_BUCKET).contains(&bucket) {
            return Err(bad("bucket", "not a size bucket").into());
        }
        let seed = r.u64("seed")?;
        let segment_length = r.u32("segment_length")?;
        let segment_length_mask = r.u32("segment_length_mask")?;
        let segment_count_length = r.u32("segment_count_length")?;
        let count = r.u32("fingerprints")?;
        // A binary fuse filter of n keys has about 1.13 n fingerprints;
        // allow up to 2 n before refusing it as the wrong size.
        if u64::from(count) > 2 * u64::from(bucket) || u64::from(count) < u64::from(bucket) {
            return Err(wire::Error::TooLarge {
                field: "fingerprints",
                len: count.into(),
                max: 2 * u64::from(bucket),
            }
            .into());
        }
        if !segment_length.is_power_of_two()
            || segment_length_mask != segment_length - 1
            || segment_count_length == 0
            || segment_count_length % segment_length != 0
            || u64::from(segment_count_length) + 2 * u64::from(segment_length) != u64::from(count)
        {
            // Every lookup index is below segment count length + 2 ×
            // segment length; anything else could read past the array.
            return Err(bad(
                "segment_length",
                "segment layout does not fit the fingerprints",
            )
            .into());
        }
        let raw = r.take(4 * count as usize, "fingerprints")?;
        r.finish()?;
        let fingerprints: Box<[u32]> = raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Filter {
            bucket,
            inner: BinaryFuse32 {
                descriptor: Descriptor {
                    seed,
                    segment_length,
                    segment_length_mask,
                    segment_count_length,
                },
                fingerprints,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand_core::OsRng;

    use super::*;

    fn tags(n: usize, salt: u8) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| {
                let mut t = [salt; 32];
                t[..8]
                    .copy_from_slice(&(i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
                t
            })
            .collect()
    }

    #[test]
    fn holds_every_tag_and_almost_nothing_else() {
        let held = tags(50_000, 1);
        let f = Filter::build(&held, &mut OsRng).expect("builds");
        assert!(held.iter().all(|t| f.contains(t)), "a false negative");
        let mut rng = OsRng;
        let false_hits = (0..1_000_000)
            .filter(|_| {
                let mut t = [0u8; 32];
                rand_core::RngCore::fill_bytes(&mut rng, &mut t);
                f.contains(&t)
            })
            .count();
        // Expected 1e6 / 2^32 ≈ 0.0002.
        assert!(false_hits <= 2, "{false_hits} false positives in a million");
        let back = Filter::decode(&f.to_bytes()).expect("decodes");
        assert!(held.iter().all(|t| back.contains(t)));
        assert_eq!(back.to_bytes(), f.to_bytes());
    }

    #[test]
    fn size_tells_only_the_bucket() {
        let small = Filter::build(&tags(1100, 2), &mut OsRng).expect("builds");
        let large = Filter::build(&tags(2000, 2), &mut OsRng).expect("builds");
        assert_eq!(small.bucket(), 2048);
        assert_eq!(small.len_bytes(), large.len_bytes());
        let mut doubled = tags(1100, 2);
        doubled.extend(tags(1100, 2));
        assert_eq!(
            Filter::build(&doubled, &mut OsRng)
                .expect("builds")
                .bucket(),
            2048
        );
        assert_eq!(
            Filter::build(&[], &mut OsRng).expect("builds").bucket(),
            MIN_BUCKET
        );
        assert_eq!(bucket(MAX_BUCKET as usize + 1), None);
    }

    #[test]
    fn keys_in_any_order_and_repeated_build_the_tags_filter() {
        let held = tags(3000, 4);
        let mut keys: Vec<u64> = held.iter().rev().map(key).collect();
        keys.extend(held.iter().take(500).map(key));
        let f = Filter::of_keys(keys, &mut OsRng).expect("builds");
        assert_eq!(f.bucket(), 4096, "repeats are not counted");
        assert!(held.iter().all(|t| f.contains(t)), "a false negative");
    }

    #[test]
    fn hostile_geometry_is_refused_before_any_lookup() {
        let f = Filter::build(&tags(3000, 3), &mut OsRng).expect("builds");
        let good = f.to_bytes();
        // Each header field at 13.. (segment length, mask, count length,
        // fingerprint count), changed, must be refused.
        for (at, what) in [
            (13, "segment length"),
            (17, "mask"),
            (21, "count length"),
            (25, "count"),
        ] {
            for delta in [1u32, 2, 1 << 20, u32::MAX] {
                let mut b = good.clone();
                let v = u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
                b[at..at + 4].copy_from_slice(&v.wrapping_add(delta).to_be_bytes());
                assert!(Filter::decode(&b).is_err(), "{what} + {delta} accepted");
            }
        }
        assert!(Filter::decode(&good[..good.len() - 1]).is_err());
        let mut longer = good.clone();
        longer.push(0);
        assert!(Filter::decode(&longer).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_are_refused_and_lookups_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..20_000), probe: [u8; 32]) {
            if let Ok(f) = Filter::decode(&bytes) {
                let _ = f.contains(&probe);
            }
        }
    }
}
