//! `audio-daemon-demo`: the daemon at work on a machine without a desktop.
//!
//! Starts a private PipeWire + WirePlumber with a null sink and a few app-like streams
//! (Vesktop voice, a Firefox YouTube tab, Spotify), runs the real daemon, drives volume
//! changes through `audioctl` processes like a keybind would, and prints what `wpctl`
//! (an independent observer) says changed and how long each keypress took, next to
//! `wpctl set-volume` for the same change.
//!
//! `--scenario SCRIPT` instead runs the shared end-to-end scenario (the one the NixOS VM
//! test runs) against this private session, and exits with its status.

use audio_daemon_testkit::{Daemon, Session, Streams};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Demo {
    session: Session,
    daemon: Daemon,
    streams: Vec<(&'static str, Streams)>,
}

fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_owned))
        .unwrap_or_default()
}

fn start() -> Result<Demo, String> {
    let session = Session::start(&bin_dir())?;
    let vesktop = session.streams(
        1,
        &[
            ("application.name", "vesktop"),
            ("application.process.binary", ".vesktop-wrapped"),
            ("media.name", "WEBRTC VoiceEngine"),
        ],
    )?;
    let youtube = session.streams(
        1,
        &[
            ("application.name", "Firefox"),
            ("media.name", "Never Gonna Give You Up - YouTube"),
        ],
    )?;
    let spotify = session.streams(
        1,
        &[("application.name", "spotify"), ("node.name", "audio-src")],
    )?;
    let daemon = session.daemon(
        r#"{"apps":{"vesktop":{"match":[{"application.name":"vesktop"}],"max_volume":150}}}"#,
    )?;
    Ok(Demo {
        session,
        daemon,
        streams: vec![
            ("vesktop", vesktop),
            ("youtube", youtube),
            ("music", spotify),
        ],
    })
}

impl Demo {
    fn audioctl(&self, args: &[&str]) -> (Duration, String) {
        let mut cmd = self.session.command(self.session.bin("audioctl"));
        cmd.arg("--socket").arg(&self.daemon.socket).args(args);
        let t = Instant::now();
        let out = cmd.output();
        let took = t.elapsed();
        let text = match out {
            Ok(o) => format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout).trim(),
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => format!("could not run audioctl: {e}"),
        };
        (took, text)
    }

    fn observed(&self, app: &str) -> String {
        let ids = match self.streams.iter().find(|(a, _)| *a == app) {
            Some((_, s)) => s.ids.clone(),
            None => vec![self.session.sink_id],
        };
        ids.iter()
            .map(|&id| match self.session.wpctl_volume(id) {
                Some((v, m)) => format!("#{id} {v:.2}{}", if m { " MUTED" } else { "" }),
                None => format!("#{id} gone"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn keypress(&self, label: &str, args: &[&str]) -> Duration {
        let app = args[1];
        let before = self.observed(app);
        let (took, reply) = self.audioctl(args);
        println!(
            "{label:<28} {:>7.2} ms   wpctl: {before} -> {}   ({reply})",
            took.as_secs_f64() * 1e3,
            self.observed(app)
        );
        took
    }
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn demo(d: &Demo) -> Result<(), String> {
    println!("private PipeWire in {}", d.session.runtime_dir().display());
    println!("\n$ audioctl list\n{}\n", d.audioctl(&["list"]).1);
    let mut ours = Vec::new();
    for (label, args) in [
        ("Discord quieter", &["down", "vesktop"][..]),
        ("Discord quieter", &["down", "vesktop"]),
        ("Discord louder by 20", &["up", "vesktop", "20"]),
        ("Discord louder (cap 150%)", &["set", "vesktop", "300"]),
        ("YouTube to 40%", &["set", "youtube", "40"]),
        ("YouTube quieter", &["down", "youtube"]),
        ("mute music", &["mute", "music"]),
        ("unmute music", &["mute", "music"]),
        ("speakers (@sink) to 70%", &["set", "@sink", "70"]),
    ] {
        ours.push(d.keypress(label, args));
    }
    // The same kind of change through wpctl, which is what the old script forked.
    let id = d.streams[1].1.ids[0].to_string();
    let mut theirs = Vec::new();
    for i in 0..9 {
        let mut cmd = d.session.command("wpctl");
        cmd.args(["set-volume", &id, if i % 2 == 0 { "5%+" } else { "5%-" }]);
        let t = Instant::now();
        cmd.output().map_err(|e| e.to_string())?;
        theirs.push(t.elapsed());
    }
    let lat = d.audioctl(&["latency", "youtube", "300"]).1;
    println!(
        "\nkeypress (a fresh audioctl process, request, PipeWire applied, reply): median {:.2} ms",
        median(ours)
    );
    println!(
        "wpctl set-volume as a process, same machine, same run:        median {:.2} ms",
        median(theirs)
    );
    println!(
        "in-daemon round trip over one connection (300 sets, spaced by the daemon's pace): {lat}"
    );
    println!("\nthe daemon's own log:\n{}", d.daemon.log());
    Ok(())
}

fn scenario(d: &Demo, script: &str) -> Result<bool, String> {
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir()];
    dirs.extend(std::env::split_paths(&path));
    path = std::env::join_paths(dirs).map_err(|e| e.to_string())?;
    let status = d
        .session
        .command("bash")
        .arg(script)
        .env("PATH", path)
        .env("AUDIO_DAEMON_SOCKET", &d.daemon.socket)
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{script}: {e}"))?;
    Ok(status.success())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let script = match args.as_slice() {
        [] => None,
        [flag, s] if flag == "--scenario" => Some(s.clone()),
        _ => {
            eprintln!("usage: audio-daemon-demo [--scenario SCRIPT]");
            return ExitCode::from(2);
        }
    };
    let d = match start() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("audio-daemon-demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let r = match &script {
        Some(s) => scenario(&d, s),
        None => demo(&d).map(|()| true),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "audio-daemon-demo: the scenario failed; daemon log:\n{}",
                d.daemon.log()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("audio-daemon-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
