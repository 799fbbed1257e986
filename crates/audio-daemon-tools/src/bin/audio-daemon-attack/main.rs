//! `audio-daemon-attack`: the reliability suite of issue 13, against the release daemon
//! on a private PipeWire (the tests' harness, `audio_daemon_testkit`).
//!
//! Attacks, each while a keypress client (`keypress.rs`) is timed on an app of its own:
//! protocol fuzzing (`fuzz.rs`, seeded: `gen.rs`), 1,000 SIGHUPs with configs that add,
//! remove and reorder apps, PipeWire and WirePlumber killed and restarted, idle and
//! half-open connections over the cap, two daemons started at once, a stopped stream
//! client, subscribers that hang up at once, a hung Hyprland and sway, log floods
//! (bindings, failing keys, vanishing streams), and a `set` flood
//! on a 50-stream app with WirePlumber's CPU and memory measured paced and unpaced. It
//! prints one table and exits non-zero if any invariant broke. Sibling binaries are
//! taken from its own directory:
//!
//! ```text
//! cargo build --release --bins
//! target/release/audio-daemon-attack [--full] [--seed N]
//! ```
//!
//! `--full` (or `AUDIO_DAEMON_ATTACK_FULL=1`) fuzzes 10^6 lines instead of 10^5 and runs
//! longer loops; a failure prints the seed to rerun it with.

mod attacks;
mod clients;
mod compositors;
mod flood;
mod fuzz;
mod gen;
mod keypress;
mod logs;
mod standin;

use audio_daemon_ipc::{Request, Response};
use audio_daemon_testkit::{self as testkit, Client, Daemon, Proc, Session, Streams};
use keypress::Keypress;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: audio-daemon-attack [--full] [--seed N] [--only NAME]

Attacks the release daemon on a private PipeWire and prints a table: attack, count,
outcome, and the latency of a keypress client timed meanwhile. --full (or
AUDIO_DAEMON_ATTACK_FULL=1): 10^6 fuzzed lines and longer loops. --only runs one of
fuzz, reloads, idle, subscribers, frozen, start, restarts, hung, logs, flood.
Exit status: 0 every invariant held, 1 one broke, 2 usage, 3 could not set up.";

/// How much of everything.
pub struct Sizes {
    pub fuzz_lines: usize,
    pub sighups: usize,
    pub restarts: usize,
    pub starts: usize,
    pub subscribers: usize,
    pub flood: Duration,
    /// How long WirePlumber is watched after a flood, for the row's "busy after".
    pub calm: Duration,
}

const CI: Sizes = Sizes {
    fuzz_lines: 100_000,
    sighups: 1000,
    restarts: 5,
    starts: 10,
    subscribers: 2000,
    flood: Duration::from_secs(5),
    calm: Duration::from_secs(15),
};

const FULL: Sizes = Sizes {
    fuzz_lines: 1_000_000,
    sighups: 1000,
    restarts: 20,
    starts: 50,
    subscribers: 10_000,
    flood: Duration::from_secs(10),
    calm: Duration::from_secs(120),
};

/// A private PipeWire, the daemon, and the streams the attacks use: `vesktop` and
/// `youtube` are attacked, `music` is the keypress client's.
pub struct Harness {
    pub daemon: Daemon,
    pub streams: Vec<Streams>,
    pub session: Session,
}

impl Harness {
    pub fn start(bin_dir: &std::path::Path, config: &str) -> Result<Harness, String> {
        let session = Session::start(bin_dir)?;
        let mut h = Harness {
            daemon: session.daemon(config)?,
            streams: Vec::new(),
            session,
        };
        h.spawn_streams()?;
        Ok(h)
    }

    /// The three apps' streams (again, after PipeWire restarted).
    pub fn spawn_streams(&mut self) -> Result<(), String> {
        self.streams.clear();
        let s = &self.session;
        self.streams.push(s.streams(
            1,
            &[("application.name", "vesktop"), ("media.role", "atk-v")],
        )?);
        self.streams.push(s.streams(
            1,
            &[("media.name", "youtube - attack"), ("media.role", "atk-y")],
        )?);
        self.streams.push(s.streams(
            1,
            &[("application.name", "spotify"), ("media.role", "atk-m")],
        )?);
        for app in ["vesktop", "youtube", keypress::APP] {
            testkit::wait_until(testkit::SETUP_TIMEOUT, "the daemon to see a stream", || {
                self.app_has_volume(app)
            })?;
        }
        Ok(())
    }

    fn app_has_volume(&self, app: &str) -> bool {
        matches!(
            self.call(&Request::Get { app: app.into() }),
            Ok(Ok(Response::App(a))) if a.volume.is_some()
        )
    }

    pub fn call(&self, req: &Request) -> Result<audio_daemon_ipc::Reply, String> {
        Client::connect(&self.daemon.socket)?.call(req)
    }

