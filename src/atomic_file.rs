//! Writing a file so that a reader sees the old contents or the new, never half of
//! either: a temp file in the same folder, fsync, rename over the target. On error the
//! old file is untouched and the temp file is removed (tempfile deletes it on drop).
//!
//! The one place that does this: the run's state files, the report, the stored sign-in
//! and the agents' file tools all come here, and differ only in [`Access`].

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;

/// Who may read the file once it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Mode 0600 on unix, from the temp file's creation on: the run's state, the report,
    /// credentials. Never readable by others, not even before the rename.
    OwnerOnly,
    /// The user's own files: an existing file keeps its permissions (an executable
    /// script stays executable); a new one gets 0644.
    KeepOrShared,
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    write_with(path, access, Durability::Synced, |file| {
        file.write_all(bytes).map(|()| 0)
    })?;
    Ok(())
}

/// Whether the temp file is fsynced before the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Survives a power loss: the new contents are on disk before the rename.
    Synced,
    /// Survives a kill (the rename is still atomic), not always a power loss, which may
    /// leave the old or an empty file. Only for files something else can rebuild.
    Rebuildable,
}

/// Writes `value` as indented JSON, owner-only; returns the bytes written.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<u64> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write(path, &bytes, Access::OwnerOnly)?;
    Ok(bytes.len() as u64)
}

/// Like [`write_json`] without the fsync, for files the write-ahead log can rebuild: a
/// task's handoff is in `audit.jsonl`, and resume rewrites a handoff file that a power
/// loss left empty or torn. An fsync per handoff was what bounded a run's task rate on
/// disk.
pub fn write_json_rebuildable<T: Serialize>(path: &Path, value: &T) -> io::Result<u64> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write_with(path, Access::OwnerOnly, Durability::Rebuildable, |file| {
        file.write_all(&bytes).map(|()| 0)
    })?;
    Ok(bytes.len() as u64)
}

/// Like [`write_json`], as compact JSON streamed straight into the temp file: for files
/// rewritten often and read by programs (`queue.json`), where indentation would be a
/// third of the bytes and a whole copy of the file in memory would be tens of MB for a
/// large queue.
pub fn write_json_compact<T: Serialize>(path: &Path, value: &T) -> io::Result<u64> {
    write_with(path, Access::OwnerOnly, Durability::Synced, |file| {
        let mut out = CountingWriter {
            inner: BufWriter::with_capacity(64 * 1024, file),
            bytes: 0,
        };
        serde_json::to_writer(&mut out, value).map_err(io::Error::other)?;
        out.flush()?;
        Ok(out.bytes)
    })
}

/// Creates the temp file beside `path`, lets `fill` write it (returning a byte count),
/// then syncs it when `durability` asks, sets the permissions `access` asks for and
/// renames it over `path`.
fn write_with(
    path: &Path,
    access: Access,
    durability: Durability,
    fill: impl FnOnce(&mut fs::File) -> io::Result<u64>,
) -> io::Result<u64> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    let bytes = fill(tmp.as_file_mut())?;
    if durability == Durability::Synced {
        tmp.as_file().sync_all()?;
    }
    if let Some(permissions) = permissions_for(path, access)? {
        tmp.as_file().set_permissions(permissions)?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(bytes)
}

/// The permissions to give the temp file before the rename; `None` keeps the temp
/// file's own (0600 on unix).
#[cfg(unix)]
fn permissions_for(path: &Path, access: Access) -> io::Result<Option<fs::Permissions>> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(match access {
        Access::OwnerOnly => Some(fs::Permissions::from_mode(0o600)),
        Access::KeepOrShared => Some(match fs::metadata(path) {
            Ok(meta) => meta.permissions(),
            Err(_) => fs::Permissions::from_mode(0o644),
        }),
    })
}

#[cfg(not(unix))]
fn permissions_for(path: &Path, access: Access) -> io::Result<Option<fs::Permissions>> {
    Ok(match access {
        Access::OwnerOnly => None,
        Access::KeepOrShared => fs::metadata(path).ok().map(|meta| meta.permissions()),
    })
}

/// Counts the bytes written through it.
struct CountingWriter<W: Write> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_names(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp"))
            .collect()
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write(&path, b"old", Access::KeepOrShared).unwrap();
        write(&path, b"new", Access::KeepOrShared).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(temp_names(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write(&path, b"old", Access::OwnerOnly).unwrap();
        let err = write_with(&path, Access::OwnerOnly, Durability::Synced, |_| {
            Err(io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert!(temp_names(dir.path()).is_empty());
    }

    #[test]
    fn compact_json_counts_the_bytes_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.json");
        let bytes = write_json_compact(&path, &serde_json::json!({"a": [1, 2]})).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), r#"{"a":[1,2]}"#);
        assert_eq!(bytes, 11);
    }

    #[cfg(unix)]
    #[test]
    fn modes_follow_the_access_asked_for() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;

        let secret = dir.path().join("secret.json");
        write_json(&secret, &"token").unwrap();
        assert_eq!(mode(&secret), 0o600);

        let fresh = dir.path().join("new.ts");
        write(&fresh, b"x", Access::KeepOrShared).unwrap();
        assert_eq!(mode(&fresh), 0o644);

        let script = dir.path().join("run.sh");
        fs::write(&script, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        write(&script, b"#!/bin/sh\necho hi\n", Access::KeepOrShared).unwrap();
        assert_eq!(mode(&script), 0o755);
    }

    #[test]
    fn a_rebuildable_write_is_the_same_file_owner_only_with_no_temp_left() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let synced = dir.path().join("a.json");
        let rebuildable = dir.path().join("b.json");
        fs::write(&rebuildable, "old").unwrap();
        let value = serde_json::json!({"taskId": "init", "did": ["x", "y"]});
        let n = write_json(&synced, &value).unwrap();
        assert_eq!(write_json_rebuildable(&rebuildable, &value).unwrap(), n);
        assert_eq!(fs::read(&synced).unwrap(), fs::read(&rebuildable).unwrap());
        let mode = fs::metadata(&rebuildable).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
