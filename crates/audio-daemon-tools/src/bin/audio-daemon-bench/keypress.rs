//! Section 1: a keypress as the whole process a keybind runs, interleaved in one loop.
//!
//! A: `audioctl up vesktop` (this project's client, a fresh process each time);
//! B: `wpctl set-volume ID 5%+` (what users would otherwise bind);
//! C: the seed's `echo '{...}' | socat - UNIX-CONNECT:$SOCK` through `sh -c`;
//! V: `audioctl --version`, the client's bare start-up;
//! N: a C no-op linked dynamically, and S: the same linked statically, both built here
//!    with `cc`: the floors a process start cannot go below.
//! Each round runs every command once; rounds alternate up and down so volumes stay in
//! range. Interleaving spreads any slow phase of the machine over all of them equally.

use crate::report::Target;
use crate::stats::Summary;
use crate::{Bench, PROBE_APP};
use serde_json::json;
use std::path::{Path, PathBuf};
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

/// Builds the two no-op floors in `dir`: (dynamic, static).
fn build_noops(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let src = dir.join("noop.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").map_err(|e| e.to_string())?;
    let build = |name: &str, extra: &[&str]| -> Result<PathBuf, String> {
        let out = dir.join(name);
        let st = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&out)
            .args(extra)
            .arg(&src)
            .status()
            .map_err(|e| format!("cc: {e}"))?;
        st.success()
            .then_some(out)
            .ok_or(format!("cc {extra:?} failed: {st}"))
    };
    Ok((
        build("noop-dynamic", &[])?,
        build("noop-static", &["-static"])?,
    ))
}

/// Whether an ELF executable asks for a program interpreter (i.e. is dynamically linked).
fn is_dynamic(path: &Path) -> Option<bool> {
    let data = std::fs::read(path).ok()?;
    let u16_at = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?));
    // 64-bit little-endian ELF only (what this benchmark runs on).
    if data.get(0..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let (phoff, phentsize, phnum) = (u64_at(0x20)? as usize, u16_at(0x36)?, u16_at(0x38)?);
    const PT_INTERP: u32 = 3;
    Some((0..phnum as usize).any(|i| u32_at(phoff + i * phentsize as usize) == Some(PT_INTERP)))
}

pub fn run(b: &mut Bench) -> Result<(), String> {
    b.set(PROBE_APP, 50.0)?;
    let sock = b.daemon.socket.clone();
    let id = b.probe_id.to_string();
    let ctl_path = b.session.bin("audioctl");
    let (noop_dyn, noop_static) = build_noops(b.session.runtime_dir())?;
    let linkage = match is_dynamic(&ctl_path) {
        Some(true) => "dynamic",
        Some(false) => "static",
        None => "unknown",
    };
    let mut t: [Vec<Duration>; 6] = Default::default();
    let mut errors = 0usize;
    for round in 0..b.sizes.keypress_rounds * 2 {
        let up = round % 2 == 0;
        let action = if up { "up" } else { "down" };
        let mut ctl = b.session.command(&ctl_path);
        ctl.arg("--socket").arg(&sock).args([action, PROBE_APP]);
        let mut wp = b.session.command("wpctl");
        wp.args(["set-volume", &id, if up { "5%+" } else { "5%-" }]);
        let mut seed = b.session.command("sh");
        seed.env("SOCK", &sock).arg("-c").arg(format!(
            "echo '{{\"app\":\"{PROBE_APP}\",\"action\":\"{action}\"}}' | socat - UNIX-CONNECT:$SOCK"
        ));
        let mut version = b.session.command(&ctl_path);
        version.arg("--version");
        let cmds = [
            ctl,
            wp,
            seed,
            version,
            b.session.command(&noop_dyn),
            b.session.command(&noop_static),
        ];
        for (cmd, out) in cmds.into_iter().zip(t.iter_mut()) {
            match timed(cmd) {
                Ok(d) => out.push(d),
                Err(e) => {
                    errors += 1;
                    eprintln!("audio-daemon-bench: {SECTION}: {e}");
                }
            }
        }
    }
    let [a, w, s, v, n, st] = t.map(|x| Summary::of(&x));
    let r = &mut b.report;
    r.meta("audioctl_linkage", json!(linkage));
    r.latency(SECTION, "A audioctl up (process)", &a, None);
    r.latency(SECTION, "B wpctl set-volume 5%+", &w, None);
    r.latency(SECTION, "C sh: echo | socat (seed)", &s, None);
    r.latency(
        SECTION,
        &format!("V audioctl --version ({linkage})"),
        &v,
        None,
    );
    r.latency(SECTION, "N no-op, dynamic (floor)", &n, None);
    r.latency(SECTION, "S no-op, static (floor)", &st, None);
    // (what, numerator, denominator, the limit), ratios of medians
    let ratios = [
        ("A/B: keypress vs wpctl", &a, &w, Some(0.15)),
        ("A/C: keypress vs seed", &a, &s, None),
        ("V/N: --version vs dynamic no-op", &v, &n, Some(0.9)),
        ("V/S: --version vs static no-op", &v, &st, None),
        ("S/N: static vs dynamic no-op", &st, &n, None),
    ];
    for (what, x, y, limit) in ratios {
        let x = if y.median_us > 0.0 {
            x.median_us / y.median_us
        } else {
            f64::NAN
        };
        let target: Target = limit.map(|l| (format!("<= {l}x"), x <= l));
        r.value(
            SECTION,
            &format!("ratio {what}"),
            format!("{x:.3}x"),
            json!(x),
            target,
        );
    }
    if errors > 0 {
        r.fail(SECTION, format!("{errors} processes failed"));
    }
    Ok(())
}
