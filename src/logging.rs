//! The log, written off the request threads. A request thread only formats its line and hands
//! it over; one thread writes the lines to standard error in batches, flushing whenever the
//! queue runs dry and at least once a second, so a busy server makes one write for many lines
//! rather than one per request. [`LogWriter::finish`] (also run on drop) writes out what is
//! queued, so a stop by SIGTERM loses no line.

use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a written line may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

enum Message {
    Line(Vec<u8>),
    /// Write out everything queued so far, then answer.
    Flush(mpsc::SyncSender<()>),
}

/// Installs the process's logger (level from `RUST_LOG`, `info` by default). Keep the returned
/// writer alive for as long as the process logs.
pub fn init() -> LogWriter {
    let (sender, receiver) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(receiver, io::stderr()))
        .ok();
    let pipe = Pipe {
        sender: sender.clone(),
        pending: Vec::new(),
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .target(env_logger::Target::Pipe(Box::new(pipe)))
        .init();
    LogWriter { sender, thread }
}

pub struct LogWriter {
    sender: Sender<Message>,
    thread: Option<JoinHandle<()>>,
}

impl LogWriter {
    /// Writes out every line logged so far; waits at most a few seconds for a stuck stderr.
    pub fn finish(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        if self.sender.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.finish();
        // The logger is global and keeps its own sender, so the thread never ends by itself;
        // once flushed, it is simply left to the process's exit.
        drop(self.thread.take());
    }
}

/// What env_logger writes each formatted record into: it collects the record's bytes and
/// queues them as one line when env_logger flushes at the record's end.
struct Pipe {
    sender: Sender<Message>,
    pending: Vec<u8>,
}

impl Write for Pipe {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.pending);
        self.sender
            .send(Message::Line(line))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the log writer stopped"))
    }
}

fn write_lines(receiver: Receiver<Message>, output: impl Write) {
    let mut output = BufWriter::with_capacity(64 * 1024, output);
    let mut last_flush = Instant::now();
    // Blocks while nothing is queued; then takes whatever has queued up behind the first line.
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => {
                    let _ = output.write_all(&line);
                }
                Message::Flush(done) => {
                    let _ = output.flush();
                    let _ = done.send(());
                }
            }
            if last_flush.elapsed() >= FLUSH_EVERY {
                let _ = output.flush();
                last_flush = Instant::now();
            }
            next = receiver.try_recv().ok();
        }
        let _ = output.flush();
        last_flush = Instant::now();
    }
    let _ = output.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// An output whose bytes the test can read, counting how often it was flushed.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().0.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.lock().unwrap().1 += 1;
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_and_a_flush_waits_for_them() {
        let (sender, receiver) = mpsc::channel();
        let output = Shared::default();
        let writer_output = output.clone();
        let thread = std::thread::spawn(move || write_lines(receiver, writer_output));
        let mut pipe = Pipe {
            sender: sender.clone(),
            pending: Vec::new(),
        };
        for i in 0..1000 {
            writeln!(pipe, "line {i}").unwrap();
            pipe.flush().unwrap();
        }
        let (done, wait) = mpsc::sync_channel(1);
        sender.send(Message::Flush(done)).unwrap();
        wait.recv().unwrap();
        let written = String::from_utf8(output.0.lock().unwrap().0.clone()).unwrap();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(written, expected);
        drop((pipe, sender));
        thread.join().unwrap();
    }

    #[test]
    fn a_record_is_queued_only_when_env_logger_flushes_it() {
        let (sender, receiver) = mpsc::channel();
        let mut pipe = Pipe {
            sender,
            pending: Vec::new(),
        };
        pipe.write_all(b"half a ").unwrap();
        pipe.write_all(b"line\n").unwrap();
        assert!(receiver.try_recv().is_err());
        pipe.flush().unwrap();
        match receiver.try_recv() {
            Ok(Message::Line(line)) => assert_eq!(line, b"half a line\n"),
            _ => panic!("expected one whole line"),
        }
    }
}
