//! `switchboard backup PATH`: a consistent copy of the database, safe to take while the server
//! runs. The copy is written under a temporary name beside `PATH`, flushed to disk, and only
//! then renamed over `PATH`, so `PATH` always holds either the previous backup or a complete
//! new one, never half of one.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::startup::require_folder;
use crate::store::copy_database;

pub fn backup(config: &Config, target: &Path) -> Result<String, String> {
    if crate::store::is_url(&config.db_path) {
        return Err(
            "backup copies a SQLite file: back up a PostgreSQL database with pg_dump".into(),
        );
    }
    require_folder(&config.db_path).map_err(|e| e.to_string())?;
    require_target_folder(target)?;
    refuse_live_database(config, target)?;
    let temporary = temporary_name(target)?;
    // A leftover from an interrupted run of this same command: it was never renamed.
    let _ = std::fs::remove_file(&temporary);
    if let Err(error) = create_private(&temporary) {
        return Err(format!("cannot create the backup file: {error}"));
    }
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

/// Said before anything is read, and naming the folder, which the operator typed.
fn require_target_folder(target: &Path) -> Result<(), String> {
    match target.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => Err(format!(
            "the backup folder {} does not exist: create it first",
            std::path::absolute(folder)
                .unwrap_or_else(|_| folder.to_owned())
                .display()
        )),
        _ => Ok(()),
    }
}

/// An empty file readable and writable by its owner only, whatever the umask: `VACUUM INTO`
/// fills an empty file and keeps its mode, and a backup holds every password hash.
fn create_private(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
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
    #[cfg(unix)]
    {
        // Whatever SQLite did with the file, the published copy is the owner's alone.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temporary, std::fs::Permissions::from_mode(0o600))?;
    }
    File::open(temporary)?.sync_all()?;
    std::fs::rename(temporary, target)?;
    let directory = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}
