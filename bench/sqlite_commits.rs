//! The benchmark's yardstick for writes: how many single-row transactions SQLite itself
//! commits per second on this disk with Switchboard's settings (WAL, synchronous=FULL), one
//! after another from one thread. Switchboard's group commit is measured against this.
//!
//! Usage: sqlite_commits DB_PATH SECONDS

use std::time::{Duration, Instant};

use rusqlite::Connection;

fn main() -> rusqlite::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, seconds] = args.as_slice() else {
        eprintln!("usage: sqlite_commits DB_PATH SECONDS");
        std::process::exit(2);
    };
    let seconds: f64 = seconds.parse().expect("SECONDS is a number");
    let conn = Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", "full")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS accounts (sid TEXT PRIMARY KEY NOT NULL,
             friendly_name TEXT NOT NULL, date_updated INTEGER NOT NULL);
         INSERT OR IGNORE INTO accounts VALUES ('AC0', 'first', 0);",
    )?;
    let mut update = conn
        .prepare("UPDATE accounts SET friendly_name = ?1, date_updated = ?2 WHERE sid = 'AC0'")?;
    let limit = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut commits: u64 = 0;
    while start.elapsed() < limit {
        // Outside an explicit transaction, each statement is its own durable commit.
        update.execute(rusqlite::params![format!("name {commits}"), commits as i64])?;
        commits += 1;
    }
    println!("{:.0}", commits as f64 / start.elapsed().as_secs_f64());
    Ok(())
}
