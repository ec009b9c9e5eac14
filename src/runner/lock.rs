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

/// How long a held lock is waited for before the folder counts as busy.
const BUSY_GRACE: std::time::Duration = std::time::Duration::from_millis(1500);

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
        // A wizard killed a moment ago may leave the lock held for an instant by a child
        // it was starting (fork before exec): wait briefly before calling the folder busy.
        let deadline = std::time::Instant::now() + BUSY_GRACE;
        loop {
            match file.try_lock_exclusive() {
                Ok(true) => return Ok(Self { _file: file }),
                Ok(false) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(io(e)),
            }
            if std::time::Instant::now() >= deadline {
                return Err(LockError::Busy(state_dir.to_path_buf()));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
