//! One server per database file: two writers' group commits would keep refusing each other as
//! busy, and their caches would disagree. The lock lives in a file beside the database (never
//! on the database itself: closing any other descriptor of that file would drop SQLite's own
//! locks) and is released by the kernel when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::sqlite::OpenError;

pub struct InstanceLock {
    file: File,
    path: PathBuf,
    /// This process made the lock file, so a start that fails may take it away again.
    created: bool,
}

impl InstanceLock {
    pub fn acquire(db_path: &Path) -> Result<InstanceLock, OpenError> {
        let path = lock_path(db_path);
        // A lock file unlinked by a failed start between our open and our lock would let a
        // third process lock a new file at the same path: retry on the file now there.
        for _ in 0..5 {
            let (file, created) = open(&path)?;
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => {
                    return Ok(InstanceLock {
                        file,
                        path,
                        created,
                    })
                }
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => return Err(OpenError::InUse),
                Err(TryLockError::Error(error)) => return Err(OpenError::LockFile(error.kind())),
            }
        }
        Err(OpenError::InUse)
    }

    /// Releases the lock, and takes away the lock file if this process made it: for a start
    /// that failed, or a command that only read, so that it leaves nothing behind. Unlinked
    /// while still held, so no other process can have locked the file that disappears.
    pub fn release_removing_file(self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
        drop(self.file);
    }
}

/// The lock file, created readable and writable by its owner only.
fn open(path: &Path) -> Result<(File, bool), OpenError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(file) => return Ok((file, true)),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(OpenError::LockFile(error.kind())),
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map(|file| (file, false))
        .map_err(|error| OpenError::LockFile(error.kind()))
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> bool {
    true
}

/// The database path with `.lock` appended, beside the real file: two servers that name the
/// same database through different paths (a symlink, `..`) still meet at one lock.
pub fn lock_path(db_path: &Path) -> PathBuf {
    let mut name = resolve(db_path).into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

fn resolve(db_path: &Path) -> PathBuf {
    if let Ok(path) = db_path.canonicalize() {
        return path;
    }
    // Not created yet: resolve the directory it will be created in.
    let parent = match db_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), db_path.file_name()) {
        (Ok(directory), Some(name)) => directory.join(name),
        _ => db_path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let first = InstanceLock::acquire(&db).unwrap();
        assert!(matches!(InstanceLock::acquire(&db), Err(OpenError::InUse)));
        drop(first);
        assert!(InstanceLock::acquire(&db).is_ok());
    }

    #[test]
    fn a_failed_start_takes_away_only_a_lock_file_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        InstanceLock::acquire(&db).unwrap().release_removing_file();
        assert!(!lock_path(&db).exists());
        drop(InstanceLock::acquire(&db).unwrap());
        assert!(lock_path(&db).exists());
        InstanceLock::acquire(&db).unwrap().release_removing_file();
        assert!(lock_path(&db).exists(), "it was there before");
    }

    #[test]
    fn a_database_named_through_a_symlink_meets_the_same_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"").unwrap();
        let alias = dir.path().join("alias.db");
        std::os::unix::fs::symlink(&db, &alias).unwrap();
        let _first = InstanceLock::acquire(&db).unwrap();
        assert!(matches!(
            InstanceLock::acquire(&alias),
            Err(OpenError::InUse)
        ));
        let dotted = dir.path().join(".").join("x.db");
        assert!(matches!(
            InstanceLock::acquire(&dotted),
            Err(OpenError::InUse)
        ));
    }
}
