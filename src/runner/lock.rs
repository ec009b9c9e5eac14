//! The run lock: two wizard processes must never drive the same install dir.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use thiserror::Error;

use crate::actors::persist::{files, prepare_state_dir};

/// Why the lock could not be taken.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another wizard holds it.
    #[error("another wizard is already running in {0} (its lock is {0}/{lock}); wait for it to finish", lock = files::LOCK)]
    Busy(PathBuf),
    /// The state folder cannot be written.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// An exclusive lock on `<installDir>/.posthog-wizard/`, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock on `state_dir`, creating the folder if needed.
    pub fn acquire(state_dir: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: state_dir.to_path_buf(),
            source,
        };
        prepare_state_dir(state_dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(state_dir.join(files::LOCK))
            .map_err(io)?;
        match file.try_lock_exclusive() {
            Ok(true) => Ok(Self { _file: file }),
            Ok(false) => Err(LockError::Busy(state_dir.to_path_buf())),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                Err(LockError::Busy(state_dir.to_path_buf()))
            }
            Err(e) => Err(io(e)),
        }
    }
}
