//! Attacks on the daemon's life cycle: reloads, concurrent starts, PipeWire restarts.

use crate::keypress::{self, Keypress};
use crate::{Harness, Row, Sizes};
use audio_daemon_ipc::{self as protocol, ErrorKind, Request};
use audio_daemon_testkit::{self as testkit, wait_until, Proc};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Configs that add, remove and rename apps around the built-in ones, so every app's
/// index moves. Each keeps `music` (the keypress client's app).
const CONFIGS: &[&str] = &[
    r#"{"waybar_signal":null}"#,
    r#"{"waybar_signal":null,"apps":{"aaa":{"match":[{"media.name":"*youtube*"}]}}}"#,
    r#"{"waybar_signal":null,"apps":{"aab":{"match":[{"application.name":"vesktop"}]},"zzz":{"match":[{"media.name":"x"}]}}}"#,
    r#"{"waybar_signal":null,"builtin_apps":false,"apps":{"music":{"match":[{"application.name":"*spotify*"}]},"yt":{"match":[{"media.name":"*youtube*"}]}}}"#,
    r#"{"waybar_signal":null,"apps":{"aaa":{"match":[{"media.name":"*youtube*"}]},"youtube":{"match":[{"media.name":"*attack*"}],"label":"YT"}}}"#,
];

/// Requests against apps that come and go, on one connection, until `stop`.
fn churn(h: &Harness, stop: &AtomicBool, answered: &AtomicUsize, bad: &AtomicUsize) {
    let apps = ["youtube", "aaa", "aab", "yt", "vesktop", "zzz"];
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut c) = testkit::Client::connect(&h.daemon.socket) else {
            // The daemon always accepts: it is gone, and the attack reports that.
            bad.fetch_add(1, Ordering::Relaxed);
            return;
        };
        for _ in 0..50 {
            let app = apps[i % apps.len()].to_owned();
            let req = match i % 3 {
                0 => Request::Get { app },
                1 => Request::Set {
                    app,
                    volume: 40.0 + (i % 10) as f64,
                },
                _ => Request::List,
            };
            i += 1;
            match c.call(&req) {
                // Any reply is fine (apps vanish and come back); a missing one is not.
                Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                Err(_) => bad.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
}

pub fn reloads(h: &mut Harness, sizes: &Sizes, keys: &Keypress) -> Row {
    let (stop, answered, bad) = (
        AtomicBool::new(false),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let reloads_before = h.daemon.log().matches("configuration reloaded").count();
    let tmp = h.daemon.config.with_extension("tmp");
    let outcome = std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| churn(h, &stop, &answered, &bad));
        }
        let r = (|| {
            for i in 0..sizes.sighups {
                // Written whole, then renamed: a reload never reads half a file.
                std::fs::write(&tmp, CONFIGS[i % CONFIGS.len()]).map_err(|e| e.to_string())?;
                std::fs::rename(&tmp, &h.daemon.config).map_err(|e| e.to_string())?;
                h.daemon.proc.signal(libc::SIGHUP);
            }
            // A last config with a marker app: once it answers, every reload is done.
            std::fs::write(
                &h.daemon.config,
                r#"{"waybar_signal":null,"apps":{"marker":{"match":[{"media.name":"m"}]}}}"#,
            )
            .map_err(|e| e.to_string())?;
            h.daemon.proc.signal(libc::SIGHUP);
            wait_until(Duration::from_secs(20), "the last reload", || {
                h.call(&Request::Get {
                    app: "marker".into(),
                })
                .is_ok_and(|r| r.is_ok())
            })
        })();
        stop.store(true, Ordering::Relaxed);
        r
    });
    let reloads = h.daemon.log().matches("configuration reloaded").count() - reloads_before;
    let alive = h.daemon.proc.exited().is_none();
    let bad = bad.load(Ordering::Relaxed);
    // Back to the defaults for the attacks that follow.
    let _ = std::fs::write(&h.daemon.config, CONFIGS[0]);
    h.daemon.proc.signal(libc::SIGHUP);
    let _ = wait_until(Duration::from_secs(10), "the default config", || {
        h.call(&Request::Get {
            app: "marker".into(),
        })
        .is_ok_and(|r| r.is_err_and(|e| e.kind == ErrorKind::UnknownApp))
    });
    Row {
        attack: "reloads (SIGHUP)".into(),
        count: format!(
            "{} SIGHUPs, {reloads} reloads, {} requests",
            sizes.sighups,
            answered.load(Ordering::Relaxed)
        ),
        outcome: match (outcome, alive, bad) {
            (Ok(()), true, 0) => Ok("every request answered; apps added, removed, renamed".into()),
            (r, alive, bad) => Err(format!(
                "last reload: {r:?}; alive: {alive}; requests without reply: {bad}; log: {}",
                h.daemon
                    .log()
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" | ")
            )),
        },
        keypress: keys.take().cell(),
    }
}

