//! On-screen feedback on a real session bus: a real mako under headless sway, and no
//! notification service at all. Observed through mako's own list and dbus-monitor.

mod common;

use audio_daemon_testkit::{desktop, wait_until, Session};
use common::*;
use std::time::Duration;

const NOTIFY_CALLS: &str = "interface='org.freedesktop.Notifications',member='Notify'";

/// The dbus-monitor blocks (a header line and its argument lines) of Notify calls.
fn notify_calls(lines: &[String]) -> Vec<String> {
    let mut calls = Vec::new();
    for l in lines {
        if l.starts_with("method call") && l.contains("member=Notify") {
            calls.push(String::new());
        } else if l.starts_with(' ') {
            if let Some(c) = calls.last_mut() {
                // `variant             int32 70` -> `variant int32 70`
                c.push_str(&l.split_whitespace().collect::<Vec<_>>().join(" "));
                c.push('\n');
            }
        } else if !l.starts_with("method call") {
            // Another message's header: its lines are not a Notify call's.
            if calls.last().is_some_and(|c| !c.ends_with("\n\n")) {
                if let Some(c) = calls.last_mut() {
                    c.push('\n');
                }
            }
        }
    }
    calls.into_iter().map(|c| c.trim_end().to_owned()).collect()
}

fn tab(title: &str, role: &str) -> Vec<(String, String)> {
    vec![
        ("application.name".into(), "Firefox".into()),
        ("media.name".into(), title.into()),
        ("media.role".into(), role.into()),
    ]
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn without_a_notification_service_one_warning_and_everything_works() {
    let s = session();
    let p = vesktop("t-osd-none");
    let st = s.streams(1, &props(&p)).unwrap();
    let mon = s.dbus_monitor(NOTIFY_CALLS).unwrap();
    let d = s.daemon(r#"{"osd":"notify"}"#).unwrap();
    for i in 0..20 {
        app(call(&d, set("vesktop", 30.0 + f64::from(i))));
    }
    assert_wpctl(&s, st.ids[0], 0.49, false);
    // The last change's call has gone out (and failed): the task is past every change.
    wait_until(Duration::from_secs(10), "the last Notify call", || {
        notify_calls(&mon.lines.all())
            .iter()
            .any(|c| c.contains("string \"49%\""))
    })
    .unwrap();
    let log = d.log();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("no org.freedesktop.Notifications on the session bus"),
        "{}",
        warnings[0]
    );
    // Still serving.
    app(call(&d, set("vesktop", 20.0)));
    assert_wpctl(&s, st.ids[0], 0.20, false);
    // No thread of the `blocking` pool was started for D-Bus: its threads never exit and
    // wake up twice a second (blocking 1.7), which would end the daemon's idle silence.
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", d.proc.pid()))
        .unwrap()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|c| c.trim().to_owned())
        .collect();
    assert!(
        !threads.iter().any(|t| t.starts_with("blocking")),
        "{threads:?}"
    );
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn mako_shows_one_notification_per_app_and_a_burst_replaces_it() {
    const NAME: &str = "mako_shows_one_notification_per_app_and_a_burst_replaces_it";
    if let Some(passed) = desktop::rerun_unprivileged(NAME, &bin_dir()) {
        assert!(passed, "the unprivileged run failed (its output is above)");
        return;
    }
    let s = session();
    let (_sway, display) = s.sway().unwrap();
    let _mako = s.mako(&display).unwrap();
    let mon = s.dbus_monitor(NOTIFY_CALLS).unwrap();
    let vp = vesktop("t-osd-mako");
    let _v = s.streams(1, &props(&vp)).unwrap();
    let yp = tab("a - YouTube", "t-osd-mako-yt");
    let _y = s.streams(1, &props(&yp)).unwrap();
    let d = s.daemon(r#"{"osd":"notify"}"#).unwrap();

    let shown = |s: &Session, summary: &str, body: &str| {
        s.mako_notifications()
            .unwrap_or_else(|e| panic!("{e}; mako says: {}", s.mako_log()))
            .iter()
            .any(|n| n["summary"] == summary && n["body"] == body)
    };
    app(call(&d, set("vesktop", 40.0)));
    wait_until(Duration::from_secs(10), "mako to show 40%", || {
        shown(&s, "Discord", "40%")
    })
    .unwrap();
    // A held key: 15 steps from separate connections, as key repeats would.
    for _ in 0..15 {
        app(call(&d, up("vesktop", Some(2.0))));
    }
    wait_until(Duration::from_secs(10), "mako to show 70%", || {
        shown(&s, "Discord", "70%")
    })
    .unwrap();
    let list = s.mako_notifications().unwrap();
    let discord: Vec<_> = list.iter().filter(|n| n["summary"] == "Discord").collect();
    assert_eq!(discord.len(), 1, "replaced, not stacked: {list:?}");
    assert_eq!(discord[0]["app-name"], "audio-daemon");
    assert_eq!(discord[0]["app-icon"], "audio-volume-high");

    // Another app is a notification of its own.
    app(call(&d, set("youtube", 20.0)));
    wait_until(Duration::from_secs(10), "mako to show YouTube", || {
        shown(&s, "YouTube", "20%")
    })
    .unwrap();
    assert_eq!(s.mako_notifications().unwrap().len(), 2);

    // Another mixer's change shows once the reloaded config asks for it.
    std::fs::write(
        &d.config,
        r#"{"osd":"notify","osd_other_mixers":true,"waybar_signal":null}"#,
    )
    .unwrap();
    d.proc.signal(libc::SIGHUP);
    wait_until(Duration::from_secs(10), "the reload", || {
        d.log().contains("configuration reloaded")
    })
    .unwrap();
    s.wpctl_set_volume(_v.ids[0], "0.33").unwrap();
    wait_until(Duration::from_secs(10), "mako to show 33%", || {
        shown(&s, "Discord", "33%")
    })
    .unwrap();

    // What went over the bus, seen by dbus-monitor.
    let calls = notify_calls(&mon.lines.all());
    let discord_calls: Vec<&String> = calls
        .iter()
        .filter(|c| c.contains("\"Discord\"") && c.contains("\"70%\""))
        .collect();
    let all_discord = calls.iter().filter(|c| c.contains("\"Discord\"")).count();
    assert!(all_discord >= 3, "the burst made calls: {calls:#?}");
    let last = discord_calls.last().expect("the 70% call");
    for needle in [
        "string \"audio-daemon\"",
        "string \"audio-volume-high\"",
        "string \"70%\"",
        "string \"value\"\nvariant int32 70",
        "string \"x-canonical-private-synchronous\"\nvariant string \"audio-daemon-vesktop\"",
        "string \"x-dunst-stack-tag\"\nvariant string \"audio-daemon-vesktop\"",
        "string \"synchronous\"\nvariant string \"audio-daemon-vesktop\"",
        "int32 1500",
    ] {
        assert!(last.contains(needle), "{needle:?} not in {last}");
    }
    // mako stacks by tag: no replaces_id, which would crash mako 1.7.1.
    assert!(last.contains("\"audio-daemon\"\nuint32 0\n"), "{last}");

    let out = s.command("makoctl").arg("list").output().unwrap();
    eprintln!(
        "makoctl list:\n{}",
        String::from_utf8_lossy(&out.stdout).trim_end()
    );
}
