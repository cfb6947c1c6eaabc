//! The log, written off the request threads. A request thread formats its line and appends it
//! to a shared buffer, with no system call; one writer thread writes the buffer to standard
//! error every [`FLUSH_EVERY`] (sooner when it grows large), so a busy server makes one write
//! for thousands of lines rather than one per request. [`LogWriter::finish`] (also run on drop)
//! writes out what is buffered, so a stop by SIGTERM loses no line.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::domain::account::UnixTime;
use crate::domain::event::iso8601;

/// The longest a line may wait before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// A buffer this large is written at once, so a burst cannot grow it without bound; small
/// enough to stay in the cache while request threads fill it.
const WRITE_AT_BYTES: usize = 64 * 1024;

/// Where access lines go: the buffer [`init`] installed.
static INSTALLED: OnceLock<Arc<Shared>> = OnceLock::new();

/// The target of access lines, for `RUST_LOG` (`switchboard::access=warn` turns them off).
pub const ACCESS: &str = "switchboard::access";

/// Installs the process's logger (level from `RUST_LOG`, `info` by default). Keep the returned
/// writer alive for as long as the process logs.
pub fn init() -> LogWriter {
    let shared = Shared::new(Box::new(io::stderr()));
    let _ = INSTALLED.set(Arc::clone(&shared));
    let writer = Arc::clone(&shared);
    // Without the thread lines are still written, by `finish`, at the latest on exit.
    let _ = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || writer.write_periodically());
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(format_line)
        .target(env_logger::Target::Pipe(Box::new(Pipe(Arc::clone(
            &shared,
        )))))
        .init();
    LogWriter(shared)
}

/// env_logger's own layout (`[time LEVEL target] message`), with the time formatted once a
/// second rather than once a line: at one access line per request, the line's layout was a
/// tenth of what the access log costs.
fn format_line(out: &mut env_logger::fmt::Formatter, record: &log::Record<'_>) -> io::Result<()> {
    with_stamp(|stamp| {
        writeln!(
            out,
            "[{stamp} {:<5} {}] {}",
            record.level(),
            record.target(),
            record.args()
        )
    })
}

/// Logs the access line `build` writes (see `http::security::log_access`; the caller checks the
/// level first). It goes straight into the buffer, in the layout of every other line, without
/// the record, formatter and copies of the logger's path: one line per request made that path
/// a sixth of a fetch.
pub fn access(build: impl FnOnce(&mut String)) {
    thread_local! {
        static LINE: RefCell<String> = RefCell::new(String::with_capacity(256));
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        build(line);
        let Some(shared) = INSTALLED.get() else {
            log::info!(target: ACCESS, "{line}");
            return;
        };
        with_stamp(|stamp| shared.append(&["[", stamp, " INFO  ", ACCESS, "] ", line, "\n"]));
    });
}

/// The current second as the log writes it, formatted once a second per thread.
fn with_stamp<T>(f: impl FnOnce(&str) -> T) -> T {
    thread_local! {
        static STAMP: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    STAMP.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            *text = iso8601(UnixTime(i64::try_from(second).unwrap_or(i64::MAX)));
        }
        f(text)
    })
}

pub struct LogWriter(Arc<Shared>);

impl LogWriter {
    /// Writes out every line logged so far.
    pub fn finish(&self) {
        self.0.write_out();
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.finish();
    }
}

struct Shared {
    /// Lines not yet written.
    pending: Mutex<Vec<u8>>,
    /// Signalled when `pending` reaches [`WRITE_AT_BYTES`].
    large: Condvar,
    /// Held while a batch is taken and written, so batches reach the output in order; the
    /// second buffer is swapped with `pending` so neither is reallocated batch after batch.
    output: Mutex<(Box<dyn Write + Send>, Vec<u8>)>,
}

impl Shared {
    fn new(output: Box<dyn Write + Send>) -> Arc<Shared> {
        Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(WRITE_AT_BYTES)),
            large: Condvar::new(),
            output: Mutex::new((output, Vec::with_capacity(WRITE_AT_BYTES))),
        })
    }

    fn pending(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic elsewhere cannot leave a byte buffer half-valid: keep logging.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends the parts of one line under one lock, so lines never interleave.
    fn append<B: AsRef<[u8]>>(&self, parts: &[B]) {
        let mut pending = self.pending();
        for part in parts {
            pending.extend_from_slice(part.as_ref());
        }
        if pending.len() >= WRITE_AT_BYTES {
            self.large.notify_one();
        }
    }

    fn write_out(&self) {
        let mut output = self.output.lock().unwrap_or_else(|e| e.into_inner());
        let (sink, batch) = &mut *output;
        std::mem::swap(&mut *self.pending(), batch);
        if !batch.is_empty() {
            // A log that cannot be written must not stop the server; the lines are dropped.
            let _ = sink.write_all(batch).and_then(|()| sink.flush());
            batch.clear();
        }
    }

    fn write_periodically(&self) {
        loop {
            let pending = self.pending();
            if pending.len() < WRITE_AT_BYTES {
                let _ = self.large.wait_timeout(pending, FLUSH_EVERY);
            } else {
                drop(pending);
            }
            self.write_out();
        }
    }
}

/// What env_logger writes each formatted record into.
struct Pipe(Arc<Shared>);

impl Write for Pipe {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.append(&[bytes]);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<Vec<u8>>>);

    impl Write for Recorded {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Recorded {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn lines_wait_in_the_buffer_until_written_out_in_order() {
        let output = Recorded::default();
        let shared = Shared::new(Box::new(output.clone()));
        let mut pipe = Pipe(Arc::clone(&shared));
        for i in 0..1000 {
            writeln!(pipe, "line {i}").unwrap();
        }
        assert_eq!(output.text(), "", "no write per line");
        shared.write_out();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(output.text(), expected);
        shared.write_out();
        assert_eq!(output.text(), expected, "nothing is written twice");
    }

    #[test]
    fn the_writer_thread_writes_within_the_interval_and_a_large_buffer_at_once() {
        let output = Recorded::default();
        let shared = Shared::new(Box::new(output.clone()));
        let writer = Arc::clone(&shared);
        std::thread::spawn(move || writer.write_periodically());
        let mut pipe = Pipe(Arc::clone(&shared));
        writeln!(pipe, "soon").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while output.text().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(output.text(), "soon\n");
        let burst = "x".repeat(WRITE_AT_BYTES);
        pipe.write_all(burst.as_bytes()).unwrap();
        while output.text().len() < burst.len() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(output.text().len(), "soon\n".len() + burst.len());
    }
}
