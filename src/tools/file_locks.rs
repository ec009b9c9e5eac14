//! One writer at a time per file.
//!
//! Tasks run side by side and two of them may change one file (a layout both
//! capture and identify touch, a shared config). `Edit` reads the file,
//! replaces a string and writes it back: two at once would both read the old
//! text, and the later write would drop the earlier edit. `Write` and `Edit`
//! hold the file's lock from before they read until their write is on disk.
//!
//! The map is process-wide and keyed by absolute path, so it covers every run
//! and branch of this process without being handed around; an entry lives only
//! while someone holds or waits for its lock.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use dashmap::DashMap;
use tokio::sync::{Mutex, OwnedMutexGuard};

static LOCKS: LazyLock<DashMap<PathBuf, Arc<Mutex<()>>>> = LazyLock::new(DashMap::new);

/// The held lock of one file; dropping it lets the next writer in.
#[derive(Debug)]
pub struct FileGuard {
    path: PathBuf,
    guard: Option<OwnedMutexGuard<()>>,
}

/// Waits until no other `Write` or `Edit` holds `path`, then holds it.
pub async fn lock(path: &Path) -> FileGuard {
    // Cloned under the map's shard lock, so a concurrent drop cannot remove it in between.
    let mutex = LOCKS.entry(path.to_path_buf()).or_default().clone();
    FileGuard {
        path: path.to_path_buf(),
        guard: Some(mutex.lock_owned().await),
    }
}

impl Drop for FileGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        // Only the map's own reference left: nobody holds or waits for it.
        LOCKS.remove_if(&self.path, |_, mutex| Arc::strong_count(mutex) == 1);
    }
}
