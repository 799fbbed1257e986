//! Shared set-up for the integration tests: a private PipeWire per test.

#![allow(dead_code)] // each test binary uses a different part of this

use audio_daemon_ipc::{AppState, Reply, Request, Response};
use audio_daemon_testkit::{self as testkit, Client, Daemon, Session};
use std::path::PathBuf;
use std::time::Duration;

/// Where cargo put this package's binaries (or where a test re-run as another user
/// finds its copies: `testkit::desktop::rerun_unprivileged`).
pub fn bin_dir() -> PathBuf {
    testkit::desktop::bin_dir_or(
        PathBuf::from(env!("CARGO_BIN_EXE_audio-daemon"))
            .parent()
            .expect("binary has a directory")
            .to_owned(),
    )
}

/// A fresh session; anything that goes wrong fails the test loudly. (Where there is no
/// PipeWire, `AUDIO_DAEMON_PW_TESTS=0` marks these tests ignored at build time: build.rs.)
pub fn session() -> Session {
    Session::start(&bin_dir()).expect("start a private PipeWire")
}

/// Props of a Vesktop-like voice stream, with a role unique to the test so that
/// WirePlumber's remembered volumes cannot leak between tests.
pub fn vesktop(role: &str) -> Vec<(String, String)> {
    vec![
        ("application.name".into(), "vesktop".into()),
        (
            "application.process.binary".into(),
            ".vesktop-wrapped".into(),
        ),
        ("media.name".into(), "WEBRTC VoiceEngine".into()),
        ("media.role".into(), role.into()),
    ]
}

pub fn props(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub fn call(d: &Daemon, req: Request) -> Reply {
    d.client().expect("connect").call(&req).expect("reply")
}

pub fn app(reply: Reply) -> AppState {
    match reply {
        Ok(Response::App(a)) => a,
        other => panic!("expected an app, got {other:?}"),
    }
}

pub fn up(app: &str, amount: Option<f64>) -> Request {
    Request::Up {
        app: app.into(),
        amount,
    }
}

pub fn down(app: &str, amount: Option<f64>) -> Request {
    Request::Down {
        app: app.into(),
        amount,
    }
}

pub fn set(app: &str, volume: f64) -> Request {
    Request::Set {
        app: app.into(),
        volume,
    }
}

pub fn get(app: &str) -> Request {
    Request::Get { app: app.into() }
}

/// Asserts what wpctl (not the daemon) says about a node, to wpctl's two decimals.
pub fn assert_wpctl(s: &Session, id: u32, volume: f64, muted: bool) {
    let (v, m) = s.wpctl_volume(id).expect("wpctl knows the node");
    assert!(
        (v - volume).abs() < 0.006 && m == muted,
        "wpctl says node {id} is {v} muted={m}, expected {volume} muted={muted}"
    );
}

/// Waits until wpctl reports the node at `volume` (for changes made outside a request).
pub fn wait_wpctl(s: &Session, id: u32, volume: f64) {
    testkit::wait_until(Duration::from_secs(5), "wpctl to show the volume", || {
        s.wpctl_volume(id)
            .is_some_and(|(v, _)| (v - volume).abs() < 0.006)
    })
    .unwrap();
}

pub fn connect(d: &Daemon) -> Client {
    d.client().expect("connect")
}

/// Waits (5 s at most) until the daemon's view of `app_name` satisfies `cond`: the
/// daemon learns of PipeWire changes by events, so a test waits for the event, not a time.
pub fn wait_app(d: &Daemon, app_name: &str, what: &str, cond: impl Fn(&AppState) -> bool) {
    testkit::wait_until(Duration::from_secs(5), what, || {
        cond(&app(call(d, get(app_name))))
    })
    .unwrap();
}

/// A stand-in waybar: a script that records every `SIGRTMIN+8` it gets (the default
/// `waybar_signal`). Its process name (comm) is the script's file name as the kernel
/// keeps it: cut to 15 bytes.
pub struct SignalRecorder {
    proc: testkit::Proc,
    log: PathBuf,
}

impl SignalRecorder {
    /// Starts the recorder as `name` and waits until it has set its trap.
    pub fn start(s: &Session, name: &str) -> SignalRecorder {
        use std::os::unix::fs::PermissionsExt;
        let dir = s.runtime_dir().join("recorders");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join(format!("{name}.log"));
        let script = dir.join(name);
        std::fs::write(
            &script,
            format!(
                "#!/bin/bash\ntrap 'echo got >> \"{log}\"' RTMIN+8\necho started >> \"{log}\"\n\
                 while :; do sleep 0.2 & wait $!; done\n",
                log = log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rec = SignalRecorder {
            proc: testkit::Proc {
                child: s.command(&script).spawn().unwrap(),
                name: "signal recorder",
            },
            log,
        };
        testkit::wait_until(Duration::from_secs(5), "the recorder to start", || {
            rec.count("started") == 1
        })
        .unwrap();
        rec
    }

    /// How many lines `word` the recorder has written ("got": signals received).
    pub fn count(&self, word: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == word)
            .count()
    }

    pub fn signals(&self) -> usize {
        self.count("got")
    }

    /// The process name the kernel reports, which is what the daemon looks at.
    pub fn comm(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/comm", self.proc.pid()))
            .unwrap()
            .trim_end()
            .to_owned()
    }
}

/// `audioctl ARGS` against the daemon: (exit code, stdout, stderr).
pub fn audioctl(s: &Session, d: &Daemon, args: &[&str]) -> (Option<i32>, String, String) {
    let out = s
        .command(s.bin("audioctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(args)
        .output()
        .expect("run audioctl");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
