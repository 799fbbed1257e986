//! Writing remembered volumes off the serving path.
//!
//! An fsync can take tens of milliseconds, so neither the PipeWire thread nor the socket
//! executor ever writes: they hand snapshots to this thread, which sleeps in a blocking
//! `recv` while nothing changes (no idle wake-ups). A trailing throttle collapses bursts:
//! the first change schedules a write `delay` later, and changes until then only replace
//! the snapshot, so a held key writes about once per `delay`, with its final value.
//!
//! Nothing is lost at shutdown: when every sender is gone (the PipeWire thread drops its
//! one on `Shutdown`), the thread writes what it still holds and ends, and
//! [`Writer::finish`] waits for that.

use super::{file, Memory};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Where the PipeWire thread sends snapshots of the remembered volumes.
pub type Saver = Sender<Memory>;

/// Handle to the writer thread.
pub struct Writer {
    done: Receiver<()>,
    dir: PathBuf,
}

impl Writer {
    /// Starts the thread writing into `dir`; snapshots go into the returned sender.
    pub fn spawn(dir: PathBuf, delay: Duration) -> std::io::Result<(Writer, Saver)> {
        let (tx, rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let d = dir.clone();
        std::thread::Builder::new()
            .name("state-writer".into())
            .spawn(move || {
                run(&d, delay, &rx);
                let _ = done_tx.send(());
            })?;
        Ok((Writer { done, dir }, tx))
    }

    /// Waits (at most `timeout`) until the last snapshot is written; call after every
    /// sender is dropped. A file system that hangs longer must not hang the shutdown.
    pub fn finish(self, timeout: Duration) {
        if let Err(RecvTimeoutError::Timeout) = self.done.recv_timeout(timeout) {
            eprintln!(
                "audio-daemon: saving remembered volumes in {} took over {} s; not waiting",
                self.dir.display(),
                timeout.as_secs()
            );
        }
    }
}

fn run(dir: &std::path::Path, delay: Duration, rx: &Receiver<Memory>) {
    let mut failing = false;
    // Block until there is something to write; Err means every sender is gone.
    while let Ok(mut latest) = rx.recv() {
        let due = Instant::now() + delay;
        let mut last = false;
        loop {
            match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(m) => latest = m,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    last = true;
                    break;
                }
            }
        }
        match file::write_atomic(dir, &latest) {
            Ok(()) if failing => {
                failing = false;
                eprintln!(
                    "audio-daemon: remembered volumes saved to {} again",
                    dir.display()
                );
            }
            Ok(()) => {}
            // Once per failing stretch: a read-only home would otherwise log every change.
            Err(e) if !failing => {
                failing = true;
                eprintln!(
                    "audio-daemon: cannot save remembered volumes in {}: {e} (they stay \
                     in memory; retrying at the next change)",
                    dir.display()
                );
            }
            Err(_) => {}
        }
        if last {
            return;
        }
    }
}
