//! Independent observers: sway's binding events on our own IPC connection, and the
//! stream helper's report of the volumes PipeWire applied, both stamped with
//! CLOCK_MONOTONIC (one clock for every process on the machine).

use audio_daemon::compositor::sway::{decode_header, encode, EVENT_BINDING, SUBSCRIBE};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is valid for writes.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Binding events as sway sends them: (command, time received).
pub struct Bindings(Receiver<(String, u64)>);

impl Bindings {
    /// Subscribes on a connection of our own; a thread reads it (blocking, so the
    /// timestamp is taken the moment the event arrives).
    pub fn subscribe(sock: &Path) -> Result<Bindings, String> {
        let mut s = UnixStream::connect(sock).map_err(|e| format!("sway IPC: {e}"))?;
        s.write_all(&encode(SUBSCRIBE, br#"["binding"]"#))
            .map_err(|e| e.to_string())?;
        let (tx, rx) = channel();
        let (ok_tx, ok_rx) = channel();
        std::thread::spawn(move || loop {
            let mut h = [0u8; 14];
            if s.read_exact(&mut h).is_err() {
                return;
            }
            let t = monotonic_ns();
            let Ok((len, kind)) = decode_header(&h) else {
                return;
            };
            let mut payload = vec![0u8; len as usize];
            if s.read_exact(&mut payload).is_err() {
                return;
            }
            if kind == SUBSCRIBE {
                let _ = ok_tx.send(());
            } else if kind == EVENT_BINDING {
                let v: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
                let cmd = v["binding"]["command"].as_str().unwrap_or("").to_owned();
                if tx.send((cmd, t)).is_err() {
                    return;
                }
            }
        });
        ok_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| "sway did not confirm the subscription")?;
        Ok(Bindings(rx))
    }

    /// The next event whose command contains `needle`, within `timeout`.
    pub fn next(&self, needle: &str, timeout: Duration) -> Result<u64, String> {
        let end = std::time::Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.0.recv_timeout(left) {
                Ok((cmd, t)) if cmd.contains(needle) => return Ok(t),
                Ok(_) => {}
                Err(_) => return Err(format!("no binding event for {needle:?} in {timeout:?}")),
            }
        }
    }

    pub fn drain(&self) {
        while self.0.try_recv().is_ok() {}
    }
}

/// `volume NODE NS V…` lines of a stream helper started with `--report-volume`.
pub struct Volumes(Receiver<(u32, u64, Vec<f32>)>);

impl Volumes {
    /// Reads the helper's stdout on a thread.
    pub fn read(out: std::process::ChildStdout) -> Volumes {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                let w: Vec<&str> = line.split_whitespace().collect();
                if let ["volume", node, ns, rest @ ..] = w.as_slice() {
                    let (Ok(node), Ok(ns)) = (node.parse(), ns.parse()) else {
                        continue;
                    };
                    let v = rest.iter().filter_map(|x| x.parse().ok()).collect();
                    if tx.send((node, ns, v)).is_err() {
                        return;
                    }
                }
            }
        });
        Volumes(rx)
    }

    /// The next report for `node`, within `timeout`.
    pub fn next(&self, node: u32, timeout: Duration) -> Result<(u64, Vec<f32>), String> {
        let end = std::time::Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.0.recv_timeout(left) {
                Ok((n, t, v)) if n == node => return Ok((t, v)),
                Ok(_) => {}
                Err(_) => return Err(format!("node {node} reported no volume in {timeout:?}")),
            }
        }
    }

    /// The last report before the stream has been quiet for `quiet` (None: no report
    /// at all in that time). Used to see that a ramp has stopped: absence of changes
    /// over a window many ramp ticks long, bounded by `deadline`.
    pub fn settle(
        &self,
        node: u32,
        quiet: Duration,
        deadline: Duration,
    ) -> Result<Option<Vec<f32>>, String> {
        let end = std::time::Instant::now() + deadline;
        let mut last = None;
        loop {
            if std::time::Instant::now() > end {
                return Err(format!("node {node} kept changing for {deadline:?}"));
            }
            match self.0.recv_timeout(quiet) {
                Ok((n, _, v)) if n == node => last = Some(v),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Ok(last),
                Err(RecvTimeoutError::Disconnected) => return Err("helper gone".into()),
            }
        }
    }

    pub fn drain(&self) {
        while self.0.try_recv().is_ok() {}
    }
}
