//! Section 1: a keypress as the whole process a keybind runs, three ways, interleaved.
//!
//! A: `audioctl up vesktop` (this project's client, a fresh process each time);
//! B: `wpctl set-volume ID 5%+` (what users would otherwise bind);
//! C: the seed's `echo '{...}' | socat - UNIX-CONNECT:$SOCK` through `sh -c`.
//! Each round runs A, B, C once; rounds alternate up and down so volumes stay in range.
//! Interleaving spreads any slow phase of the machine over all three equally.
//! D: `true`, the cost of spawning any process from here: the floor under A, B and C.

use crate::report::Target;
use crate::stats::Summary;
use crate::{Bench, PROBE_APP};
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SECTION: &str = "1 keypress";

/// Runs one whole process and times it from spawn to exit.
fn timed(mut cmd: Command) -> Result<Duration, String> {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let t = Instant::now();
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    let d = t.elapsed();
    status
        .success()
        .then_some(d)
        .ok_or(format!("{cmd:?} failed: {status}"))
}

pub fn run(b: &mut Bench) -> Result<(), String> {
    b.set(PROBE_APP, 50.0)?;
    let sock = b.daemon.socket.clone();
    let id = b.probe_id.to_string();
    let (mut a, mut w, mut s, mut f) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut errors = 0usize;
    for round in 0..b.sizes.keypress_rounds * 2 {
        let up = round % 2 == 0;
        let mut ctl = b.session.command(b.session.bin("audioctl"));
        ctl.arg("--socket")
            .arg(&sock)
            .args([if up { "up" } else { "down" }, PROBE_APP]);
        let mut wp = b.session.command("wpctl");
        wp.args(["set-volume", &id, if up { "5%+" } else { "5%-" }]);
        let mut seed = b.session.command("sh");
        let action = if up { "up" } else { "down" };
        seed.env("SOCK", &sock).arg("-c").arg(format!(
            "echo '{{\"app\":\"{PROBE_APP}\",\"action\":\"{action}\"}}' | socat - UNIX-CONNECT:$SOCK"
        ));
        let floor = b.session.command("true");
        for (cmd, out) in [(ctl, &mut a), (wp, &mut w), (seed, &mut s), (floor, &mut f)] {
            match timed(cmd) {
                Ok(d) => out.push(d),
                Err(e) => {
                    errors += 1;
                    eprintln!("audio-daemon-bench: {SECTION}: {e}");
                }
            }
        }
    }
    let (a, w, s) = (Summary::of(&a), Summary::of(&w), Summary::of(&s));
    let r = &mut b.report;
    let target: Target = Some(("median <= 1.5 ms".into(), a.median_us <= 1500.0));
    r.latency(SECTION, "A audioctl up (process)", &a, target);
    r.latency(SECTION, "B wpctl set-volume 5%+", &w, None);
    r.latency(SECTION, "C sh: echo | socat (seed)", &s, None);
    r.latency(SECTION, "D spawn `true` (floor)", &Summary::of(&f), None);
    let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
    let (rw, rs) = (
        ratio(a.median_us, w.median_us),
        ratio(a.median_us, s.median_us),
    );
    r.value(
        SECTION,
        "ratio A/B (medians)",
        format!("{rw:.3}x"),
        json!(rw),
        Some(("<= 0.15x wpctl".into(), rw <= 0.15)),
    );
    r.value(
        SECTION,
        "ratio A/C (medians)",
        format!("{rs:.3}x"),
        json!(rs),
        None,
    );
    if errors > 0 {
        r.fail(SECTION, format!("{errors} processes failed"));
    }
    Ok(())
}
