//! The user at the keyboard: a `set` on its own app every 25 ms, each on a fresh
//! connection as `audioctl` makes it, timed from connect to reply. Runs beside every
//! attack; what it saw is the "keypress" column of the table.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The app the keypress client changes; no attack touches it.
pub const APP: &str = "music";
const EVERY: Duration = Duration::from_millis(25);
/// Longer than any reply may take (the daemon answers or fails within 2 s).
const PATIENCE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Samples {
    ok: Vec<Duration>,
    failed: Vec<String>,
}

/// The running client.
pub struct Keypress {
    samples: Arc<Mutex<Samples>>,
    stop: Arc<AtomicBool>,
    read_only: Arc<AtomicBool>,
    join: Option<std::thread::JoinHandle<()>>,
}

/// What it saw during one attack.
pub struct Seen {
    pub count: usize,
    pub failed: Vec<String>,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Seen {
    pub fn cell(&self) -> String {
        if self.count == 0 {
            return "-".into();
        }
        let f = |d: Duration| {
            if d >= Duration::from_millis(10) {
                format!("{:.0} ms", d.as_secs_f64() * 1e3)
            } else {
                format!("{:.2} ms", d.as_secs_f64() * 1e3)
            }
        };
        format!(
            "{} presses, {} failed; p50 {} p99 {} max {}",
            self.count,
            self.failed.len(),
            f(self.p50),
            f(self.p99),
            f(self.max)
        )
    }
}

fn press(socket: &PathBuf, volume: u32, read_only: bool) -> Result<(), String> {
    let s = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    let mut w = s.try_clone().map_err(|e| e.to_string())?;
    if read_only {
        writeln!(w, r#"{{"action":"get","app":"{APP}"}}"#)
    } else {
        writeln!(w, r#"{{"action":"set","app":"{APP}","amount":{volume}}}"#)
    }
    .map_err(|e| format!("write: {e}"))?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(|e| format!("read: {e}"))?;
    if line.starts_with(r#"{"ok":true"#) {
        Ok(())
    } else {
        Err(line.trim().to_owned())
    }
}

impl Keypress {
    pub fn start(socket: PathBuf) -> Keypress {
        let samples = Arc::new(Mutex::new(Samples::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let read_only = Arc::new(AtomicBool::new(false));
        let (s, st, ro) = (samples.clone(), stop.clone(), read_only.clone());
        let join = std::thread::spawn(move || {
            let mut i = 0u32;
            while !st.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = press(&socket, 30 + i % 20, ro.load(Ordering::Relaxed));
                let took = t.elapsed();
                {
                    let mut s = s.lock().expect("not poisoned");
                    match r {
                        Ok(()) => s.ok.push(took),
                        Err(e) => s.failed.push(e),
                    }
                }
                i += 1;
                // Paces the client, like a key repeat; not a synchronisation.
                std::thread::sleep(EVERY.saturating_sub(took));
            }
        });
        Keypress {
            samples,
            stop,
            read_only,
            join: Some(join),
        }
    }

    /// Presses ask (`get`) instead of change (`set`) while this is on: then they cause
    /// no events, for an attack that needs a quiet desktop.
    pub fn read_only(&self, on: bool) {
        self.read_only.store(on, Ordering::Relaxed);
    }

    /// Presses made since the last [`Keypress::take`].
    pub fn count(&self) -> usize {
        let s = self.samples.lock().expect("not poisoned");
        s.ok.len() + s.failed.len()
    }

    /// Successful presses since the last [`Keypress::take`].
    pub fn successes(&self) -> usize {
        self.samples.lock().expect("not poisoned").ok.len()
    }

    /// What was seen since the last call.
    pub fn take(&self) -> Seen {
        let s = std::mem::take(&mut *self.samples.lock().expect("not poisoned"));
        let mut ok = s.ok;
        ok.sort();
        let q = |p: f64| {
            ok.get(((ok.len().max(1) - 1) as f64 * p).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        Seen {
            count: ok.len() + s.failed.len(),
            p50: q(0.5),
            p99: q(0.99),
            max: ok.last().copied().unwrap_or_default(),
            failed: s.failed,
        }
    }
}

impl Drop for Keypress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}
