//! The checks: `@focused` follows sway's focus, only the focused window's streams
//! change (a direct child and a grandchild stream process), a window without streams is
//! named in the error, keys bound with `nop` and with `exec audioctl` work, subscribers
//! and waybar see the focused app, and the daemon finds a restarted sway by itself.
//! Every volume is read back with `wpctl`.

use crate::ipc::Bindings;
use crate::session::Desk;
use audio_daemon::config::keys::{DEFAULT_DELAY_MS, DEFAULT_RATE};
use audio_daemon_ipc::{ErrorKind, Event, Request, Response};
use audio_daemon_testkit::{wait_until, Client};
use std::path::Path;
use std::time::{Duration, Instant};

fn binds(audioctl: &Path, golden: &str) -> String {
    format!(
        "bindsym Mod4+F1 nop audio-daemon up @focused 5\n\
         bindsym Mod4+F2 exec {} down @focused 5\n\
         bindsym Mod4+F3 nop audio-daemon mute @focused\n{golden}",
        audioctl.display()
    )
}

/// What the home-manager module renders for sway in `ipc` mode (nix/golden/): the sway
/// config and the daemon config that registers its keys.
pub struct Golden {
    pub sway: String,
    pub daemon: String,
}

/// The `nop audio-daemon` binds of a sway config the home-manager module rendered.
fn golden_binds(config: &str) -> String {
    config
        .lines()
        .filter(|l| l.starts_with("bindsym ") && l.contains(" nop audio-daemon "))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn step(name: &str, r: Result<(), String>) -> Result<(), String> {
    match r {
        Ok(()) => {
            println!("ok   {name}");
            Ok(())
        }
        Err(e) => Err(format!("{name}: {e}")),
    }
}

/// A stream helper command line for a window, with a unique name and role (WirePlumber
/// restores volumes per role; unique roles keep the streams apart).
fn helper(bin: &Path, name: &str) -> String {
    format!(
        "{} --prop application.name={name} --prop media.role={name}",
        bin.display()
    )
}

pub fn run(bin_dir: &Path, golden: Option<&Golden>) -> Result<(), String> {
    let started = Instant::now();
    let generated = golden.map(|g| golden_binds(&g.sway)).unwrap_or_default();
    for bind in [
        "--locked XF86AudioRaiseVolume nop audio-daemon press sink-up",
        "--release --locked XF86AudioRaiseVolume nop audio-daemon release sink-up",
    ] {
        if golden.is_some() && !generated.contains(bind) {
            return Err(format!(
                "the golden sway config has no bind {bind:?}:\n{generated}"
            ));
        }
    }
    let mut d = Desk::start(bin_dir, &binds(&bin_dir.join("audioctl"), &generated))?;
    // With the generated config, feedback on: the generated keys must show it as an
    // `audioctl` request does (mako is the notification server, read with makoctl's
    // ListNotifications call).
    let _mako = match golden {
        Some(_) => Some(d.s.mako(&d.display.clone())?),
        None => None,
    };
    let daemon_config = golden.map(|g| with_osd(&g.daemon)).transpose()?;
    d.start_daemon(daemon_config.as_deref().unwrap_or("{}"))?;
    let h = bin_dir.join("audio-daemon-streams");
    // w1 plays from its own child (foot runs the helper); w2 from a grandchild, as
    // Chromium and Electron apps do (foot runs sh, which runs the helper and stays).
    let w1_line = helper(&h, "focus-w1");
    let w1_args: Vec<&str> = w1_line.split(' ').collect();
    d.window("w1", &w1_args)?;
    let w2_line = format!("{}; true", helper(&h, "focus-w2"));
    d.window("w2", &["sh", "-c", &w2_line])?;
    d.window("w3", &["cat"])?;
    let s1 = d.wait_stream("focus-w1")?;
    let s2 = d.wait_stream("focus-w2")?;
    for id in [s1, s2] {
        d.set_wpctl(id, 50.0)?;
    }
    println!(
        "-- sway, PipeWire, daemon and three windows up in {:?}",
        started.elapsed()
    );

    step(
        "focus w1, audioctl up @focused 10: only w1's stream moves",
        {
            d.focus("w1")?;
            let (code, out, err) = d.audioctl(&["up", "@focused", "10"])?;
            (code == 0)
                .then_some(())
                .ok_or(format!("audioctl exit {code}: {out}{err}"))?;
            d.expect_wpctl(s1, 60.0, "w1 raised")?;
            d.expect_wpctl(s2, 50.0, "w2 untouched")
        },
    )?;

    step(
        "focus w2 (a grandchild plays), up 10: only w2 moves, matched by pid",
        {
            d.focus("w2")?;
            let (code, out, err) = d.audioctl(&["up", "@focused", "10", "--json"])?;
            (code == 0)
                .then_some(())
                .ok_or(format!("audioctl exit {code}: {out}{err}"))?;
            d.expect_wpctl(s2, 60.0, "w2 raised")?;
            d.expect_wpctl(s1, 60.0, "w1 untouched")?;
            out.contains(r#""matched_by":"pid""#)
                .then_some(())
                .ok_or(format!("reply does not say matched_by pid: {out}"))
        },
    )?;

    step("focus w3 (no stream): no_streams naming class and title", {
        d.focus("w3")?;
        match d.call(Request::Up {
            app: "@focused".into(),
            amount: None,
        })? {
            Err(e) if e.kind == ErrorKind::NoStreams && e.message.contains("w3 \"w3 title\"") => {
                Ok(())
            }
            other => Err(format!("expected no_streams naming w3: {other:?}")),
        }?;
        let (code, _, err) = d.audioctl(&["up", "@focused"])?;
        (code == 1 && err.contains("w3"))
            .then_some(())
            .ok_or(format!("audioctl: exit {code}, {err}"))
    })?;

    step(
        "key bound to `nop audio-daemon up @focused 5` (no process)",
        {
            d.focus("w1")?;
            d.wtype(&["-M", "logo", "-k", "F1", "-m", "logo"])?;
            d.expect_wpctl(s1, 65.0, "w1 up by the nop key")?;
            d.expect_wpctl(s2, 60.0, "w2 untouched")
        },
    )?;

    step("key bound to `exec audioctl down @focused 5`", {
        d.wtype(&["-M", "logo", "-k", "F2", "-m", "logo"])?;
        d.expect_wpctl(s1, 60.0, "w1 down by the exec key")?;
        d.expect_wpctl(s2, 60.0, "w2 untouched")
    })?;

    step(
        "subscribers and waybar see the focused app and its volume",
        {
            let mut c = Client::connect(&d.daemon().socket)?;
            match c.call(&Request::Subscribe)? {
                Ok(Response::Subscribed) => {}
                other => return Err(format!("subscribe: {other:?}")),
            }
            d.wtype(&["-M", "logo", "-k", "F3", "-m", "logo"])?; // mute w1, so the event differs
            d.swaymsg(&["[app_id=\"w2\"] focus"])?;
            let mut seen = false;
            while !seen {
                let line = c.read_line()?.ok_or("subscriber closed")?;
                if let Ok(Event::App(a)) = Event::from_line(&line) {
                    seen = a.app == "@focused"
                        && a.volume == Some(60.0)
                        && a.window.as_ref().is_some_and(|w| w.class == "w2");
                }
            }
            let (code, out, err) = d.audioctl(&["waybar", "@focused"])?;
            (code == 0
                && out.contains(r#""percentage":60"#)
                && out.contains(r#""tooltip":"w2: 60%"#))
            .then_some(())
            .ok_or(format!("waybar: exit {code} {out} {err}"))?;
            d.expect_wpctl(s1, 60.0, "w1 still at 60 (muted, not moved)")?;
            d.s.wpctl_volume(s1)
                .is_some_and(|(_, m)| m)
                .then_some(())
                .ok_or("the nop mute key did not mute w1".to_owned())
        },
    )?;

    if golden.is_some() {
        step(
            "home-manager's generated nop binds (volume keys for @sink: press and release)",
            {
                let sink = d.s.sink_id;
                d.set_wpctl(sink, 50.0)?;
                d.wtype(&["-k", "XF86AudioRaiseVolume"])?;
                d.expect_wpctl(sink, 55.0, "sink up by the generated bind")?;
                notified(&d, "55%")?;
                d.wtype(&["-k", "XF86AudioLowerVolume"])?;
                d.expect_wpctl(sink, 50.0, "sink down by the generated bind")
            },
        )?;
        step(
            "a generated volume key held 1 s ramps (step, then the default rate) and stops",
            held_sink_key(&d),
        )?;
    }

    step(
        "sway restarts: no_compositor meanwhile, then found again",
        {
            d.kill_sway();
            wait_until(
                Duration::from_secs(10),
                "no_compositor after sway died",
                || {
                    matches!(d.call(Request::Get { app: "@focused".into() }),
                     Ok(Err(e)) if e.kind == ErrorKind::NoCompositor)
                },
            )?;
            d.start_sway()?;
            // The daemon's SWAYSOCK names the dead sway: it must find the new socket itself.
            let line = helper(&h, "focus-w4");
            let args: Vec<&str> = line.split(' ').collect();
            d.window("w4", &args)?;
            let s4 = d.wait_stream("focus-w4")?;
            d.set_wpctl(s4, 30.0)?;
            d.focus("w4")?;
            d.wtype(&["-M", "logo", "-k", "F1", "-m", "logo"])?;
            d.expect_wpctl(s4, 35.0, "w4 up by the nop key after the restart")
        },
    )?;

    println!("-- all checks passed in {:?}", started.elapsed());
    Ok(())
}

/// Holds the generated lower-volume key for about a second: one step of 5 (the
/// daemon's step) at the press, then the daemon's default ramp from its delay until
/// the release, timed by sway's own binding events; the sink must end within one step
/// of that and stay there.
/// The daemon config with `"osd": "notify"` added.
fn with_osd(config: &str) -> Result<String, String> {
    let mut v: serde_json::Value =
        serde_json::from_str(config).map_err(|e| format!("the golden daemon config: {e}"))?;
    v["osd"] = "notify".into();
    Ok(v.to_string())
}

/// Waits until mako shows a notification of the daemon's with `body`, and checks that
/// it is the only one for its app (a held key's updates replace it in place).
fn notified(d: &Desk, body: &str) -> Result<(), String> {
    let ours = || -> Vec<serde_json::Value> {
        d.s.mako_notifications()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n["app-name"] == "audio-daemon")
            .collect()
    };
    wait_until(
        Duration::from_secs(10),
        &format!("mako to show the daemon's notification {body:?}"),
        || ours().iter().any(|n| n["body"] == body),
    )
    .map_err(|e| format!("{e}; mako lists {:?}", ours()))?;
    let list = ours();
    let summary = &list
        .iter()
        .find(|n| n["body"] == body)
        .ok_or(format!("gone again: mako lists {list:?}"))?["summary"];
    let of_sink = list.iter().filter(|n| n["summary"] == *summary).count();
    (of_sink == 1).then_some(()).ok_or(format!(
        "one notification for {summary} expected, mako lists {list:?}"
    ))?;
    println!("     mako shows {summary}: {body:?}");
    Ok(())
}

fn held_sink_key(d: &Desk) -> Result<(), String> {
    const STEP: f64 = 5.0;
    let sink = d.s.sink_id;
    d.set_wpctl(sink, 80.0)?;
    let events = Bindings::subscribe(&d.swaysock)?;
    d.wtype(&[
        "-P",
        "XF86AudioLowerVolume",
        "-s",
        "1000",
        "-p",
        "XF86AudioLowerVolume",
    ])?;
    let timeout = Duration::from_secs(5);
    let t_press = events.next("press sink-down", timeout)?;
    let t_release = events.next("release sink-down", timeout)?;
    let held = (t_release - t_press) as f64 / 1e9;
    // Stopped: two wpctl readings ten ramp updates (a third of a second) apart agree.
    let mut end = f64::NAN;
    wait_until(timeout, "the ramp to stop after the release", || {
        let a = d.wpctl(sink).unwrap_or(f64::NAN);
        std::thread::sleep(Duration::from_millis(330));
        end = d.wpctl(sink).unwrap_or(f64::NAN);
        a == end
    })?;
    let ramped = DEFAULT_RATE * (held - DEFAULT_DELAY_MS as f64 / 1000.0).max(0.0);
    let expected = (80.0 - STEP - ramped).max(0.0);
    println!(
        "     held {held:.3} s: sink 80 % -> {end} % (wpctl), expected {expected:.1} % \
         (step {STEP} + {DEFAULT_RATE} %/s after {DEFAULT_DELAY_MS} ms)"
    );
    ((end - expected).abs() <= STEP)
        .then_some(())
        .ok_or(format!(
            "held {held:.3} s: sink at {end} %, not within {STEP} of {expected:.1} %"
        ))?;
    // The ramp's updates went through the request service too: one notification,
    // replaced in place, showing where the ramp ended.
    notified(d, &format!("{end:.0}%"))
}