/// Two daemons on one socket at the same moment: exactly one serves, the other says why.
pub fn concurrent_start(h: &mut Harness, sizes: &Sizes, keys: &Keypress) -> Row {
    let s = &h.session;
    let config = s.runtime_dir().join("start.json");
    let _ = std::fs::write(&config, r#"{"waybar_signal":null}"#);
    let mut problems = Vec::new();
    for round in 0..sizes.starts {
        let sock = s.runtime_dir().join(format!("start-{round}.sock"));
        if round % 2 == 1 {
            // A stale socket, as a crash leaves it: both will want to replace it.
            drop(std::os::unix::net::UnixListener::bind(&sock));
        }
        let spawn = || {
            s.command(s.bin("audio-daemon"))
                .arg("--socket")
                .arg(&sock)
                .arg("--config")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
        };
        let (Ok(a), Ok(b)) = (spawn(), spawn()) else {
            problems.push(format!("round {round}: spawn failed"));
            continue;
        };
        let mut procs = [
            Proc {
                child: a,
                name: "audio-daemon",
            },
            Proc {
                child: b,
                name: "audio-daemon",
            },
        ];
        let mut exited = Vec::new();
        let r = wait_until(Duration::from_secs(10), "one daemon to give up", || {
            exited = procs.iter_mut().filter_map(|p| p.exited()).collect();
            !exited.is_empty()
        });
        let serving = testkit::Client::connect(&sock)
            .and_then(|mut c| c.call(&Request::Stats))
            .is_ok_and(|r| r.is_ok());
        let loser = procs.iter_mut().find_map(|p| p.exited().map(|_| p));
        let said = loser
            .and_then(|p| p.child.stderr.take())
            .map(|mut e| {
                let mut t = String::new();
                let _ = std::io::Read::read_to_string(&mut e, &mut t);
                t
            })
            .unwrap_or_default();
        let ok = r.is_ok()
            && exited.len() == 1
            && exited[0].code() == Some(1)
            && said.contains("already running")
            && serving;
        if !ok {
            problems.push(format!(
                "round {round}: exited {exited:?}, serving {serving}, loser said {said:?}"
            ));
        }
        for p in &procs {
            p.signal(libc::SIGTERM);
        }
    }
    Row {
        attack: "two daemons at once".into(),
        count: format!("{} rounds (half with a stale socket)", sizes.starts),
        outcome: if problems.is_empty() {
            Ok("one serves, the other exits 1: \"already running\"".into())
        } else {
            Err(problems.join("; "))
        },
        keypress: keys.take().cell(),
    }
}

/// PipeWire and WirePlumber killed (the harness's own PIDs) and started again.
pub fn restarts(h: &mut Harness, sizes: &Sizes, keys: &Keypress) -> Row {
    let mut problems = Vec::new();
    let mut reconnect = Vec::new();
    let fds_before = h.fds();
    let pid = h.pid();
    let threads = || crate::status_kib(pid, "Threads:");
    let threads_before = threads();
    for round in 0..sizes.restarts {
        h.streams.clear();
        h.session.kill_pipewire();
        let noticed = wait_until(Duration::from_secs(10), "the daemon to notice", || {
            h.call(&Request::Stats)
                .is_ok_and(|r| matches!(r, Ok(protocol::Response::Stats(s)) if !s.connected))
        });
        if let Err(e) = noticed.and_then(|_| h.session.restart_pipewire()) {
            problems.push(format!("round {round}: {e}"));
            break;
        }
        let t = Instant::now();
        if let Err(e) = h.daemon.wait_connected() {
            problems.push(format!("round {round}: {e}"));
            break;
        }
        reconnect.push(t.elapsed());
        if let Err(e) = h.spawn_streams() {
            problems.push(format!("round {round}: streams: {e}"));
            break;
        }
        // Keys work again before the next outage.
        let ok = keys.successes();
        if let Err(e) = wait_until(Duration::from_secs(10), "a keypress to succeed", || {
            keys.successes() > ok
        }) {
            problems.push(format!("round {round}: {e}"));
        }
    }
    // After the outages, the keypress app works again (its presses failed meanwhile).
    let after = wait_until(
        Duration::from_secs(5),
        "a keypress after the restarts",
        || {
            h.call(&Request::Set {
                app: keypress::APP.into(),
                volume: 50.0,
            })
            .is_ok_and(|r| r.is_ok())
        },
    );
    if let Err(e) = after {
        problems.push(e);
    }
    let (fds, thr) = (h.fds(), threads());
    // The keypress client may hold one connection at any moment.
    if fds > fds_before + 1 || thr > threads_before {
        problems.push(format!(
            "fds {fds_before} -> {fds}, threads {threads_before} -> {thr}"
        ));
    }
    let max = reconnect.iter().max().copied().unwrap_or_default();
    Row {
        attack: "PipeWire+WirePlumber killed".into(),
        count: format!("{} restarts", reconnect.len()),
        outcome: if problems.is_empty() {
            Ok(format!(
                "reconnected each time, slowest {:.0} ms after PipeWire was back; fds {fds_before} -> {fds}, threads {threads_before} -> {thr}",
                max.as_secs_f64() * 1e3
            ))
        } else {
            Err(problems.join("; "))
        },
        keypress: format!(
            "{} (presses during outages fail by design: pipewire_unavailable)",
            keys.take().cell()
        ),
    }
}
