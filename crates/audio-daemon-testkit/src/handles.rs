//! Handles on what a session runs: test streams, the daemon, and a blocking client.

use super::{wait_until, Proc, SETUP_TIMEOUT};
use audio_daemon_ipc::{self as protocol, Reply, Request};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ChildStdin;
use std::time::Duration;

/// A group of test streams; they vanish when this is dropped.
pub struct Streams {
    pub proc: Proc,
    stdin: Option<ChildStdin>,
    out: BufReader<std::process::ChildStdout>,
    pub ids: Vec<u32>,
}

impl Streams {
    /// Takes over a started `audio-daemon-streams` and waits for its `ready` line.
    pub(super) fn wait_ready(mut child: std::process::Child) -> Result<Streams, String> {
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().ok_or("stdout not piped")?);
        let mut s = Streams {
            proc: Proc {
                child,
                name: "audio-daemon-streams",
            },
            stdin,
            out,
            ids: Vec::new(),
        };
        loop {
            match s.next_line()?.as_str() {
                "ready" => return Ok(s),
                l => {
                    if let Some(id) = l.strip_prefix("node ").and_then(|i| i.parse().ok()) {
                        s.ids.push(id);
                    }
                }
            }
        }
    }

    fn next_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        let n = self.out.read_line(&mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("audio-daemon-streams exited early".into());
        }
        Ok(line.trim_end().to_owned())
    }

    /// Adds one stream; returns its node id.
    pub fn add(&mut self) -> Result<u32, String> {
        self.command("add")?;
        let line = self.next_line()?;
        let id = line
            .strip_prefix("node ")
            .and_then(|i| i.parse().ok())
            .ok_or(format!("unexpected: {line}"))?;
        self.ids.push(id);
        Ok(id)
    }

    /// Removes one stream (it disconnects from PipeWire).
    pub fn remove(&mut self, id: u32) -> Result<(), String> {
        self.command(&format!("remove {id}"))?;
        let line = self.next_line()?;
        self.ids.retain(|&i| i != id);
        (line == format!("removed {id}")).then_some(()).ok_or(line)
    }

    fn command(&mut self, cmd: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{cmd}")
            .and_then(|_| stdin.flush())
            .map_err(|e| e.to_string())
    }
}

/// The daemon under test.
pub struct Daemon {
    pub proc: Proc,
    pub socket: PathBuf,
    pub config: PathBuf,
    /// The daemon's stderr.
    pub log: PathBuf,
}

impl Daemon {
    /// Waits until the socket answers and the daemon reports a PipeWire connection.
    pub fn wait_connected(&mut self) -> Result<(), String> {
        let mut last = String::new();
        let r = wait_until(
            SETUP_TIMEOUT,
            "the daemon to connect",
            || match Client::connect(&self.socket).and_then(|mut c| c.call(&Request::Stats)) {
                Ok(Ok(protocol::Response::Stats(s))) => s.connected,
                other => {
                    last = format!("{other:?}");
                    false
                }
            },
        );
        if let Some(status) = self.proc.exited() {
            return Err(format!("audio-daemon exited: {status}"));
        }
        r.map_err(|e| format!("{e} (last: {last}; log: {})", self.log()))
    }

    /// What the daemon has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn client(&self) -> Result<Client, String> {
        Client::connect(&self.socket)
    }
}

/// A minimal blocking client for tests and benchmarks.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    pub fn connect(path: &Path) -> Result<Client, String> {
        let s =
            UnixStream::connect(path).map_err(|e| format!("connect {}: {e}", path.display()))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let writer = s.try_clone().map_err(|e| e.to_string())?;
        Ok(Client {
            reader: BufReader::new(s),
            writer,
        })
    }

    /// Writes raw bytes (for malformed-input tests).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.writer.write_all(bytes).map_err(|e| e.to_string())
    }

    /// Reads one raw line; None at EOF.
    pub fn read_line(&mut self) -> Result<Option<String>, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(line.trim_end().to_owned())),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn call(&mut self, req: &Request) -> Result<Reply, String> {
        self.send_raw(format!("{}\n", req.to_line()).as_bytes())?;
        let line = self.read_line()?.ok_or("connection closed")?;
        protocol::reply_from_line(&line).map_err(|e| format!("{e}: {line}"))
    }
}
