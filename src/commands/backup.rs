//! `switchboard backup PATH`: a consistent copy of the database, safe to take while the server
//! runs. The copy is written under a temporary name beside `PATH`, flushed to disk, and only
//! then renamed over `PATH`, so `PATH` always holds either the previous backup or a complete
//! new one, never half of one.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::store::copy_database;

pub fn backup(config: &Config, target: &Path) -> Result<String, String> {
    refuse_live_database(config, target)?;
    let temporary = temporary_name(target)?;
    // A leftover from an interrupted run of this same command: it was never renamed.
    let _ = std::fs::remove_file(&temporary);
    let summary = match copy_database(&config.db_path, &temporary) {
        Ok(summary) => summary,
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(format!("backup failed: {error}"));
        }
    };
    if let Err(error) = publish(&temporary, target) {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("backup failed while saving the copy: {error}"));
    }
    Ok(format!(
        "backup complete: {} accounts, schema version {}. The key file is not part of it: keep a copy of the key file too.",
        summary.accounts, summary.schema_version
    ))
}

/// Writing over the live database would destroy it.
fn refuse_live_database(config: &Config, target: &Path) -> Result<(), String> {
    let (Ok(live), Some(parent)) = (config.db_path.canonicalize(), target.parent()) else {
        return Ok(());
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let resolved = parent
        .canonicalize()
        .ok()
        .zip(target.file_name())
        .map(|(dir, name)| dir.join(name));
    if resolved.is_some_and(|path| path == live) {
        return Err("the backup path is the live database itself: choose another path".into());
    }
    Ok(())
}

/// `.NAME.tmp-PID` in the same directory, so the final rename stays on one file system.
fn temporary_name(target: &Path) -> Result<PathBuf, String> {
    let name = target
        .file_name()
        .ok_or("the backup path must name a file")?
        .to_string_lossy();
    Ok(target.with_file_name(format!(".{name}.tmp-{}", std::process::id())))
}

/// Flushes the copy, renames it into place, and flushes the directory so the rename itself
/// survives a power loss.
fn publish(temporary: &Path, target: &Path) -> io::Result<()> {
    File::open(temporary)?.sync_all()?;
    std::fs::rename(temporary, target)?;
    let directory = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}
