//! One server per database file: two writers' group commits would keep refusing each other as
//! busy, and their caches would disagree. The lock lives in a file beside the database (never
//! on the database itself: closing any other descriptor of that file would drop SQLite's own
//! locks) and is released by the kernel when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::sqlite::OpenError;

pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    pub fn acquire(db_path: &Path) -> Result<InstanceLock, OpenError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path(db_path))
            .map_err(|error| OpenError::LockFile(error.kind()))?;
        match file.try_lock() {
            Ok(()) => Ok(InstanceLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(OpenError::InUse),
            Err(TryLockError::Error(error)) => Err(OpenError::LockFile(error.kind())),
        }
    }
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
