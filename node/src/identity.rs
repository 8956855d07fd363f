//! The agency's key files: created once by `liaison init`, read at start.
//!
//! `KEY_DIR/agency.ed25519` and `KEY_DIR/sealing.x25519`, each mode 0600 in
//! a folder of mode 0700, created with `O_EXCL` so an existing identity is
//! never overwritten, and with the mode set at creation so the secret is
//! never readable by others, not even for a moment. A key file that others
//! can read is refused at load, as ssh does.

use crate::files::FileError;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use liaison_protocol::keys::{self, AgencyKey, SealingKey, SigningKey};
use rand_core::CryptoRngCore;

const SIGNING_FILE: &str = "agency.ed25519";
const SEALING_FILE: &str = "sealing.x25519";

/// Why the identity could not be created or read. Never holds key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `init` found keys already there.
    #[error("{} already exists: this folder already has an agency identity; refusing to overwrite it (move it away first if you really mean to replace the agency's keys)", path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// A key file could not be read or written.
    #[error(transparent)]
    Io(#[from] FileError),
    /// A key file is readable by others.
    #[error("{} is readable by other users (mode {mode:o}): run `chmod 600 {}` (and `chmod 700` its folder)", path.display(), path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The key folder can be entered or read by other users.
    #[error("{} is mode {mode:o}: other local users could list or reach the agency's keys; run `chmod 700 {}`", path.display(), path.display())]
    FolderPermissions {
        /// The folder.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// A key file's content is not a key.
    #[error("{}: {source}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: keys::Error,
    },
}

/// The agency's secret keys.
#[derive(Debug)]
pub struct Identity {
    /// Signs everything the agency sends.
    pub signing: SigningKey,
    /// Opens what peers seal to the agency.
    pub sealing: SealingKey,
}

impl Identity {
    /// The public card peers add.
    pub fn agency_key(&self) -> AgencyKey {
        AgencyKey::new(&self.signing, &self.sealing)
    }

    /// The libp2p PeerId, derived from the signing key.
    pub fn peer_id(&self) -> libp2p_identity::PeerId {
        peer_id(&self.agency_key())
    }

    /// Creates new keys in `dir`; fails if either file exists.
    pub fn create(dir: &Path, rng: &mut impl CryptoRngCore) -> Result<Identity, Error> {
        let identity = Identity {
            signing: SigningKey::generate(rng),
            sealing: SealingKey::generate(rng),
        };
        identity.write(dir)?;
        Ok(identity)
    }

    /// Writes these keys to `dir`; fails if either file exists.
    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        for name in [SIGNING_FILE, SEALING_FILE] {
            let path = dir.join(name);
            if path.exists() {
                return Err(Error::Exists { path });
            }
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(FileError::at(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(FileError::at(dir))?;
        for (name, text) in [
            (SIGNING_FILE, self.signing.to_file_text()),
            (SEALING_FILE, self.sealing.to_file_text()),
        ] {
            let path = dir.join(name);
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|source| match source.kind() {
                    std::io::ErrorKind::AlreadyExists => Error::Exists { path: path.clone() },
                    _ => FileError::at(&path)(source).into(),
                })?;
            file.write_all(text.as_bytes())
                .map_err(FileError::at(&path))?;
            file.sync_all().map_err(FileError::at(&path))?;
        }
        Ok(())
    }

    /// Reads the keys from `dir`.
    pub fn load(dir: &Path) -> Result<Identity, Error> {
        let open = crate::files::open_to_others(dir).map_err(FileError::at(dir))?;
        if let Some(mode) = open {
            return Err(Error::FolderPermissions {
                path: dir.to_owned(),
                mode,
            });
        }
        let read = |name: &str| -> Result<(PathBuf, zeroize::Zeroizing<String>), Error> {
            let path = dir.join(name);
            let meta = fs::metadata(&path).map_err(FileError::at(&path))?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::Permissions { path, mode });
            }
            let text = fs::read_to_string(&path).map_err(FileError::at(&path))?;
            Ok((path, zeroize::Zeroizing::new(text)))
        };
        let (path, text) = read(SIGNING_FILE)?;
        let signing =
            SigningKey::from_file_text(&text).map_err(|source| Error::Key { path, source })?;
        let (path, text) = read(SEALING_FILE)?;
        let sealing =
            SealingKey::from_file_text(&text).map_err(|source| Error::Key { path, source })?;
        Ok(Identity { signing, sealing })
    }
}

/// The libp2p PeerId of an agency.
pub fn peer_id(key: &AgencyKey) -> libp2p_identity::PeerId {
    let public =
        libp2p_identity::ed25519::PublicKey::try_from_bytes(key.verifying_key().as_bytes())
            .expect("an agency key's ed25519 key was validated when it was read");
    libp2p_identity::PublicKey::from(public).to_peer_id()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn keys_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let created = Identity::create(&keys, &mut OsRng).unwrap();
        for name in [SIGNING_FILE, SEALING_FILE] {
            let mode = fs::metadata(keys.join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        assert_eq!(
            fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let loaded = Identity::load(&keys).unwrap();
        assert_eq!(loaded.agency_key(), created.agency_key());
        assert_eq!(loaded.peer_id(), created.peer_id());

        let before = fs::read(keys.join(SIGNING_FILE)).unwrap();
        assert!(matches!(
            Identity::create(&keys, &mut OsRng),
            Err(Error::Exists { .. })
        ));
        assert_eq!(
            fs::read(keys.join(SIGNING_FILE)).unwrap(),
            before,
            "untouched"
        );

        fs::set_permissions(keys.join(SEALING_FILE), fs::Permissions::from_mode(0o644)).unwrap();
        let e = Identity::load(&keys).unwrap_err();
        assert!(matches!(e, Error::Permissions { mode: 0o644, .. }), "{e}");
        assert!(e.to_string().contains("chmod 600"));
    }

    #[test]
    fn errors_and_debug_never_show_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let id = Identity::create(dir.path(), &mut OsRng).unwrap();
        let secret = fs::read_to_string(dir.path().join(SIGNING_FILE)).unwrap();
        let secret_line = secret.lines().nth(1).unwrap();
        assert!(!format!("{id:?}").contains(secret_line));
        fs::write(
            dir.path().join(SIGNING_FILE),
            format!("garbage\n{secret_line}\n"),
        )
        .unwrap();
        let e = Identity::load(dir.path()).unwrap_err().to_string();
        assert!(!e.contains(secret_line), "{e}");
    }
}
