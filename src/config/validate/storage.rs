//! `[storage]`: the database path (resolved against `$STATE_DIRECTORY` when
//! relative) and the retention.

use super::duration;
use crate::config::diag::Diagnostics;
use crate::config::raw::RawStorage;
use crate::config::types::StorageConfig;
use std::path::PathBuf;
use std::time::Duration;

/// Validates `[storage]` of the main file.
pub(crate) fn storage(dg: &mut Diagnostics, main: usize, storage: &RawStorage) -> StorageConfig {
    let storage_path = match &storage.path {
        Some(p) if p.get_ref().trim().is_empty() => {
            dg.issue(main, p.span(), "`storage.path` is empty");
            PathBuf::from("newswatch.db")
        }
        Some(p) => PathBuf::from(p.get_ref()),
        None => PathBuf::from("newswatch.db"),
    };
    let storage_path = if storage_path.is_absolute() {
        storage_path
    } else if let Some(dir) = std::env::var_os("STATE_DIRECTORY").filter(|d| !d.is_empty()) {
        // systemd may pass several colon-separated directories; the first is ours.
        let first = dir
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        PathBuf::from(first).join(storage_path)
    } else {
        storage_path
    };
    let retention = duration(
        dg,
        main,
        &storage.retention,
        Duration::from_secs(90 * 86_400),
    );
    StorageConfig {
        path: storage_path,
        retention,
    }
}
