//! Key to PipeWire applied, on real headless sway, three ways interleaved in one run:
//! N `bindsym … nop audio-daemon up bench 1` (sway tells the daemon over IPC),
//! A `bindsym … exec audioctl up bench 1`, W `bindsym … exec wpctl set-volume ID 1%+`.
//!
//! Start: our own IPC subscription receiving sway's binding event. sway sends it right
//! after running the command, which for `exec` is after the fork of the command's
//! process, so the exec variants' start is late and the ratios favour them (the
//! comparison is conservative). End: the stream helper's `control_info` for the new
//! channel volumes, i.e. PipeWire applied it to the stream. Both are CLOCK_MONOTONIC.
//!
//! Then a held key (`press`/`--release` binds): the first press is one exact step, the
//! ramp runs at the configured rate, release stops it; the final volume must be within
//! one step of `start + step + rate × (held − delay)`.

use crate::ipc::{monotonic_ns, Bindings, Volumes};
use crate::session::Desk;
use audio_daemon_ipc::{Request, Response};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const APP: &str = "keybench";
const RATE: f64 = 40.0;
const DELAY_MS: u64 = 250;
const HOLD_STEP: f64 = 2.0;

/// Count, median, p99, max of nanosecond samples, in microseconds.
fn summary(samples: &[i64]) -> (usize, f64, f64, f64) {
    let mut v: Vec<f64> = samples.iter().map(|&n| n as f64 / 1000.0).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (0, f64::NAN, f64::NAN, f64::NAN);
    }
    let pick = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (v.len(), pick(0.5), pick(0.99), v[v.len() - 1])
}

fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} us")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

pub fn run(bin_dir: &Path, args: &[&str]) -> Result<(), String> {
    let quick = args.contains(&"--quick");
    let rounds = if quick { 15 } else { 150 };
    let ctl = bin_dir.join("audioctl");
    let mut d = Desk::start(bin_dir, "")?;
    // The probe stream, reporting what PipeWire applied.
    let mut helper = d
        .command(bin_dir.join("audio-daemon-streams"))
        .args(["--report-volume", "--prop"])
        .arg(format!("application.name={APP}"))
        .args(["--prop", "media.role=keybench"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("stream helper: {e}"))?;
    let volumes = Volumes::read(helper.stdout.take().ok_or("no stdout")?);
    let r = measure(&mut d, &ctl, &volumes, rounds);
    let _ = helper.kill();
    let _ = helper.wait();
    r
}

fn measure(d: &mut Desk, ctl: &Path, volumes: &Volumes, rounds: usize) -> Result<(), String> {
    let id = d.wait_stream(APP)?;
    d.start_daemon(&format!(
        r#"{{"builtin_apps":false,"apps":{{"{APP}":{{"match":[{{"application.name":"{APP}"}}]}}}},
            "keys":{{"bench-up":{{"app":"{APP}","action":"up","amount":{HOLD_STEP}}}}},
            "ramp":{{"rate":{RATE},"update_hz":30,"delay_ms":{DELAY_MS}}}}}"#
    ))?;
    let binds = [
        ("F1", format!("nop audio-daemon up {APP} 1")),
        ("F2", format!("nop audio-daemon down {APP} 1")),
        ("F3", format!("exec {} up {APP} 1", ctl.display())),
        ("F4", format!("exec {} down {APP} 1", ctl.display())),
        ("F5", format!("exec wpctl set-volume {id} 1%+")),
        ("F6", format!("exec wpctl set-volume {id} 1%-")),
        ("F7", "nop audio-daemon press bench-up".to_owned()),
    ];
    for (key, cmd) in &binds {
        d.swaymsg(&[&format!("bindsym Mod4+{key} {cmd}")])?;
    }
    d.swaymsg(&["bindsym --release Mod4+F7 nop audio-daemon release bench-up"])?;
    let events = Bindings::subscribe(&d.swaysock)?;
    d.set_wpctl(id, 50.0)?;
    let timeout = Duration::from_secs(5);
    // N, A, W; each round presses all three, up then down in alternate rounds.
    // From sway's binding event, and from just before wtype starts (which adds wtype's
    // own start-up, the same for all three, and cannot be late).
    let mut lat: [Vec<i64>; 3] = Default::default();
    let mut from_wtype: [Vec<i64>; 3] = Default::default();
    for round in 0..rounds * 2 {
        let up = round % 2 == 0;
        for variant in 0..3 {
            let (key, cmd) = &binds[variant * 2 + usize::from(!up)];
            events.drain();
            volumes.drain();
            let t_spawn = monotonic_ns();
            d.wtype(&["-M", "logo", "-k", key, "-m", "logo"])?;
            let t0 = events.next(cmd, timeout)?;
            let (t1, _) = volumes.next(id, timeout)?;
            lat[variant].push(t1 as i64 - t0 as i64);
            from_wtype[variant].push(t1 as i64 - t_spawn as i64);
        }
    }
    report("key to PipeWire applied", &lat, true);
    report("... from starting wtype", &from_wtype, false);
    hold(d, id, &events, volumes)
}

