//! Section 1: a keypress as the whole process a keybind runs, interleaved in one loop.
//!
//! A: `audioctl up vesktop` (this project's client, a fresh process each time);
//! B: `wpctl set-volume ID 5%+` (what users would otherwise bind);
//! C: the seed's `echo '{...}' | socat - UNIX-CONNECT:$SOCK` through `sh -c`;
//! V: `audioctl --version`, the client's bare start-up;
//! N: a C no-op linked dynamically, and S: the same linked statically, both built here
//!    with `cc`: the floors a process start cannot go below.
//! audioctl and both no-ops run from copies in the session's directory, made with a plain
//! file copy, as `install` or the Nix store would make them: a file the linker has just
//! written starts 10–15% slower than a copy of it (on this machine's ext4, 493 vs 442 us for
//! audioctl, 459 vs 420 us for the static no-op), because its page cache is left in small
//! pages that exec then faults in one by one. Users never run the linker's output file.
//! Each round runs every command once; rounds alternate up and down so volumes stay in
//! range. Interleaving spreads any slow phase of the machine over all of them equally, and
//! each round runs them in a fresh (seeded) order, so every command follows every other one
//! about equally often: a tiny process run right after another tiny one finds the exec
//! path's caches warm, one run after `sh | socat` finds them cold. In a fixed order V
//! always followed C and S always followed N, which alone put about 0.1 on V/S and V/N.

use crate::report::Target;
use crate::stats::Summary;
use crate::{Bench, PROBE_APP};
use audio_daemon_testkit::rng::Rng;
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
        installed(&build("cc-noop-dynamic", &[])?, dir, "noop-dynamic")?,
        installed(&build("cc-noop-static", &["-static"])?, dir, "noop-static")?,
    ))
}

/// A plain copy of `bin` as `dir/name`: what an installed binary is (see the module docs).
fn installed(bin: &Path, dir: &Path, name: &str) -> Result<PathBuf, String> {
    let to = dir.join(name);
    std::fs::copy(bin, &to)
        .map_err(|e| format!("copy {} to {}: {e}", bin.display(), to.display()))?;
    Ok(to)
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
    let dir = b.session.runtime_dir();
    let ctl_path = installed(&b.session.bin("audioctl"), dir, "audioctl")?;
    let (noop_dyn, noop_static) = build_noops(dir)?;
    let linkage = match is_dynamic(&ctl_path) {
        Some(true) => "dynamic",
        Some(false) => "static",
        None => "unknown",
    };
    let mut t: [Vec<Duration>; 6] = Default::default();
    let mut errors = 0usize;
    let mut order = Rng::new(1);
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
        let mut runs: Vec<_> = cmds.into_iter().zip(t.iter_mut()).collect();
        order.shuffle(&mut runs);
        for (cmd, out) in runs {
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
