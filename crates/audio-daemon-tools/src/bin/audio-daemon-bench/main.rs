//! `audio-daemon-bench`: the benchmark of issue 4, in one run against a private PipeWire.
//!
//! It starts its own PipeWire + WirePlumber + null sink (the integration tests' harness,
//! `audio_daemon_testkit`), the release daemon and synthetic app streams, measures the
//! eight sections (keypress, in-daemon round trip and its raw floor, visibility, key-repeat
//! bursts, scale and churn, footprint, concurrency, restoring remembered volumes on
//! re-created streams), prints one table and writes the same
//! figures as JSON. Sibling binaries (`audio-daemon`, `audioctl`, `audio-daemon-streams`)
//! are taken from the directory this executable lives in, so build them together:
//!
//! ```text
//! cargo build --release --bin audio-daemon-bench --bin audio-daemon --bin audioctl \
//!     --bin audio-daemon-streams
//! target/release/audio-daemon-bench [--quick] [--json PATH]
//! ```
//!
//! Targets are reported, never asserted; the exit status is non-zero only when something
//! functionally failed (an error reply, a wrong final volume, a missed or stale stream).

mod burst;
mod concurrency;
mod footprint;
mod keypress;
mod rawpw;
mod report;
mod restore;
mod roundtrip;
mod scale;
mod stats;

use audio_daemon_ipc::{AppState, Request, Response, Stats};
use audio_daemon_testkit::{self as testkit, Client, Daemon, Session, Streams};
use report::Report;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: audio-daemon-bench [--quick] [--only N,N...] [--json PATH]

Starts a private PipeWire, the release daemon and test streams, runs every benchmark of
issue 4 and prints a table; the same figures go to PATH (default bench-results.json).
--quick  a few hundred requests, short bursts, small sizes: a smoke test for CI (< 60 s).
--only   run only the sections with these numbers (e.g. --only 1 for the keypress table).
Exit status: 0 ok, 1 a functional failure, 2 usage, 3 could not set up.";

/// The app every latency section drives: one linked stream, matched by the built-in rule.
pub const PROBE_APP: &str = "vesktop";
/// Bulk apps for the scale section, matched by `application.name=appN`.
pub const BULK_APPS: usize = 50;

/// How much of everything to do; `--quick` shrinks all of it.
pub struct Sizes {
    pub keypress_rounds: usize,
    pub roundtrip: usize,
    pub raw: usize,
    pub visibility: usize,
    pub burst: Duration,
    pub clients: usize,
    pub per_client: usize,
    pub idle: Duration,
    pub scale: &'static [usize],
    pub scale_requests: usize,
    pub churn: Duration,
}

const FULL: Sizes = Sizes {
    keypress_rounds: 100,
    roundtrip: 5000,
    raw: 5000,
    visibility: 1000,
    burst: Duration::from_secs(5),
    clients: 100,
    per_client: 1000,
    idle: Duration::from_secs(10),
    scale: &[10, 100, 500, 1000],
    scale_requests: 300,
    churn: Duration::from_secs(5),
};

const QUICK: Sizes = Sizes {
    keypress_rounds: 4,
    roundtrip: 100,
    raw: 100,
    visibility: 50,
    burst: Duration::from_millis(500),
    clients: 10,
    per_client: 20,
    idle: Duration::from_secs(1),
    scale: &[10, 50],
    scale_requests: 20,
    churn: Duration::from_secs(1),
};

/// Everything the sections share. Field order is drop order: the daemon and streams go
/// before the session that runs their PipeWire.
pub struct Bench {
    pub sizes: &'static Sizes,
    pub quick: bool,
    pub observer: rawpw::Observer,
    pub daemon: Daemon,
    pub probe: Streams,
    pub probe_id: u32,
    pub session: Session,
    pub report: Report,
    /// The daemon's memory and CPU around the concurrency section's requests.
    pub load: Option<footprint::Load>,
}

