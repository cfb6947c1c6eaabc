//! Whether anything was committed since the last look, by this server's writer or by another
//! process (an `admin reset-password` beside the server), asked on every request.
//!
//! `PRAGMA data_version` answers it, but costs a read transaction: two `fcntl` locks on the
//! shared-memory file and SQLite's bookkeeping, about 2.5 µs, the largest part of a fetch's own
//! work. The answer is in that file already: in WAL mode every commit rewrites the WAL-index
//! header at its start (iChange, mxFrame, salts and checksums; see SQLite's "WAL-mode File
//! Format", walformat.html), and only then is it visible to any reader. Reading those bytes is
//! one `pread` of the page that SQLite's own readers map. Processes of different SQLite
//! versions share this file at once, so its layout cannot change under us.
//!
//! A writer stores the header's second copy, then its first; SQLite's readers accept a header
//! only when both copies agree, and so does this. Copies that disagree (a commit under way) or
//! a file that cannot be read count as a change: that costs only a cache miss.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

/// The WAL-index header (`WalIndexHdr`) is 48 bytes, stored twice.
const HEADER: usize = 48;

/// Byte 12 of a header: non-zero once the header was written.
const IS_INIT: usize = 12;

pub(super) struct Commits {
    shm: File,
    seen: Mutex<Seen>,
}

struct Seen {
    header: [u8; HEADER],
    /// Goes up by one at each change seen: the data version readers file rows under.
    version: u64,
}

impl Commits {
    /// `shm` is the database's `-shm` file, which exists while any connection is open.
    pub(super) fn open(shm: &Path) -> std::io::Result<Commits> {
        Ok(Commits {
            shm: File::open(shm)?,
            seen: Mutex::new(Seen {
                header: [0; HEADER],
                version: 0,
            }),
        })
    }

    /// A number that changes whenever data was committed since the last call that returned
    /// it, and never goes down.
    pub(super) fn version(&self) -> u64 {
        // Read under the lock, so the headers seen and the versions handed out keep one order.
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut copies = [0u8; 2 * HEADER];
        let header = match self.shm.read_exact_at(&mut copies, 0) {
            Ok(()) => settled(&copies),
            Err(_) => None,
        };
        match header {
            Some(header) if header == seen.header => {}
            Some(header) => {
                seen.header = header;
                seen.version += 1;
            }
            None => {
                seen.header = [0; HEADER];
                seen.version += 1;
            }
        }
        seen.version
    }
}

/// The header, when both copies agree and it was written.
fn settled(copies: &[u8; 2 * HEADER]) -> Option<[u8; HEADER]> {
    let (first, second) = copies.split_at(HEADER);
    if first != second || first[IS_INIT] == 0 {
        return None;
    }
    first.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copies(first: [u8; HEADER], second: [u8; HEADER]) -> [u8; 2 * HEADER] {
        let mut both = [0; 2 * HEADER];
        both[..HEADER].copy_from_slice(&first);
        both[HEADER..].copy_from_slice(&second);
        both
    }

    #[test]
    fn a_header_counts_only_when_both_copies_agree_and_it_was_written() {
        let mut written = [7u8; HEADER];
        assert_eq!(settled(&copies(written, written)), Some(written));
        let mut other = written;
        other[16] = 8;
        assert_eq!(settled(&copies(written, other)), None);
        written[IS_INIT] = 0;
        assert_eq!(settled(&copies(written, written)), None);
    }

    #[test]
    fn each_commit_to_a_wal_database_changes_the_version_and_nothing_else_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("commits.db");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let commits = Commits::open(&dir.path().join("commits.db-shm")).unwrap();
        let first = commits.version();
        assert_eq!(commits.version(), first, "nothing was committed");
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let second = commits.version();
        assert!(second > first);
        let reads: i64 = writer
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(reads, 1);
        assert_eq!(commits.version(), second, "a read is not a commit");
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert!(
            commits.version() > second,
            "another connection's commit counts too"
        );
    }
}
