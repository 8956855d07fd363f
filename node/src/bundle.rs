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
use std::io::{BufReader, BufWriter, Read, Seek as _, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use liaison_protocol::envelope::{self, Outcome, Receipt};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::files::FileError;
use crate::post::{self, Post};
use crate::router::Router;
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
    #[error(transparent)]
    Io(#[from] FileError),
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
    /// An envelope could not be applied (nothing of it was).
    #[error(transparent)]
    Apply(#[from] crate::router::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// Writes a bundle entry by entry; the count in the header is filled in
/// by [`Writer::finish`]. Refuses to overwrite a file. Mode 0600.
struct Writer<'p> {
    w: BufWriter<fs::File>,
    path: &'p Path,
    count: u32,
}

/// Offset of the count in the header.
const COUNT_AT: u64 = (MAGIC.len() + 2 + 32 + 32) as u64;

impl<'p> Writer<'p> {
    fn create(
        path: &'p Path,
        kind: Kind,
        from: &[u8; 32],
        to: &[u8; 32],
    ) -> Result<Writer<'p>, Error> {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(FileError::at(path))?;
        let mut w = BufWriter::new(file);
        let head = [MAGIC, &[VERSION, kind as u8], from, to, &[0u8; 4]].concat();
        w.write_all(&head).map_err(FileError::at(path))?;
        Ok(Writer { w, path, count: 0 })
    }

    fn push(&mut self, frame: &[u8]) -> Result<(), Error> {
        self.w
            .write_all(&(frame.len() as u32).to_be_bytes())
            .and_then(|()| self.w.write_all(frame))
            .map_err(FileError::at(self.path))?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<u32, Error> {
        let path = self.path;
        let mut file = self
            .w
            .into_inner()
            .map_err(|e| FileError::at(path)(e.into_error()))?;
        file.seek(SeekFrom::Start(COUNT_AT))
            .map_err(FileError::at(path))?;
        file.write_all(&self.count.to_be_bytes())
            .map_err(FileError::at(path))?;
        file.sync_all().map_err(FileError::at(path))?;
        Ok(self.count)
    }
}

/// Reads a bundle entry by entry, checking every length against its cap
/// before reading it, so memory holds one entry at a time.
pub struct Reader {
    r: BufReader<fs::File>,
    path: PathBuf,
    /// What it carries.
    pub kind: Kind,
    /// Who wrote it.
    pub from: [u8; 32],
    /// For whom.
    pub to: [u8; 32],
    count: u32,
    next: u32,
    max: usize,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Reader {
    fn bad(&self, problem: String) -> Error {
        Error::Format {
            path: self.path.clone(),
            problem,
        }
    }

    fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), Error> {
        if self.r.read_exact(buf).is_err() {
            return Err(self.bad(format!("ends inside {what}: the file is truncated")));
        }
        Ok(())
    }

    /// Opens a bundle and reads its header.
    pub fn open(path: &Path) -> Result<Reader, Error> {
        let file = fs::File::open(path).map_err(FileError::at(path))?;
        let mut reader = Reader {
            r: BufReader::new(file),
            path: path.to_owned(),
            kind: Kind::Envelopes,
            from: [0; 32],
            to: [0; 32],
            count: 0,
            next: 0,
            max: 0,
        };
        let mut magic = [0u8; 15];
        reader.exact(&mut magic, "the header")?;
        if magic != MAGIC {
            return Err(
                reader.bad("not a Liaison bundle (it does not start with LIAISON-BUNDLE)".into())
            );
        }
        let mut head = [0u8; 2 + 32 + 32 + 4];
        reader.exact(&mut head, "the header")?;
        if head[0] != VERSION {
            return Err(reader.bad(format!(
                "bundle version {} is not supported (this liaison reads {VERSION})",
                head[0]
            )));
        }
        (reader.kind, reader.max) = match head[1] {
            1 => (Kind::Envelopes, envelope::MAX_ENVELOPE),
            2 => (Kind::Receipts, MAX_RECEIPT),
            k => return Err(reader.bad(format!("unknown bundle kind {k}"))),
        };
        reader.from.copy_from_slice(&head[2..34]);
        reader.to.copy_from_slice(&head[34..66]);
        reader.count = u32::from_be_bytes([head[66], head[67], head[68], head[69]]);
        if reader.count > MAX_FRAMES {
            return Err(reader.bad(format!(
                "claims {} entries, over the limit of {MAX_FRAMES}",
                reader.count
            )));
        }
        Ok(reader)
    }

    /// The next entry, or `None` after the last (having checked that no
    /// bytes follow it).
    pub fn next_entry(&mut self) -> Result<Option<Vec<u8>>, Error> {
        if self.next == self.count {
            let mut rest = [0u8; 1];
            if self.r.read(&mut rest).map_err(FileError::at(&self.path))? != 0 {
                return Err(self.bad(format!(
                    "bytes follow the last of its {} entries",
                    self.count
                )));
            }
            return Ok(None);
        }
        let i = self.next;
        let mut len = [0u8; 4];
        self.exact(&mut len, &format!("entry {i}"))?;
        let len = u32::from_be_bytes(len) as usize;
        if len > self.max {
            return Err(self.bad(format!(
                "entry {i} is {len} bytes, over the limit of {}",
                self.max
            )));
        }
        let mut frame = vec![0u8; len];
        self.exact(&mut frame, &format!("entry {i}"))?;
        self.next += 1;
        Ok(Some(frame))
    }
}

/// Writes every envelope waiting for `peer` to `out`. Returns how many.
pub fn export(post: &Post, peer: &str, out: &Path) -> Result<u32, Error> {
    let peer = post.peer(peer)?;
    let key = peer.key.verifying_key();
    let mailbox = Mailbox::new(post.store());
    let me = post.identity().signing.verifying_key();
    let mut w = Writer::create(out, Kind::Envelopes, me.as_bytes(), key.as_bytes())?;
    mailbox.scan_outbox(key, 0, |_, envelope| w.push(envelope).map(|()| true))?;
    w.finish()
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
pub fn import(router: &Router, file: &Path, receipts_out: &Path) -> Result<Imported, Error> {
    let post = router.post();
    let mut reader = Reader::open(file)?;
    let me = post.identity().signing.verifying_key();
    if reader.to != *me.as_bytes() {
        return Err(reader.bad("addressed to another agency: nothing imported".into()));
    }
    let from = VerifyingKey::from_bytes(&reader.from)
        .map_err(|_| reader.bad("its sender key is not an ed25519 key".into()))?;
    let mut done = Imported::default();
    match reader.kind {
        Kind::Envelopes => {
            let mut receipts =
                Writer::create(receipts_out, Kind::Receipts, me.as_bytes(), &reader.from)?;
            while let Some(frame) = reader.next_entry()? {
                let r = router.receive(None, &frame)?;
                match r.outcome {
                    Outcome::Accepted => done.accepted += 1,
                    Outcome::Duplicate => done.duplicates += 1,
                    Outcome::Refused(_) => done.refused += 1,
                }
                receipts.push(&r.receipt)?;
            }
            receipts.finish()?;
            done.receipts = Some(receipts_out.to_owned());
        }
        Kind::Receipts => {
            let peer = post.peer_by_key(&from).ok_or_else(|| {
                reader.bad("from an agency this node does not trust: nothing imported".into())
            })?;
            // Outbox entries by envelope hash: 40 bytes each in memory,
            // envelopes read again one at a time when a receipt names them.
            let mailbox = Mailbox::new(post.store());
            let mut by_hash: HashMap<[u8; 32], u64> = HashMap::new();
            mailbox.scan_outbox(&from, 0, |seq, envelope| {
                by_hash.insert(Sha256::digest(envelope).into(), seq);
                Ok::<_, Error>(true)
            })?;
            while let Some(frame) = reader.next_entry()? {
                let Ok(receipt) = Receipt::decode(&frame) else {
                    done.invalid += 1;
                    continue;
                };
                let Some(&seq) = by_hash.get(&receipt.envelope_hash) else {
                    done.duplicates += 1;
                    continue;
                };
                let Some(p) = mailbox
                    .pending(&from, seq, 1)?
                    .pop()
                    .filter(|p| p.seq == seq)
                else {
                    done.duplicates += 1;
                    continue;
                };
                match post.confirm(&peer, seq, &p.envelope, &frame) {
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

    fn write_sample(path: &Path) {
        let mut w = Writer::create(path, Kind::Receipts, &[1; 32], &[2; 32]).unwrap();
        for f in sample() {
            w.push(&f).unwrap();
        }
        assert_eq!(w.finish().unwrap(), 3);
    }

    fn sample() -> Vec<Vec<u8>> {
        vec![b"first".to_vec(), Vec::new(), vec![9; 300]]
    }

    fn read_all(path: &Path) -> Result<(Reader, Vec<Vec<u8>>), Error> {
        let mut r = Reader::open(path)?;
        let mut frames = Vec::new();
        while let Some(f) = r.next_entry()? {
            frames.push(f);
        }
        Ok((r, frames))
    }

    #[test]
    fn round_trip_and_every_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        write_sample(&path);
        // Never overwrites.
        assert!(matches!(
            Writer::create(&path, Kind::Receipts, &[1; 32], &[2; 32]),
            Err(Error::Io(_))
        ));
        let (r, frames) = read_all(&path).unwrap();
        assert_eq!((r.kind, r.from, r.to), (Kind::Receipts, [1; 32], [2; 32]));
        assert_eq!(frames, sample());

        let bytes = fs::read(&path).unwrap();
        let damaged = dir.path().join("d");
        let check = |bytes: &[u8], want: &str| {
            fs::write(&damaged, bytes).unwrap();
            match read_all(&damaged) {
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
        // A receipt entry over its cap, refused from the length alone.
        let mut big = bytes[..COUNT_AT as usize].to_vec();
        big.extend_from_slice(&1u32.to_be_bytes());
        big.extend_from_slice(&u32::MAX.to_be_bytes());
        check(&big, "over the limit");
        let mut many = bytes[..COUNT_AT as usize].to_vec();
        many.extend_from_slice(&u32::MAX.to_be_bytes());
        check(&many, "over the limit");
    }
}
