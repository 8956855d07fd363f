//! The owner's OPRF keys, one per (peer, epoch), and their destruction.
//!
//! The key folder holds one file, `oprf.ratchet` (0600): an epoch number
//! `e` and a 32-byte chain value `c_e`. The chain moves forward by hashing,
//! `c_{e+1} = SHA-256("liaison oprf ratchet" ‖ c_e)`, and the key for a
//! peer and selector kind in epoch `e` is RFC 9497's
//! `DeriveKeyPair(SHA-256("liaison oprf key" ‖ c_e ‖ peer ‖ kind),
//! "liaison/oprf/v1")`. Destroying every key of the
//! epochs before `e` is replacing the file with `c_e`: the hash cannot be
//! run backwards, so no copy of the store or of the new file recovers them.
//! (Blocks the old file occupied on disk are the file system's to reuse;
//! an agency that needs more puts the key folder on an encrypted volume.)

use crate::files::FileError;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use liaison_protocol::oprf::ServerKey;
use liaison_protocol::SelectorKind;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// The file's name in the key folder.
pub const FILE: &str = "oprf.ratchet";

/// Why the ratchet could not be read or moved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the file failed.
    #[error(transparent)]
    Io(#[from] FileError),
    /// The file is not a ratchet.
    #[error("{} is damaged: expected `EPOCH HEX64` on one line; restore it from backup (deleting it starts new keys, which peers refuse until the next epoch, because they hold this epoch's already)", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
    },
}

/// The chain at its oldest kept epoch.
pub struct Ratchet {
    path: PathBuf,
    epoch: u64,
    chain: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Ratchet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ratchet")
            .field("path", &self.path)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

fn step(chain: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(
        Sha256::new_with_prefix(b"liaison oprf ratchet")
            .chain_update(chain)
            .finalize()
            .into(),
    )
}

impl Ratchet {
    /// Opens the ratchet in `key_dir`, creating it at `epoch` with a fresh
    /// random chain if there is none.
    pub fn open(key_dir: &Path, epoch: u64) -> Result<Ratchet, Error> {
        let path = key_dir.join(FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                let damaged = || Error::Damaged { path: path.clone() };
                let (e, hex) = text.trim().split_once(' ').ok_or_else(damaged)?;
                let epoch = e.parse().map_err(|_| damaged())?;
                let chain = Zeroizing::new(crate::hex::decode::<32>(hex).ok_or_else(damaged)?);
                Ok(Ratchet { path, epoch, chain })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut chain = Zeroizing::new([0u8; 32]);
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, chain.as_mut());
                let r = Ratchet { path, epoch, chain };
                r.save()?;
                Ok(r)
            }
            Err(source) => Err(FileError { path, source }.into()),
        }
    }

    /// The oldest epoch whose keys still exist.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The key for `peer`'s selectors of `kind` in `epoch`, or `None` if
    /// that epoch's keys are destroyed (or it is absurdly far ahead).
    pub fn key(&self, peer: &[u8; 32], epoch: u64, kind: SelectorKind) -> Option<ServerKey> {
        if epoch < self.epoch || epoch - self.epoch > 4 {
            return None;
        }
        let mut chain = self.chain.clone();
        for _ in self.epoch..epoch {
            chain = step(&chain);
        }
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            Sha256::new_with_prefix(b"liaison oprf key")
                .chain_update(chain.as_ref())
                .chain_update(peer)
                .chain_update([kind.code()])
                .finalize()
                .into(),
        );
        ServerKey::from_seed(&seed, b"liaison/oprf/v1").ok()
    }

    /// Destroys every key of the epochs before `epoch`. Returns whether
    /// anything was destroyed.
    pub fn forget_before(&mut self, epoch: u64) -> Result<bool, Error> {
        if epoch <= self.epoch {
            return Ok(false);
        }
        let mut chain = self.chain.clone();
        // A node off for longer than the chain is long: start a new one.
        if epoch - self.epoch > 100_000 {
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, chain.as_mut());
        } else {
            for _ in self.epoch..epoch {
                chain = step(&chain);
            }
        }
        let before = (self.epoch, self.chain.clone());
        self.epoch = epoch;
        self.chain = chain;
        if let Err(e) = self.save() {
            (self.epoch, self.chain) = before;
            return Err(e);
        }
        Ok(true)
    }

    /// Writes the file: a new file beside it, synced, renamed over it, and
    /// the folder synced, so a crash leaves the old chain or the new one.
    fn save(&self) -> Result<(), Error> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let tmp = self.path.with_extension("new");
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(FileError::at(&tmp))?;
        let mut text = Zeroizing::new(format!("{} ", self.epoch));
        for b in self.chain.iter() {
            text.push_str(&format!("{b:02x}"));
        }
        text.push('\n');
        f.write_all(text.as_bytes()).map_err(FileError::at(&tmp))?;
        f.sync_all().map_err(FileError::at(&tmp))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))
            .map_err(FileError::at(&tmp))?;
        fs::rename(&tmp, &self.path).map_err(FileError::at(&self.path))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(FileError::at(dir))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SelectorKind = SelectorKind::Phone;

    #[test]
    fn keys_are_per_peer_and_epoch_and_gone_once_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Ratchet::open(dir.path(), 100).unwrap();
        let mode = fs::metadata(dir.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let pk = |k: Option<ServerKey>| k.unwrap().public_key();
        let a100 = pk(r.key(&[1; 32], 100, P));
        let a101 = pk(r.key(&[1; 32], 101, P));
        assert_ne!(a100, a101);
        assert_ne!(a100, pk(r.key(&[2; 32], 100, P)));
        assert_ne!(a100, pk(r.key(&[1; 32], 100, SelectorKind::PersonFull)));
        // The same keys after a reopen.
        let again = Ratchet::open(dir.path(), 555).unwrap();
        assert_eq!(again.epoch(), 100);
        assert_eq!(pk(again.key(&[1; 32], 100, P)), a100);
        // Forgetting 100 keeps 101 and loses 100, also after a reopen.
        assert!(r.forget_before(101).unwrap());
        assert!(r.key(&[1; 32], 100, P).is_none());
        assert_eq!(pk(r.key(&[1; 32], 101, P)), a101);
        let reopened = Ratchet::open(dir.path(), 0).unwrap();
        assert!(reopened.key(&[1; 32], 100, P).is_none());
        assert_eq!(pk(reopened.key(&[1; 32], 101, P)), a101);
        // The file never holds the old chain value.
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(text.starts_with("101 "));
        fs::write(dir.path().join(FILE), "nonsense").unwrap();
        let e = Ratchet::open(dir.path(), 0).unwrap_err().to_string();
        assert!(
            e.contains("oprf.ratchet") && e.contains("EPOCH HEX64"),
            "{e}"
        );
    }
}
