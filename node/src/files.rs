//! The node's own files: the one error for a file that could not be read
//! or written, and the check that a folder is the service account's
//! alone (the key folder and the store refuse to start otherwise). At the
//! bottom of the house: nothing here imports the rest of the node.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// A file or folder that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    /// The file or folder.
    pub path: PathBuf,
    /// The system's error.
    pub source: std::io::Error,
}

impl FileError {
    /// What turns an I/O error on `path` into a [`FileError`] naming it.
    pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
        move |source| FileError {
            path: path.to_owned(),
            source,
        }
    }
}

/// The mode bits (`0o777`) of `path` when other users may enter or read
/// it (group or other bits set), `None` when only its owner may.
pub fn open_to_others(path: &Path) -> std::io::Result<Option<u32>> {
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    Ok((mode & 0o077 != 0).then_some(mode))
}
