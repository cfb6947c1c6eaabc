//! The benchmark's yardstick for writes on PostgreSQL: how many single-row UPDATE transactions
//! the cluster itself commits per second from 64 connections at once, all on one row, as the
//! benchmark's updates all go to one account. Switchboard's durable updates are measured
//! against this, on the same cluster with the same settings.
//!
//! Usage: pg_commits URL SECONDS

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

const CONNECTIONS: usize = 64;

fn main() -> Result<(), postgres::Error> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, seconds] = args.as_slice() else {
        eprintln!("usage: pg_commits URL SECONDS");
        std::process::exit(2);
    };
    let seconds: f64 = seconds.parse().expect("SECONDS is a number");
    Client::connect(url, NoTls)?.batch_execute(
        "CREATE TABLE IF NOT EXISTS yardstick (sid TEXT PRIMARY KEY NOT NULL,
             friendly_name TEXT NOT NULL, date_updated BIGINT NOT NULL);
         INSERT INTO yardstick VALUES ('AC0', 'first', 0) ON CONFLICT DO NOTHING;",
    )?;
    let clients = (0..CONNECTIONS)
        .map(|_| Client::connect(url, NoTls))
        .collect::<Result<Vec<_>, _>>()?;
    let (commits, stop) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let start = Instant::now();
    let workers: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let (commits, stop) = (Arc::clone(&commits), Arc::clone(&stop));
            std::thread::spawn(move || update_until(client, &commits, &stop))
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("a worker panicked")?;
    }
    let rate = commits.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("{rate:.0}");
    Ok(())
}

/// Outside an explicit transaction, each statement is its own durable commit.
fn update_until(
    mut client: Client,
    commits: &AtomicU64,
    stop: &AtomicBool,
) -> Result<(), postgres::Error> {
    let update = client
        .prepare("UPDATE yardstick SET friendly_name = $1, date_updated = $2 WHERE sid = 'AC0'")?;
    let mut n: i64 = 0;
    while !stop.load(Ordering::Relaxed) {
        client.execute(&update, &[&format!("name {n}"), &n])?;
        commits.fetch_add(1, Ordering::Relaxed);
        n += 1;
    }
    Ok(())
}