impl Bench {
    pub fn client(&self) -> Result<Client, String> {
        self.daemon.client()
    }

    /// One request on a fresh connection; an error reply is an error.
    pub fn call(&self, req: &Request) -> Result<Response, String> {
        self.client()?
            .call(req)?
            .map_err(|e| format!("{req:?}: {e}"))
    }

    pub fn app(&self, app: &str) -> Result<AppState, String> {
        match self.call(&Request::Get { app: app.into() })? {
            Response::App(a) => Ok(a),
            other => Err(format!("unexpected reply {other:?}")),
        }
    }

    pub fn set(&self, app: &str, volume: f64) -> Result<(), String> {
        self.call(&Request::Set {
            app: app.into(),
            volume,
        })
        .map(drop)
    }

    pub fn stats(&self) -> Result<Stats, String> {
        match self.call(&Request::Stats)? {
            Response::Stats(s) => Ok(s),
            other => Err(format!("unexpected reply {other:?}")),
        }
    }

    pub fn daemon_pid(&self) -> u32 {
        self.daemon.proc.pid()
    }

    /// Replaces PipeWire, WirePlumber, the probe and the daemon with new ones.
    pub fn fresh_stack(&mut self) -> Result<(), String> {
        let (session, probe, daemon, observer) = stack(&self.session.bin(""))?;
        // Assigning drops the old ones: the daemon and streams before their PipeWire.
        self.daemon = daemon;
        self.probe_id = *probe.ids.first().ok_or("the probe stream has no id")?;
        self.probe = probe;
        self.observer = observer;
        self.session = session;
        self.wait_probe()
    }

    fn wait_probe(&self) -> Result<(), String> {
        testkit::wait_until(
            testkit::SETUP_TIMEOUT,
            "the daemon to see the probe",
            || {
                self.app(PROBE_APP)
                    .is_ok_and(|a| a.streams.len() == 1 && a.volume.is_some())
            },
        )
    }
}

/// A private PipeWire + WirePlumber with the probe stream, the daemon and the observer.
fn stack(bin_dir: &Path) -> Result<(Session, Streams, Daemon, rawpw::Observer), String> {
    let session = Session::start(bin_dir)?;
    let probe = session.streams(1, &[("application.name", PROBE_APP)])?;
    let daemon = session.daemon(&config())?;
    let observer = rawpw::Observer::start(&session.runtime_dir().join("pipewire-0"))?;
    Ok((session, probe, daemon, observer))
}

/// The daemon's config: the built-in apps (the probe is `vesktop`) plus 50 bulk apps.
/// Pacing is off: these sections measure what one request costs, thousands back to back
/// on one stream, which pacing would turn into a measurement of its 60 per second. A key
/// press is never paced (see the state's `control.rs`); the attack suite's flood section
/// measures pacing itself.
fn config() -> String {
    let apps: serde_json::Map<String, serde_json::Value> = (0..BULK_APPS)
        .map(|i| {
            let name = format!("app{i}");
            let rule = json!({ "match": [ { "application.name": name } ] });
            (name, rule)
        })
        .collect();
    json!({ "apps": apps, "rate_limit": null }).to_string()
}

fn setup(sizes: &'static Sizes, quick: bool) -> Result<Bench, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let bin_dir = exe.parent().ok_or("the executable has no directory")?;
    for b in ["audio-daemon", "audioctl", "audio-daemon-streams"] {
        if !bin_dir.join(b).is_file() {
            return Err(format!(
                "{b} is not next to the bench in {}; build it too (see --help)",
                bin_dir.display()
            ));
        }
    }
    let (session, probe, daemon, observer) = stack(bin_dir)?;
    let probe_id = *probe.ids.first().ok_or("the probe stream has no id")?;
    let mut b = Bench {
        sizes,
        quick,
        observer,
        daemon,
        probe,
        probe_id,
        session,
        report: Report::default(),
        load: None,
    };
    b.wait_probe()?;
    b.report.meta("quick", json!(quick));
    b.report.meta("machine", machine());
    Ok(b)
}

