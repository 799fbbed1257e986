//! Waking waybar: `SIGRTMIN+N` to every waybar process of this user, which makes a
//! `custom` module with `"signal": N` run its `exec` again.
//!
//! The signalling runs on its own thread, which sleeps in a blocking `recv` between
//! changes (no idle wake-ups), and notifications collapse while it is busy. Scanning
//! all of /proc is the expensive part, so the waybar pids are cached: each cached pid
//! is re-checked by its `comm` before it is signalled (a recycled pid must never get a
//! real-time signal, whose default action is to terminate), and /proc is rescanned when
//! the cache is older than [`RESCAN_AFTER`] or a cached process is gone.

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A waybar started after the last scan is found at the first change this long after it.
pub const RESCAN_AFTER: Duration = Duration::from_secs(1);

/// Whether a process name (`/proc/PID/comm`) is waybar's. nixpkgs wraps programs, so on
/// NixOS the process running is `.waybar-wrapped` (a wrapper of a wrapper would be
/// `.waybar-wrapped-wrapped`, which the kernel cuts to 15 bytes: `.waybar-wrapped`).
fn is_waybar_comm(comm: &str) -> bool {
    let name = comm.trim_end_matches('\n');
    let unwrapped = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix("-wrapped"))
        .unwrap_or(name);
    unwrapped == "waybar"
}

fn is_waybar(pid: libc::pid_t) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| is_waybar_comm(&c))
}

/// Process ids of this user's waybar processes, found through /proc.
pub fn waybar_pids() -> Vec<libc::pid_t> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| {
            let pid: libc::pid_t = e.file_name().to_str()?.parse().ok()?;
            // The directory's owner is the process's real uid.
            if std::fs::metadata(e.path()).ok()?.uid() != uid {
                return None;
            }
            is_waybar(pid).then_some(pid)
        })
        .collect()
}

/// The signal for an offset, if it exists on this system.
fn rt_signal(offset: u8) -> Option<i32> {
    let sig = libc::SIGRTMIN() + i32::from(offset);
    (sig <= libc::SIGRTMAX()).then_some(sig)
}

/// Cached waybar pids.
#[derive(Default)]
struct Cache {
    pids: Vec<libc::pid_t>,
    scanned: Option<Instant>,
}

impl Cache {
    /// Signals every waybar; returns how many were signalled.
    fn signal(&mut self, sig: i32, now: Instant) -> usize {
        let fresh = self
            .scanned
            .is_some_and(|t| now.duration_since(t) < RESCAN_AFTER);
        if !fresh || !self.pids.iter().all(|&p| is_waybar(p)) {
            self.pids = waybar_pids();
            self.scanned = Some(now);
        }
        self.pids
            .iter()
            // SAFETY: kill with a valid signal on a pid just checked to be a waybar.
            .filter(|&&pid| unsafe { libc::kill(pid, sig) } == 0)
            .count()
    }
}

/// Handle to the signalling thread; cheap to notify from the event loop.
pub struct Signaller {
    tx: SyncSender<()>,
    /// The offset N, or -1 when signalling is off; changed by config reloads.
    offset: Arc<AtomicI32>,
}

impl Signaller {
    pub fn spawn(offset: Option<u8>) -> std::io::Result<Signaller> {
        let (tx, rx) = sync_channel::<()>(1);
        let offset = Arc::new(AtomicI32::new(offset.map_or(-1, i32::from)));
        let shared = offset.clone();
        std::thread::Builder::new()
            .name("waybar".into())
            .spawn(move || run(rx, shared))?;
        Ok(Signaller { tx, offset })
    }

    /// Something changed: waybar should refresh. Never blocks; while a signal is being
    /// sent, further notifications collapse into one more.
    pub fn notify(&self) {
        if self.offset.load(Ordering::Relaxed) >= 0 {
            // Full: a signal is already due, which covers this change too.
            let _ = self.tx.try_send(());
        }
    }

    pub fn set_offset(&self, offset: Option<u8>) {
        self.offset
            .store(offset.map_or(-1, i32::from), Ordering::Relaxed);
    }
}

fn run(rx: Receiver<()>, offset: Arc<AtomicI32>) {
    let mut cache = Cache::default();
    while rx.recv().is_ok() {
        let Ok(off) = u8::try_from(offset.load(Ordering::Relaxed)) else {
            continue;
        };
        if let Some(sig) = rt_signal(off) {
            cache.signal(sig, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_beyond_the_realtime_range_are_refused() {
        assert!(rt_signal(0).is_some());
        assert!(rt_signal(8).is_some());
        assert!(rt_signal(200).is_none());
    }

    #[test]
    fn waybar_is_recognised_also_as_nixpkgs_runs_it() {
        for comm in ["waybar\n", "waybar", ".waybar-wrapped\n"] {
            assert!(is_waybar_comm(comm), "{comm:?}");
        }
        // Real-time signals terminate programs that do not expect them: only waybar.
        for comm in [
            "waybar-helper",
            "xwaybar",
            ".waybar",
            "waybar-wrapped",
            ".foo-wrapped",
            "Waybar",
            "",
        ] {
            assert!(!is_waybar_comm(comm), "{comm:?}");
        }
    }

    #[test]
    fn a_recycled_pid_is_never_signalled() {
        // Our own pid is not a waybar: a cache claiming it is gets rescanned instead of
        // signalling us (which would terminate this test process).
        let mut cache = Cache {
            pids: vec![std::process::id() as libc::pid_t],
            scanned: Some(Instant::now()),
        };
        // Signal 0 only checks that a process exists: the test must not poke a real
        // waybar on a developer's desktop.
        let sent = cache.signal(0, Instant::now());
        assert!(!cache.pids.contains(&(std::process::id() as libc::pid_t)));
        assert_eq!(sent, cache.pids.len());
    }
}
