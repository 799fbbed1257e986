//! A stopped (SIGSTOP) stream client: other apps keep working, and a change reported as
//! failed does not land when the client runs again. Observed with wpctl.

mod common;

use audio_daemon_testkit::{wait_until, Client, Daemon, Session};
use common::*;
use std::time::Duration;

/// `audioctl ARGS` against the daemon: (exit code, stderr).
fn ctl(s: &Session, d: &Daemon, args: &[&str]) -> (Option<i32>, String) {
    let (code, _, err) = audioctl(s, d, args);
    (code, err)
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_stopped_app_blocks_nobody_else_and_its_failed_change_does_not_land_later() {
    let s = session();
    let p = vesktop("t-frozen");
    let stopped = s.streams(1, &props(&p)).unwrap();
    let yt = s
        .streams(
            1,
            &[
                ("media.name", "youtube - video"),
                ("media.role", "t-frozen-yt"),
            ],
        )
        .unwrap();
    let (v_id, y_id) = (stopped.ids[0], yt.ids[0]);
    let d = s.daemon("{}").unwrap();
    app(call(&d, set("vesktop", 50.0)));
    app(call(&d, set("youtube", 50.0)));
    let mut events = Client::connect(&d.socket).unwrap();
    events.send_raw(b"{\"action\":\"subscribe\"}\n").unwrap();

    stopped.proc.signal(libc::SIGSTOP);
    let (code, err) = ctl(&s, &d, &["set", "vesktop", "30"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cancelled"), "{err}");

    // Every other app works while it stays stopped, as wpctl confirms.
    for v in ["60", "65", "70"] {
        let (code, err) = ctl(&s, &d, &["set", "youtube", v]);
        assert_eq!(code, Some(0), "set youtube {v}: {err}");
    }
    assert_wpctl(&s, y_id, 0.70, false);
    // The stopped app is refused at once instead of queueing more behind it.
    let (code, err) = ctl(&s, &d, &["up", "vesktop"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not responding"), "{err}");
    assert_wpctl(&s, y_id, 0.70, false);

    // It runs again: PipeWire delivers the cancelled 30 %, and the daemon puts 50 % back.
    stopped.proc.signal(libc::SIGCONT);
    let mut seen = Vec::new();
    wait_until(
        Duration::from_secs(10),
        "the late change and its undo",
        || {
            let line = events.read_line().unwrap().unwrap();
            if line.contains(r#""app":"vesktop""#) {
                let a: serde_json::Value = serde_json::from_str(&line).unwrap();
                seen.push(a["volume"].as_f64().unwrap_or(-1.0));
            }
            seen.ends_with(&[30.0, 50.0])
        },
    )
    .unwrap();
    assert_wpctl(&s, v_id, 0.50, false);
    assert_wpctl(&s, y_id, 0.70, false);
    // And the app is an ordinary one again.
    app(call(&d, set("vesktop", 45.0)));
    assert_wpctl(&s, v_id, 0.45, false);
}