fn report(title: &str, lat: &[Vec<i64>; 3], targets: bool) {
    let names = [
        "N nop + IPC (no process)",
        "A exec audioctl",
        "W exec wpctl set-volume",
    ];
    println!(
        "{:<34} {:>5} {:>10} {:>10} {:>10}",
        title, "n", "median", "p99", "max"
    );
    let s: Vec<_> = lat.iter().map(|l| summary(l)).collect();
    for (name, (n, med, p99, max)) in names.iter().zip(&s) {
        println!(
            "{name:<34} {n:>5} {:>10} {:>10} {:>10}",
            fmt_us(*med),
            fmt_us(*p99),
            fmt_us(*max)
        );
    }
    let (n, a, w) = (s[0].1, s[1].1, s[2].1);
    let negatives: Vec<usize> = lat
        .iter()
        .map(|l| l.iter().filter(|&&x| x < 0).count())
        .collect();
    println!(
        "ratio N/W (medians) {:.3}x{}",
        n / w,
        if targets {
            format!("   target <= 0.1x: {}", met(n / w <= 0.1))
        } else {
            String::new()
        }
    );
    println!("ratio N/A (medians) {:.3}x", n / a);
    if targets {
        println!(
            "N median {}   target <= 0.5 ms: {}",
            fmt_us(n),
            met(n <= 500.0)
        );
    }
    if negatives.iter().any(|&n| n > 0) {
        // For `exec`, sway sends the event after forking the command, so on a busy
        // machine the command can finish first; and our observer thread may be
        // scheduled after the daemon got the same event. Those samples are too low.
        println!("note: applied before sway's event reached us (N, A, W): {negatives:?} samples");
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn stats(d: &Desk) -> Result<(u64, u64), String> {
    match d.call(Request::Stats)? {
        Ok(Response::Stats(s)) => Ok((s.requests, s.set_params)),
        other => Err(format!("stats: {other:?}")),
    }
}

/// A held key: press, hold about a second, release; check the ramp's end.
fn hold(d: &Desk, id: u32, events: &Bindings, volumes: &Volumes) -> Result<(), String> {
    d.set_wpctl(id, 30.0)?;
    let start = d.get(APP)?.volume.ok_or("no volume")?;
    let (req0, set0) = stats(d)?;
    events.drain();
    volumes.drain();
    // One wtype: press F7, hold 1 s (wtype's own pause between its key events), release.
    d.wtype(&[
        "-M", "logo", "-P", "F7", "-s", "1000", "-p", "F7", "-m", "logo",
    ])?;
    let t_press = events.next("press bench-up", Duration::from_secs(5))?;
    let t_release = events.next("release bench-up", Duration::from_secs(5))?;
    // The ramp has stopped when the stream has had no change for ten ramp ticks.
    volumes.settle(id, Duration::from_millis(330), Duration::from_secs(5))?;
    let end = d.get(APP)?.volume.ok_or("no volume")?;
    let (req1, set1) = stats(d)?;
    let held = (t_release - t_press) as f64 / 1e9;
    let expected =
        (start + HOLD_STEP + RATE * (held - DELAY_MS as f64 / 1000.0).max(0.0)).min(100.0);
    let wp = d.wpctl(id)?;
    println!(
        "held key: {held:.3} s held, {start:.1} % -> {end:.2} % (wpctl {wp} %), expected {expected:.2} % \
         (step {HOLD_STEP} + {RATE} %/s after {DELAY_MS} ms); {} requests, {} set_params",
        // Between the two stats calls: the ramp's requests, one `get`, the second stats.
        req1 - req0 - 2,
        set1 - set0
    );
    if (end - expected).abs() > HOLD_STEP || (wp - end.round()).abs() > 1.0 {
        return Err(format!(
            "held key ended at {end:.2} % (wpctl {wp} %), not within {HOLD_STEP} of {expected:.2} %"
        ));
    }
    Ok(())
}
