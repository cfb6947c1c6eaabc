//! The key file: the installation key, kept beside (never inside) the database, as one line of
//! hex. Read by the server and every command that checks or sets secrets; written only by the
//! first start and by `admin new-key`, never over an existing file.

use std::fmt;
use std::io::Write;
use std::path::Path;

use crate::domain::credentials::InstallationKey;

/// Why the key file could not be read or written; one line naming the file by its role only.
#[derive(Debug)]
pub enum KeyFileError {
    /// The database holds accounts (or a key check value) and its key file is gone.
    Missing,
    Invalid,
    Unreadable(std::io::Error),
    Uncreatable(std::io::Error),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Missing => f.write_str(
                "the database's key file is missing: restore the key file (see --key-file) from \
                 the backup taken with the database; if it is lost for good, \
                 `switchboard admin new-key` makes a new one",
            ),
            KeyFileError::Invalid => f.write_str("the key file is not a valid Switchboard key"),
            KeyFileError::Unreadable(error) => write!(f, "cannot read the key file: {error}"),
            KeyFileError::Uncreatable(error) => write!(f, "cannot create the key file: {error}"),
        }
    }
}

/// The key in an existing key file; never creates one.
pub fn load(path: &Path) -> Result<InstallationKey, KeyFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => InstallationKey::from_hex(&text).ok_or(KeyFileError::Invalid),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(KeyFileError::Missing),
        Err(error) => Err(KeyFileError::Unreadable(error)),
    }
}

/// [`load`], or for a new installation whose key file is not there yet, [`create`]. A key is
/// created only for a new installation: for one that holds accounts, a new key would silently
/// change every AuthToken and password check. True when the key file was created.
pub fn load_or_create(
    path: &Path,
    new_installation: bool,
) -> Result<(InstallationKey, bool), KeyFileError> {
    match load(path) {
        Err(KeyFileError::Missing) if new_installation => create(path).map(|key| (key, true)),
        other => other.map(|key| (key, false)),
    }
}

/// A new key in a new key file, readable and writable by its owner only whatever the umask,
/// never over an existing file, and durable (with its name) before this returns.
pub fn create(path: &Path) -> Result<InstallationKey, KeyFileError> {
    let key = InstallationKey::generate();
    write(path, &key).map_err(KeyFileError::Uncreatable)?;
    Ok(key)
}

/// True when something (a file, a link, even a broken one) is at the key file's path.
pub fn present(path: &Path) -> std::io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

fn write(path: &Path, key: &InstallationKey) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{}", key.to_hex())?;
    file.sync_all()?;
    // The new name must survive a power cut too: the database written next depends on it.
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::File::open(directory)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_loads_back_and_is_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = create(&path).unwrap();
        assert_eq!(load(&path).unwrap().check_value(), key.check_value());
        assert!(matches!(create(&path), Err(KeyFileError::Uncreatable(_))));
        assert_eq!(load(&path).unwrap().check_value(), key.check_value());
        let (again, created) = load_or_create(&path, true).unwrap();
        assert!(!created);
        assert_eq!(again.check_value(), key.check_value());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_missing_key_is_created_only_for_a_new_installation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        assert!(matches!(load(&path), Err(KeyFileError::Missing)));
        assert!(matches!(
            load_or_create(&path, false),
            Err(KeyFileError::Missing)
        ));
        assert!(!present(&path).unwrap());
        assert!(load_or_create(&path, true).unwrap().1);
        assert!(present(&path).unwrap());
    }

    #[test]
    fn a_file_that_is_not_a_key_is_refused_without_showing_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        std::fs::write(&path, "secret-looking text\n").unwrap();
        let error = load(&path).err().unwrap().to_string();
        assert_eq!(error, "the key file is not a valid Switchboard key");
        std::fs::write(&path, "ab".repeat(31)).unwrap();
        assert!(matches!(load(&path), Err(KeyFileError::Invalid)));
    }
}
