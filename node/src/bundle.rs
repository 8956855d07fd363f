//! Air-gapped exchange: the same signed envelopes and receipts, carried
//! on removable media instead of libp2p.
//!
//! `liaison export-bundle --peer N --out FILE` writes every envelope
//! waiting in N's outbox (they stay there until receipted). At N,
//! `liaison import-bundle FILE` opens each with the same checks as the
//! network path, applies it once, and writes the signed receipts to
//! `FILE.receipts`; carried back, `import-bundle FILE.receipts` takes the
//! receipted envelopes out of the outbox. Importing a bundle twice
//! applies nothing twice.
//!
//! File layout (big-endian): `LIAISON-BUNDLE\n` ‖ version (1) ‖ kind (1
//! envelopes, 2 receipts) ‖ producer's ed25519 key (32) ‖ recipient's key
//! (32) ‖ count (u32) ‖ count × (length u32 ‖ bytes). The header is only
//! for routing and early refusal: each envelope and receipt is signed on
//! its own.

use std::collections::HashMap;
use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use liaison_protocol::envelope::{self, Outcome, Receipt};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::post::{self, Post};
use crate::store::mailbox::Mailbox;

const MAGIC: &[u8] = b"LIAISON-BUNDLE\n";
const VERSION: u8 = 1;
/// Most frames in one bundle.
const MAX_FRAMES: u32 = 1_000_000;
/// Largest receipt frame.
const MAX_RECEIPT: usize = 4096;

/// What a bundle carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Sealed envelopes for the recipient to import.
    Envelopes = 1,
    /// Signed receipts for the envelopes' sender.
    Receipts = 2,
}

/// Errors reading, writing or applying a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a bundle, or a damaged one.
    #[error("{}: {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong (and where).
        problem: String,
    },
    /// The envelope layer failed.
    #[error(transparent)]
    Post(#[from] post::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// A bundle read from a file.
#[derive(Debug)]
pub struct Bundle {
    /// What it carries.
    pub kind: Kind,
    /// Who wrote it.
    pub from: [u8; 32],
    /// For whom.
    pub to: [u8; 32],
    /// The envelopes or receipts.
    pub frames: Vec<Vec<u8>>,
}

/// Writes a bundle; refuses to overwrite an existing file. Mode 0600.
pub fn write(path: &Path, bundle: &Bundle) -> Result<(), Error> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    let mut w = BufWriter::new(file);
    let mut put = |bytes: &[u8]| w.write_all(bytes).map_err(io(path));
    put(MAGIC)?;
    put(&[VERSION, bundle.kind as u8])?;
    put(&bundle.from)?;
    put(&bundle.to)?;
    put(&(bundle.frames.len() as u32).to_be_bytes())?;
    for f in &bundle.frames {
        put(&(f.len() as u32).to_be_bytes())?;
        put(f)?;
    }
    let file = w.into_inner().map_err(|e| io(path)(e.into_error()))?;
    file.sync_all().map_err(io(path))
}

/// Reads a bundle, checking every length against its cap before reading.
pub fn read(path: &Path) -> Result<Bundle, Error> {
    let file = fs::File::open(path).map_err(io(path))?;
    let mut r = BufReader::new(file);
    let bad = |problem: String| Error::Format {
        path: path.to_owned(),
        problem,
    };
    let mut exact = |buf: &mut [u8], what: &str| {
        r.read_exact(buf)
            .map_err(|_| bad(format!("ends inside {what}: the file is truncated")))
    };
    let mut magic = [0u8; 15];
    exact(&mut magic, "the header")?;
    if magic != MAGIC {
        return Err(bad(
            "not a Liaison bundle (it does not start with LIAISON-BUNDLE)".into(),
        ));
    }
    let mut head = [0u8; 2 + 32 + 32 + 4];
    exact(&mut head, "the header")?;
    if head[0] != VERSION {
        return Err(bad(format!(
            "bundle version {} is not supported (this liaison reads {VERSION})",
            head[0]
        )));
    }
    let kind = match head[1] {
        1 => Kind::Envelopes,
        2 => Kind::Receipts,
        k => return Err(bad(format!("unknown bundle kind {k}"))),
    };
    let mut from = [0u8; 32];
    from.copy_from_slice(&head[2..34]);
    let mut to = [0u8; 32];
    to.copy_from_slice(&head[34..66]);
    let count = u32::from_be_bytes([head[66], head[67], head[68], head[69]]);
    if count > MAX_FRAMES {
        return Err(bad(format!(
            "claims {count} entries, over the limit of {MAX_FRAMES}"
        )));
    }
    let max = match kind {
        Kind::Envelopes => envelope::MAX_ENVELOPE,
        Kind::Receipts => MAX_RECEIPT,
    };
    let mut frames = Vec::new();
    for i in 0..count {
        let mut len = [0u8; 4];
        exact(&mut len, &format!("entry {i}"))?;
        let len = u32::from_be_bytes(len) as usize;
        if len > max {
            return Err(bad(format!(
                "entry {i} is {len} bytes, over the limit of {max}"
            )));
        }
        let mut frame = vec![0u8; len];
        exact(&mut frame, &format!("entry {i}"))?;
        frames.push(frame);
    }
    let mut rest = [0u8; 1];
    if r.read(&mut rest).map_err(io(path))? != 0 {
        return Err(bad(format!("bytes follow the last of its {count} entries")));
    }
    Ok(Bundle {
        kind,
        from,
        to,
        frames,
    })
}

