//! Writing remembered volumes off the serving path.
//!
//! An fsync can take tens of milliseconds, so neither the PipeWire thread nor the socket
//! executor ever writes: they hand snapshots to this thread, which sleeps in a blocking
//! `recv` while nothing changes (no idle wake-ups). A trailing throttle collapses bursts:
//! the first change schedules a write `delay` later, and changes until then only replace
//! the snapshot, so a held key writes about once per `delay`, with its final value.
//!
//! The hand-over holds one snapshot, not a queue: a newer one replaces the one not yet
//! taken. So while a write hangs (a frozen or dead file system), changes cost no memory
//! beyond that one snapshot, and the write after the hang has the latest volumes.
//!
//! Nothing is lost at shutdown: when the [`Saver`] is dropped (the PipeWire thread drops
//! it on `Shutdown`), the thread writes what it still holds and ends, and
//! [`Writer::finish`] waits for that.

use super::{file, Memory};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The one snapshot waiting to be written, and whether the saver is gone.
#[derive(Default)]
struct Pending {
    latest: Option<Memory>,
    closed: bool,
}

#[derive(Default)]
struct Slot {
    pending: Mutex<Pending>,
    changed: Condvar,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Poisoned only if a holder panicked, which aborts the daemon (panic = "abort").
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where the PipeWire thread hands snapshots of the remembered volumes; dropping it
/// makes the writer save what it holds and end.
pub struct Saver(Arc<Slot>);

impl Saver {
    /// Replaces the snapshot waiting to be written (never blocks on the file system).
    pub fn send(&self, memory: Memory) {
        self.0.lock().latest = Some(memory);
        self.0.changed.notify_one();
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.changed.notify_one();
    }
}

/// Handle to the writer thread.
pub struct Writer {
    done: Receiver<()>,
    dir: PathBuf,
}

impl Writer {
    /// Starts the thread writing into `dir`; snapshots go into the returned sender.
    pub fn spawn(dir: PathBuf, delay: Duration) -> std::io::Result<(Writer, Saver)> {
        let slot = Arc::new(Slot::default());
        let (done_tx, done) = mpsc::channel();
        let d = dir.clone();
        let theirs = slot.clone();
        std::thread::Builder::new()
            .name("state-writer".into())
            .spawn(move || {
                run(&d, delay, &theirs, file::write_atomic);
                let _ = done_tx.send(());
            })?;
        Ok((Writer { done, dir }, Saver(slot)))
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

/// Takes the next snapshot: waits for one, then `delay` more for newer ones (the
/// throttle). `None`: the saver is gone and nothing is left to write. The flag says
/// whether this is the last one.
fn next(slot: &Slot, delay: Duration) -> Option<(Memory, bool)> {
    let mut p = slot.lock();
    while p.latest.is_none() && !p.closed {
        p = slot.changed.wait(p).unwrap_or_else(|e| e.into_inner());
    }
    p.latest.as_ref()?;
    let due = Instant::now() + delay;
    while !p.closed {
        let left = due.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        p = slot
            .changed
            .wait_timeout(p, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    let closed = p.closed;
    p.latest.take().map(|m| (m, closed))
}

fn run(
    dir: &Path,
    delay: Duration,
    slot: &Slot,
    mut write: impl FnMut(&Path, &Memory) -> std::io::Result<()>,
) {
    let mut failing = false;
    while let Some((latest, last)) = next(slot, delay) {
        match write(dir, &latest) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Remembered;

    fn memory(volume: f64) -> Memory {
        let mut m = Memory::default();
        m.record(
            "vesktop",
            Remembered {
                volume,
                ratios: vec![1.0, 1.0],
                muted: false,
            },
        );
        m
    }

    /// A write that hangs (a frozen file system) holds at most one more snapshot, and
    /// the write after it has the latest: 10,000 changes during the hang queue nothing.
    #[test]
    fn a_hung_write_keeps_one_pending_snapshot_not_a_queue() {
        let slot = Arc::new(Slot::default());
        let saver = Saver(slot.clone());
        let (entered_tx, entered) = mpsc::channel();
        let (release_tx, release) = mpsc::channel::<()>();
        let written = Arc::new(Mutex::new(Vec::new()));
        let (s, w) = (slot.clone(), written.clone());
        let writer = std::thread::spawn(move || {
            run(Path::new("/unused"), Duration::ZERO, &s, |_, m| {
                let _ = entered_tx.send(());
                let _ = release.recv(); // the file system hangs until released
                w.lock().unwrap().push(m.clone());
                Ok(())
            })
        });
        saver.send(memory(1.0));
        entered.recv().unwrap(); // the first write hangs now
        for i in 0..10_000 {
            saver.send(memory(f64::from(i)));
        }
        assert!(slot.lock().latest.is_some(), "the latest change waits");
        assert_eq!(slot.lock().latest.as_ref(), Some(&memory(9999.0)));
        drop(saver);
        release_tx.send(()).unwrap();
        release_tx.send(()).unwrap();
        writer.join().unwrap();
        assert_eq!(*written.lock().unwrap(), vec![memory(1.0), memory(9999.0)]);
    }

    #[test]
    fn dropping_the_saver_writes_what_is_left_and_ends() {
        let slot = Arc::new(Slot::default());
        let saver = Saver(slot.clone());
        saver.send(memory(30.0));
        drop(saver);
        let mut written = Vec::new();
        run(
            Path::new("/unused"),
            Duration::from_secs(60),
            &slot,
            |_, m| {
                written.push(m.clone());
                Ok(())
            },
        );
        assert_eq!(written, vec![memory(30.0)]);
    }
}
