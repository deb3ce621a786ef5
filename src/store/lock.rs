//! The owner lock beside a database (`<db>.lock`): one process writes a
//! database as its owner at a time, and whoever finds the lock held is told
//! the holder's PID.

use super::StoreError;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Holds the exclusive owner lock on a database until dropped.
#[derive(Debug)]
pub(crate) struct OwnerLock {
    _file: File,
}

/// The lock file for a database: `<db>.lock`.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(".lock");
    PathBuf::from(s)
}

/// Takes the exclusive owner lock for the database at `db`, or says who
/// holds it. The lock is released when the process exits, however it exits.
pub(crate) fn lock(db: &Path) -> Result<OwnerLock, StoreError> {
    let path = lock_path(db);
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            what: "cannot create directory",
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StoreError::Io {
            what: "cannot open lock file",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => {
            use std::io::Write;
            let _ = file.set_len(0);
            let _ = writeln!(&file, "{}", std::process::id());
            Ok(OwnerLock { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: db.to_path_buf(),
            pid: holder(&path),
            lock: path,
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Io {
            what: "cannot lock",
            path,
            source,
        }),
    }
}

/// The PID the lock's holder wrote into it ("unknown" if unreadable).
pub(crate) fn holder(lock: &Path) -> String {
    std::fs::read_to_string(lock)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Whether some process holds the owner lock of `db` now (without taking
/// it): `Some(pid)` if so.
pub(super) fn held_by(db: &Path) -> Option<String> {
    let path = lock_path(db);
    let file = std::fs::OpenOptions::new().read(true).open(&path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(std::fs::TryLockError::WouldBlock) => Some(holder(&path)),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}
