//! The RFC 6962 / RFC 9162 Merkle tree over the log's entries.
//!
//! Storage keeps only *perfect* subtrees: the hash of every aligned block
//! of `2^level` leaves starting at `index << level`. Those never change
//! once written, so an append writes one leaf hash plus, on average, one
//! parent; and the hash of any node of any tree size is a fold of them
//! ([`range_hash`]). Which nodes a proof needs, and checking a proof, is
//! `ct-merkle`'s arithmetic; this module maps its node indices onto
//! perfect subtrees and wraps its verifiers so that no input can panic.

use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Largest tree this code handles (`ct-merkle` stops at 2^63).
pub const MAX_SIZE: u64 = 1 << 62;

/// The RFC 6962 hash of a leaf: `SHA-256(0x00 ‖ bytes)`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// The RFC 6962 hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where perfect-subtree hashes come from (RocksDB in the node, a vector
/// in tests and exports).
pub trait Subtrees {
    /// Why a hash could not be had.
    type Error;
    /// The hash of leaves `[index << level, (index + 1) << level)`.
    fn subtree(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a proof could not be made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E> {
    /// The sizes asked for make no sense (old above new, index past the
    /// end, over [`MAX_SIZE`]).
    #[error("no proof between tree sizes {old} and {new}")]
    Sizes {
        /// The smaller tree size (or the leaf index).
        old: u64,
        /// The larger tree size.
        new: u64,
    },
    /// The proof is the wrong length or does not hash to the roots.
    #[error("the proof does not verify")]
    Invalid,
    /// A node the proof needs could not be read.
    #[error("reading a tree node: {0}")]
    Source(E),
}

/// The hash of leaves `[start, end)`, which must be a node of some RFC
/// 6962 tree (`start` aligned to the largest power of two not above
/// `end - start`), from perfect subtrees.
pub fn range_hash<S: Subtrees>(s: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let len = end - start;
    if len.is_power_of_two() && start % len == 0 {
        return s.subtree(len.trailing_zeros() as u8, start >> len.trailing_zeros());
    }
    // RFC 6962 §2.1: split at the largest power of two below the length.
    let k = 1u64 << (63 - (len - 1).leading_zeros());
    let left = range_hash(s, start, start + k)?;
    let right = range_hash(s, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves.
pub fn root<S: Subtrees>(s: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        Ok(empty_root())
    } else {
        range_hash(s, 0, size)
    }
}

/// The hash of `ct-merkle` node `index` in the tree of `size` leaves. Its
/// node indices lay the tree out in order: leaf `i` is `2i`, and a node at
/// level `l` has `l` trailing one bits.
fn ct_node<S: Subtrees>(s: &S, index: u64, size: u64) -> Result<Hash, S::Error> {
    let level = index.trailing_ones();
    let start = (index >> (level + 1)) << level;
    let end = (start + (1u64 << level)).min(size);
    range_hash(s, start, end)
}

/// RFC 6962 `PROOF(m, D[n])`: the nodes showing that the tree of `old`
/// leaves is a prefix of the tree of `new` leaves. Empty when `old` is 0
/// or equal to `new`.
pub fn consistency_proof<S: Subtrees>(
    s: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old > new || new > MAX_SIZE {
        return Err(ProofError::Sizes { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    ct_merkle::indices_for_consistency_proof(old, new - old)
        .into_iter()
        .map(|i| ct_node(s, i, new).map_err(ProofError::Source))
        .collect()
}

/// RFC 6962 `PATH(m, D[n])`: the nodes showing that leaf `index` is in
/// the tree of `size` leaves.
pub fn inclusion_proof<S: Subtrees>(
    s: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size || size > MAX_SIZE {
        return Err(ProofError::Sizes {
            old: index,
            new: size,
        });
    }
    ct_merkle::indices_for_inclusion_proof(size, index)
        .into_iter()
        .map(|i| ct_node(s, i, size).map_err(ProofError::Source))
        .collect()
}

fn ct_root(root: &Hash, size: u64) -> RootHash<Sha256> {
    RootHash::new((*root).into(), size)
}

/// Checks that the tree (`old`, `old_root`) is a prefix of (`new`,
/// `new_root`). Never panics, whatever the input.
pub fn verify_consistency(
    old: u64,
    old_root: &Hash,
    new: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError<std::convert::Infallible>> {
    if old > new || new > MAX_SIZE {
        return Err(ProofError::Sizes { old, new });
    }
    if old == 0 {
        // Every tree extends the empty one.
        return if proof.is_empty() && *old_root == empty_root() {
            Ok(())
        } else {
            Err(ProofError::Invalid)
        };
    }
    if old == new {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Invalid)
        };
    }
    let proof = ConsistencyProof::<Sha256>::from_digests(proof.iter().map(|h| h.into()));
    ct_root(new_root, new)
        .verify_consistency(&ct_root(old_root, old), &proof)
        .map_err(|_| ProofError::Invalid)
}

/// Checks that `entry` (its canonical bytes) is leaf `index` of the tree
/// (`size`, `root`). Never panics, whatever the input.
pub fn verify_inclusion(
    entry: &[u8],
    index: u64,
    size: u64,
    root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError<std::convert::Infallible>> {
    if index >= size || size > MAX_SIZE {
        return Err(ProofError::Sizes {
            old: index,
            new: size,
        });
    }
    let proof = InclusionProof::<Sha256>::from_digests(proof.iter().map(|h| h.into()));
    ct_root(root, size)
        .verify_inclusion(&entry, index, &proof)
        .map_err(|_| ProofError::Invalid)
}

/// The right edge of a tree being built leaf by leaf: the perfect subtrees
/// that cover `[start, size)`, largest first (a "compact range"). It gives
/// the root at any moment in O(log n) memory, reports each perfect subtree
/// as it completes (what the node stores), and lets an export verifier
/// start mid-log from the subtrees that cover the entries before it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    /// `(level, hash)`, levels strictly decreasing.
    stack: Vec<(u8, Hash)>,
}

/// A subtree pushed onto a [`Frontier`] whose end is not aligned to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the subtree is not aligned with the end of the tree")]
pub struct Misaligned;

/// The aligned perfect subtrees `(level, index)` that exactly cover leaves
/// `[start, end)`, left to right: the largest block that starts at each
/// position and fits.
pub fn cover(start: u64, end: u64) -> Vec<(u8, u64)> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let align = if at == 0 { 63 } else { at.trailing_zeros() };
        let fits = 63 - (end - at).leading_zeros();
        let level = align.min(fits);
        out.push((level as u8, at >> level));
        at += 1u64 << level;
    }
    out
}

impl Frontier {
    /// The frontier of the tree of `size` leaves, from its perfect
    /// subtrees (the [`cover`] of `[0, size)`).
    pub fn at<S: Subtrees>(s: &S, size: u64) -> Result<Frontier, S::Error> {
        let mut stack = Vec::new();
        for (level, index) in cover(0, size) {
            stack.push((level, s.subtree(level, index)?));
        }
        Ok(Frontier { size, stack })
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next leaf's hash. Returns every perfect subtree it
    /// completes, `(level, index, hash)`, the leaf itself first.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let index = self.size;
        let mut done = vec![(0u8, index, leaf)];
        self.absorb(0, leaf, |level, hash| {
            done.push((level, index >> level, hash))
        });
        done
    }

    /// Adds a whole perfect subtree at the current end. Fails (changing
    /// nothing) unless the end is aligned to it.
    pub fn push_subtree(&mut self, level: u8, hash: Hash) -> Result<(), Misaligned> {
        if level >= 63 || self.size % (1u64 << level) != 0 {
            return Err(Misaligned);
        }
        if let Some(&(top, _)) = self.stack.last() {
            if top < level {
                return Err(Misaligned);
            }
        }
        self.absorb(level, hash, |_, _| {});
        Ok(())
    }

    /// Puts a perfect subtree of `level` at the end, merging it with equal
    /// left siblings; `merged` sees each parent made, `(level, hash)`.
    fn absorb(&mut self, level: u8, hash: Hash, mut merged: impl FnMut(u8, Hash)) {
        self.size += 1u64 << level;
        let (mut level, mut hash) = (level, hash);
        while let Some(&(top, left)) = self.stack.last() {
            if top != level {
                break;
            }
            self.stack.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            merged(level, hash);
        }
        self.stack.push((level, hash));
    }

    /// The tree's root now.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(&(_, last)) => iter.fold(last, |right, (_, left)| node_hash(left, &right)),
        }
    }
}