/// nproc, CPU model, kernel and date: a table is meaningless without them.
fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_default();
    let run = |c: &str, a: &[&str]| {
        std::process::Command::new(c)
            .args(a)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    json!({
        "nproc": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu": cpu,
        "kernel": run("uname", &["-r"]),
        "date": run("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
    })
}

fn main() -> ExitCode {
    let mut quick = false;
    let mut only: Option<Vec<String>> = None;
    let mut json_path = PathBuf::from("bench-results.json");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--only" => match args.next() {
                Some(list) => only = Some(list.split(',').map(|n| n.trim().to_owned()).collect()),
                None => {
                    eprintln!("--only needs a list of section numbers\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--json" => match args.next() {
                Some(p) => json_path = PathBuf::from(p),
                None => {
                    eprintln!("--json needs a path\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
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
    let sizes = if quick { &QUICK } else { &FULL };
    // A section's name starts with its number.
    let wanted = |name: &str| {
        only.as_ref()
            .is_none_or(|o| o.iter().any(|n| name.split(' ').next() == Some(n.as_str())))
    };
    let started = Instant::now();
    let mut b = match setup(sizes, quick) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("audio-daemon-bench: set-up failed: {e}");
            return ExitCode::from(3);
        }
    };
    // Order matters: footprint is taken fresh, then around the 100k requests of the
    // concurrency section, and scale runs last because its streams stay in the graph.
    let idle = footprint::Mem::of(b.daemon_pid());
    // WirePlumber is still arranging the fresh graph for a moment after set-up.
    footprint::quiesce(b.daemon_pid(), Duration::from_secs(10));
    type Section = fn(&mut Bench) -> Result<(), String>;
    let sections: [(&'static str, Section); 5] = [
        ("1 keypress", keypress::run),
        ("2 round trip", roundtrip::run),
        ("3 visibility", roundtrip::visibility),
        ("4 burst", burst::run),
        ("7 concurrency", concurrency::run),
    ];
    for (name, f) in sections.into_iter().filter(|(n, _)| wanted(n)) {
        eprintln!("audio-daemon-bench: {name}…");
        if let Err(e) = f(&mut b) {
            b.report.fail(name, e);
        }
    }
    if wanted("6 footprint") {
        eprintln!("audio-daemon-bench: 6 footprint…");
        if let Err(e) = footprint::run(&mut b, idle) {
            b.report.fail("6 footprint", e);
        }
    }
    if wanted("8 restore") {
        eprintln!("audio-daemon-bench: 8 restore…");
        if let Err(e) = restore::run(&mut b) {
            b.report.fail("8 restore", e);
        }
    }
    if wanted("5 scale") {
        eprintln!("audio-daemon-bench: 5 scale…");
        if let Err(e) = scale::run(&mut b) {
            b.report.fail("5 scale", e);
        }
    }
    let total = started.elapsed();
    b.report.meta("seconds", json!(total.as_secs_f64()));
    print!("{}", b.report.table());
    println!(
        "total {:.1} s{}",
        total.as_secs_f64(),
        if quick { " (--quick)" } else { "" }
    );
    let text = serde_json::to_string_pretty(&b.report.to_json()).expect("JSON serializes");
    if let Err(e) = std::fs::write(&json_path, text + "\n") {
        eprintln!("audio-daemon-bench: {}: {e}", json_path.display());
        return ExitCode::FAILURE;
    }
    if b.report.failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    // The daemon's log lives in the session directory, which is gone after this run.
    let log = std::fs::read_to_string(&b.daemon.log).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    eprintln!("audio-daemon-bench: the daemon's log ends with:");
    for l in tail.iter().rev() {
        eprintln!("  {l}");
    }
    ExitCode::FAILURE
}