    /// Another daemon on this session's PipeWire, on a socket and a config of its own
    /// (`NAME.sock`, `NAME.json`, in the runtime dir), with `env` added and its stderr
    /// to `stderr`; returns it and its socket.
    pub fn other_daemon(
        &self,
        name: &str,
        env: &[(&str, String)],
        stderr: Stdio,
    ) -> Result<(Proc, PathBuf), String> {
        let s = &self.session;
        let sock = s.runtime_dir().join(format!("{name}.sock"));
        let config = s.runtime_dir().join(format!("{name}.json"));
        std::fs::write(&config, r#"{"waybar_signal":null}"#).map_err(|e| e.to_string())?;
        let mut cmd = s.command(s.bin("audio-daemon"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .arg("--socket")
            .arg(&sock)
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("audio-daemon: {e}"))?;
        let daemon = Proc {
            child,
            name: "audio-daemon",
        };
        Ok((daemon, sock))
    }

    /// The attacked streams and the sink: what a rejected request must not change.
    pub fn stream_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.streams[..2]
            .iter()
            .flat_map(|s| s.ids.iter().copied())
            .collect();
        ids.push(self.session.sink_id);
        ids
    }

    pub fn pid(&self) -> u32 {
        self.daemon.proc.pid()
    }

    /// The daemon's open descriptors.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |d| d.count())
    }

    /// Private memory (RssAnon) after a request on a fresh connection: when a burst's
    /// connections are gone the daemon trims its heap (only the keypress client's
    /// connection, one at most, may be open meanwhile).
    pub fn quiet_private_kib(&self) -> u64 {
        let _ = self.call(&Request::Stats);
        status_kib(self.pid(), "RssAnon:")
    }
}

/// A `/proc/PID/status` field in KiB.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// User + system CPU time of a process, in clock ticks (100 a second here).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// One row of the table.
pub struct Row {
    pub attack: String,
    pub count: String,
    pub outcome: Result<String, String>,
    pub keypress: String,
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<28} {:<30} {:<8} keypress client meanwhile",
        "attack", "count", "outcome"
    );
    for r in rows {
        let (status, detail) = match &r.outcome {
            Ok(d) => ("held", d.as_str()),
            Err(d) => ("BROKEN", d.as_str()),
        };
        println!(
            "{:<28} {:<30} {:<8} {}",
            r.attack, r.count, status, r.keypress
        );
        if !detail.is_empty() {
            println!("{:<28} {detail}", "");
        }
    }
}

fn fuzz_row(h: &mut Harness, sizes: &Sizes, seed: u64, keys: &Keypress) -> Row {
    let f = fuzz::run(h, sizes.fuzz_lines, seed);
    let kinds: Vec<String> = f.kinds.iter().map(|(k, n)| format!("{k:?} {n}")).collect();
    Row {
        attack: "protocol fuzzing".into(),
        count: format!("{} lines, {} replies", f.lines, f.replies),
        outcome: if f.violations.is_empty() {
            Ok(format!(
                "seed {seed}; {}; private memory {} -> {} KiB",
                kinds.join(", "),
                f.rss_kib.0,
                f.rss_kib.1
            ))
        } else {
            Err(format!("seed {seed}: {}", f.violations.join("; ")))
        },
        keypress: keys.take().cell(),
    }
}

fn main() -> ExitCode {
    let mut full = std::env::var("AUDIO_DAEMON_ATTACK_FULL").is_ok_and(|v| v == "1");
    let mut seed = 13u64;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--full" => full = true,
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => {
                    eprintln!("--seed needs a number\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--only" => only = args.next(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let sizes = if full { &FULL } else { &CI };
    // Hundreds of connections at once: as many descriptors as this user may have.
    let _ = audio_daemon::server::slots::raise_nofile_limit();
    let bin_dir: PathBuf = match std::env::current_exe() {
        Ok(p) => p.parent().map(|d| d.to_owned()).unwrap_or_default(),
        Err(e) => {
            eprintln!("audio-daemon-attack: {e}");
            return ExitCode::from(3);
        }
    };
    let started = Instant::now();
    let mut h = match Harness::start(&bin_dir, "{}") {
        Ok(h) => h,
        Err(e) => {
            eprintln!("audio-daemon-attack: set-up failed: {e}");
            return ExitCode::from(3);
        }
    };
    let keys = Keypress::start(h.daemon.socket.clone());
    let mut rows = Vec::new();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if wanted("fuzz") {
        eprintln!(
            "audio-daemon-attack: fuzzing {} lines (seed {seed})…",
            sizes.fuzz_lines
        );
        rows.push(fuzz_row(&mut h, sizes, seed, &keys));
    }
    type Attack = fn(&mut Harness, &Sizes, &Keypress) -> Row;
    let attacks: [(&str, Attack); 8] = [
        ("reloads", attacks::reloads),
        ("idle", clients::idle_over_cap),
        ("subscribers", clients::subscribers_hang_up),
        ("frozen", clients::frozen_client),
        ("start", attacks::concurrent_start),
        ("restarts", attacks::restarts),
        ("hung", compositors::hung_compositor),
        ("logs", logs::log_floods),
    ];
    for (name, attack) in attacks {
        if wanted(name) {
            eprintln!("audio-daemon-attack: {name}…");
            rows.push(attack(&mut h, sizes, &keys));
        }
    }
    drop(keys);
    let alive = h.daemon.proc.exited().is_none();
    drop(h);
    if wanted("flood") {
        eprintln!("audio-daemon-attack: flood…");
        rows.extend(flood::run(&bin_dir, sizes));
    }
    print_table(&rows);
    println!(
        "total {:.0} s{}",
        started.elapsed().as_secs_f64(),
        if full { " (--full)" } else { "" }
    );
    if alive && rows.iter().all(|r| r.outcome.is_ok()) {
        ExitCode::SUCCESS
    } else {
        if !alive {
            println!("the daemon died during the attacks");
        }
        ExitCode::FAILURE
    }
}