/// Writes every envelope waiting for `peer` to `out`. Returns how many.
pub fn export(post: &Post, peer: &str, out: &Path) -> Result<usize, Error> {
    let peer = post.peer(peer)?;
    let pending = Mailbox::new(post.store()).pending(peer.key.verifying_key(), 0, usize::MAX)?;
    let n = pending.len();
    write(
        out,
        &Bundle {
            kind: Kind::Envelopes,
            from: *post.identity().signing.verifying_key().as_bytes(),
            to: *peer.key.verifying_key().as_bytes(),
            frames: pending.into_iter().map(|p| p.envelope).collect(),
        },
    )?;
    Ok(n)
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Imported {
    /// Envelopes applied, or receipts that emptied an outbox entry.
    pub accepted: u64,
    /// Envelopes applied before (or receipts for entries already gone).
    pub duplicates: u64,
    /// Envelopes refused (each with a signed refusal receipt), or
    /// receipts in which the peer refused our envelope.
    pub refused: u64,
    /// Receipts that did not verify (kept out of the store).
    pub invalid: u64,
    /// Where the receipts for imported envelopes were written.
    pub receipts: Option<PathBuf>,
}

/// Imports a bundle addressed to this node: envelopes are applied and
/// their receipts written to `receipts_out`; receipts confirm the outbox.
pub fn import(post: &Post, file: &Path, receipts_out: &Path) -> Result<Imported, Error> {
    let bundle = read(file)?;
    let me = post.identity().signing.verifying_key();
    let bad = |problem: String| Error::Format {
        path: file.to_owned(),
        problem,
    };
    if bundle.to != *me.as_bytes() {
        return Err(bad("addressed to another agency: nothing imported".into()));
    }
    let from = VerifyingKey::from_bytes(&bundle.from)
        .map_err(|_| bad("its sender key is not an ed25519 key".into()))?;
    let mut done = Imported::default();
    match bundle.kind {
        Kind::Envelopes => {
            let mut receipts = Vec::with_capacity(bundle.frames.len());
            for frame in &bundle.frames {
                let r = post.receive(None, frame)?;
                match r.outcome {
                    Outcome::Accepted => done.accepted += 1,
                    Outcome::Duplicate => done.duplicates += 1,
                    Outcome::Refused(_) => done.refused += 1,
                }
                receipts.push(r.receipt);
            }
            write(
                receipts_out,
                &Bundle {
                    kind: Kind::Receipts,
                    from: *me.as_bytes(),
                    to: bundle.from,
                    frames: receipts,
                },
            )?;
            done.receipts = Some(receipts_out.to_owned());
        }
        Kind::Receipts => {
            let peer = post.peer_by_key(&from).ok_or_else(|| {
                bad("from an agency this node does not trust: nothing imported".into())
            })?;
            // The outbox entries, by envelope hash.
            let pending = Mailbox::new(post.store()).pending(&from, 0, usize::MAX)?;
            let by_hash: HashMap<[u8; 32], _> = pending
                .into_iter()
                .map(|p| (<[u8; 32]>::from(Sha256::digest(&p.envelope)), p))
                .collect();
            for frame in &bundle.frames {
                let Ok(receipt) = Receipt::decode(frame) else {
                    done.invalid += 1;
                    continue;
                };
                let Some(p) = by_hash.get(&receipt.envelope_hash) else {
                    done.duplicates += 1;
                    continue;
                };
                match post.confirm(&peer, p.seq, &p.envelope, frame) {
                    Ok(Outcome::Refused(_)) => done.refused += 1,
                    Ok(_) => done.accepted += 1,
                    Err(post::Error::Receipt { .. }) => done.invalid += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        Bundle {
            kind: Kind::Receipts,
            from: [1; 32],
            to: [2; 32],
            frames: vec![b"first".to_vec(), Vec::new(), vec![9; 300]],
        }
    }

    #[test]
    fn round_trip_and_every_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        write(&path, &sample()).unwrap();
        // Never overwrites.
        assert!(matches!(write(&path, &sample()), Err(Error::Io { .. })));
        let back = read(&path).unwrap();
        assert_eq!(
            (back.kind, back.from, back.to),
            (Kind::Receipts, [1; 32], [2; 32])
        );
        assert_eq!(back.frames, sample().frames);

        let bytes = fs::read(&path).unwrap();
        let damaged = dir.path().join("d");
        let check = |bytes: &[u8], want: &str| {
            fs::write(&damaged, bytes).unwrap();
            match read(&damaged) {
                Err(Error::Format { problem, .. }) => {
                    assert!(problem.contains(want), "{problem:?} lacks {want:?}")
                }
                other => panic!("{other:?}"),
            }
        };
        for n in 0..bytes.len() {
            check(&bytes[..n], "");
        }
        check(&[bytes.as_slice(), b"x"].concat(), "bytes follow");
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        check(&wrong, "not a Liaison bundle");
        // A receipt frame over its cap, refused from the length alone.
        let mut big = bytes[..MAGIC.len() + 2 + 64].to_vec();
        big.extend_from_slice(&1u32.to_be_bytes());
        big.extend_from_slice(&u32::MAX.to_be_bytes());
        check(&big, "over the limit");
        let mut many = bytes[..MAGIC.len() + 2 + 64].to_vec();
        many.extend_from_slice(&u32::MAX.to_be_bytes());
        check(&many, "over the limit");
    }
}
