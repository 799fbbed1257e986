//! The socket, the client, bad input, signals, waybar and the daemon's life cycle.

mod common;

use audio_daemon_ipc::{self as protocol, ErrorKind, Response};
use audio_daemon_testkit::{wait_until, Client};
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let s = session();
    let p = vesktop("t-bad");
    let st = s.streams(1, &props(&p)).unwrap();
    let id = st.ids[0];
    let d = s.daemon("{}").unwrap();
    app(call(&d, set("vesktop", 50.0)));

    // A client that connects and never writes must not hold anyone up.
    let _silent = connect(&d);
    let mut c = connect(&d);
    let cases: &[(&str, ErrorKind)] = &[
        ("this is not json", ErrorKind::BadRequest),
        ("[1,2,3]", ErrorKind::BadRequest),
        (r#"{"app":"vesktop"}"#, ErrorKind::BadRequest),
        (
            r#"{"app":"vesktop","action":"louder"}"#,
            ErrorKind::UnknownAction,
        ),
        (r#"{"app":"discordd","action":"up"}"#, ErrorKind::UnknownApp),
        (
            r#"{"app":"vesktop","action":"up","amount":-5}"#,
            ErrorKind::BadAmount,
        ),
        (
            r#"{"app":"vesktop","action":"up","amount":1e308}"#,
            ErrorKind::BadAmount,
        ),
        (
            r#"{"app":"vesktop","action":"up","amount":1e999}"#,
            ErrorKind::BadRequest,
        ),
        (
            r#"{"app":"vesktop","action":"up","amount":NaN}"#,
            ErrorKind::BadRequest,
        ),
        (
            r#"{"app":"vesktop","action":"up","amount":"NaN"}"#,
            ErrorKind::BadRequest,
        ),
        (
            r#"{"app":"vesktop","action":"set","amount":5000}"#,
            ErrorKind::BadAmount,
        ),
        (r#"{"app":"vesktop","action":"set"}"#, ErrorKind::BadAmount),
        (
            r#"{"app":"vesktop","action":"up","sudo":true}"#,
            ErrorKind::BadRequest,
        ),
    ];
    for (line, kind) in cases {
        c.send_raw(format!("{line}\n").as_bytes()).unwrap();
        let reply = c.read_line().unwrap().expect("a reply line");
        let err = protocol::reply_from_line(&reply).unwrap().unwrap_err();
        assert_eq!(err.kind, *kind, "{line} -> {reply}");
        assert!(!err.message.is_empty());
    }
    c.send_raw(b"\xff\xfe\n").unwrap();
    let reply = c.read_line().unwrap().unwrap();
    assert!(reply.contains("bad_request"), "{reply}");
    // The same connection still works after all that.
    assert!(c.call(&get("vesktop")).unwrap().is_ok());
    assert_wpctl(&s, id, 0.50, false);

    // An overlong line: one error, then the daemon hangs up.
    let mut long = connect(&d);
    long.send_raw(&vec![b'x'; 100_000]).unwrap();
    let reply = long.read_line().unwrap().unwrap();
    assert!(reply.contains("line_too_long"), "{reply}");
    assert_eq!(long.read_line().unwrap_or(None), None);
    assert_wpctl(&s, id, 0.50, false);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn socket_is_private_and_the_seed_socat_line_works() {
    let s = session();
    let p = vesktop("t-socat");
    let st = s.streams(1, &props(&p)).unwrap();
    let d = s.daemon("{}").unwrap();
    let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    app(call(&d, set("vesktop", 50.0)));
    let out = s
        .command("sh")
        .arg("-c")
        .arg(format!(
            "echo '{{\"app\":\"vesktop\",\"action\":\"up\"}}' | socat - UNIX-CONNECT:{}",
            d.socket.display()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(r#"{"ok":true"#), "{text}");
    assert_wpctl(&s, st.ids[0], 0.55, false);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn audioctl_commands_and_exit_codes() {
    let s = session();
    let p = vesktop("t-ctl");
    let st = s.streams(1, &props(&p)).unwrap();
    let d = s.daemon("{}").unwrap();
    let ctl = |args: &[&str]| audioctl(&s, &d, args);
    assert_eq!(ctl(&["set", "vesktop", "40"]).0, Some(0));
    assert_eq!(ctl(&["up", "vesktop", "10"]).0, Some(0));
    assert_wpctl(&s, st.ids[0], 0.50, false);
    let (code, out, _) = ctl(&["get", "vesktop"]);
    assert_eq!((code, out.trim()), (Some(0), "vesktop 50% (1 stream)"));
    let (code, out, _) = ctl(&["get", "vesktop", "--json"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(r#""volume":50.0"#), "{out}");
    assert_eq!(ctl(&["mute", "vesktop", "on"]).0, Some(0));
    assert_wpctl(&s, st.ids[0], 0.50, true);
    let (code, out, _) = ctl(&["waybar", "vesktop"]);
    assert_eq!(code, Some(0));
    let w: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(w["class"], "muted");
    assert_eq!(w["percentage"], 50);
    let (code, _, err) = ctl(&["up", "nosuchapp"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown app"), "{err}");
    assert_eq!(ctl(&["set", "vesktop", "loud"]).0, Some(2));
    assert_eq!(ctl(&["frobnicate"]).0, Some(2));
    let missing = s.runtime_dir().join("nope.sock");
    let out = s
        .command(s.bin("audioctl"))
        .arg("--socket")
        .arg(&missing)
        .args(["get", "vesktop"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let (code, out, _) = ctl(&["latency", "vesktop", "50"]);
    assert_eq!(code, Some(0));
    let l: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(l["count"], 50);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn the_client_does_not_link_pipewire() {
    let out = std::process::Command::new("ldd")
        .arg(bin_dir().join("audioctl"))
        .output()
        .unwrap();
    let libs = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    // The release build links audioctl statically (scripts/build-release.sh): then ldd
    // finds nothing to load at all. Otherwise it must list libc and no libpipewire.
    let fully_static = libs.contains("statically linked") || err.contains("not a dynamic");
    assert!(
        fully_static || (out.status.success() && libs.contains("libc.so")),
        "ldd failed: {libs}{err}"
    );
    assert!(!libs.contains("libpipewire"), "{libs}");
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn subscribers_and_waybar_follow_see_outside_changes() {
    let s = session();
    let p = vesktop("t-sub");
    let st = s.streams(1, &props(&p)).unwrap();
    let d = s.daemon("{}").unwrap();
    let mut sub = connect(&d);
    sub.send_raw(b"{\"action\":\"subscribe\"}\n").unwrap();
    assert_eq!(
        sub.read_line().unwrap().unwrap(),
        r#"{"ok":true,"subscribed":true}"#
    );
    // The snapshot: one line per app, then @sink and @source.
    let mut snapshot = Vec::new();
    while snapshot.len() < 6 {
        snapshot.push(sub.read_line().unwrap().unwrap());
    }
    assert!(snapshot.iter().any(|l| l.contains(r#""app":"vesktop""#)));

    let mut follow = s
        .command(s.bin("audioctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(["waybar", "vesktop", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut follow_out = std::io::BufReader::new(follow.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut follow_out, &mut first).unwrap();
    assert!(first.contains(r#""percentage":100"#), "{first}");

    s.wpctl_set_volume(st.ids[0], "0.25").unwrap();
    let ev = loop {
        let l = sub.read_line().unwrap().unwrap();
        if l.contains(r#""app":"vesktop""#) {
            break l;
        }
    };
    assert!(
        ev.starts_with(r#"{"event":"app""#) && ev.contains(r#""volume":25.0"#),
        "{ev}"
    );
    let mut next = String::new();
    std::io::BufRead::read_line(&mut follow_out, &mut next).unwrap();
    assert!(next.contains(r#""percentage":25"#), "{next}");

    // The daemon restarts (as a config change does with the systemd unit): the module
    // shows as inactive meanwhile and comes back by itself.
    d.proc.signal(libc::SIGTERM);
    let mut gone = String::new();
    std::io::BufRead::read_line(&mut follow_out, &mut gone).unwrap();
    assert!(gone.contains(r#""class":"inactive""#), "{gone}");
    let _d2 = s.daemon("{}").unwrap();
    let mut back = String::new();
    std::io::BufRead::read_line(&mut follow_out, &mut back).unwrap();
    assert!(back.contains(r#""percentage":25"#), "{back}");
    let _ = follow.kill();
    let _ = follow.wait();
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn waybar_gets_its_signal_on_every_change() {
    let s = session();
    let fake = SignalRecorder::start(&s, "waybar");
    let p = vesktop("t-waybar");
    let st = s.streams(1, &props(&p)).unwrap();
    let d = s.daemon(r#"{"waybar_signal": 8}"#).unwrap();
    wait_until(
        Duration::from_secs(5),
        "a signal for the new stream",
        || fake.signals() >= 1,
    )
    .unwrap();
    let before = fake.signals();
    app(call(&d, set("vesktop", 30.0)));
    wait_until(Duration::from_secs(5), "a signal for our change", || {
        fake.signals() > before
    })
    .unwrap();
    let before = fake.signals();
    s.wpctl_set_volume(st.ids[0], "0.6").unwrap();
    wait_until(
        Duration::from_secs(5),
        "a signal for an outside change",
        || fake.signals() > before,
    )
    .unwrap();
    drop(fake);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn life_cycle_stale_socket_second_instance_reload_and_term() {
    let s = session();
    let p = vesktop("t-life");
    let _st = s.streams(1, &props(&p)).unwrap();
    // A stale socket, as a crash leaves it: a socket file nobody listens on.
    let sock = s.runtime_dir().join("audio-daemon.sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let mut d = s.daemon("{}").unwrap();

    // A second instance refuses, saying why, and leaves the first one's socket alone.
    let out = s
        .command(s.bin("audio-daemon"))
        .arg("--socket")
        .arg(&d.socket)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));
    assert!(call(&d, get("vesktop")).is_ok());

    // SIGHUP with a new app: it appears.
    std::fs::write(
        &d.config,
        r#"{"waybar_signal":null,"apps":{"voice":{"match":[{"media.name":"WEBRTC*"}]}}}"#,
    )
    .unwrap();
    d.proc.signal(libc::SIGHUP);
    wait_until(Duration::from_secs(5), "the reload", || {
        call(&d, get("voice")).is_ok_and(|r| matches!(r, Response::App(a) if a.streams.len() == 1))
    })
    .unwrap();
    // A broken file keeps the running configuration.
    std::fs::write(&d.config, "{ \"step\": ").unwrap();
    d.proc.signal(libc::SIGHUP);
    wait_until(Duration::from_secs(5), "the reload to fail", || {
        d.log().contains("reload failed")
    })
    .unwrap();
    assert!(
        d.log().contains(":1:"),
        "the error names line and column: {}",
        d.log()
    );
    assert!(call(&d, get("voice")).is_ok());

    // SIGTERM: clean exit, socket gone.
    d.proc.signal(libc::SIGTERM);
    wait_until(Duration::from_secs(5), "the daemon to exit", || {
        d.proc.exited().is_some()
    })
    .unwrap();
    assert!(!d.socket.exists());
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn losing_pipewire_is_reported_and_survived() {
    let mut s = session();
    let mut d = s.daemon("{}").unwrap();
    assert!(s.kill_pipewire());
    wait_until(Duration::from_secs(10), "the daemon to notice", || {
        call(&d, get("vesktop")).is_err_and(|e| e.kind == ErrorKind::PipewireUnavailable)
    })
    .unwrap();
    s.restart_pipewire().unwrap();
    d.wait_connected().unwrap();
    let p = vesktop("t-reconnect");
    let st = s.streams(1, &props(&p)).unwrap();
    wait_app(&d, "vesktop", "the new stream and its volume", |a| {
        a.volume.is_some()
    });
    app(call(&d, set("vesktop", 45.0)));
    assert_wpctl(&s, st.ids[0], 0.45, false);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_subscriber_that_stops_reading_is_dropped_not_waited_for() {
    let s = session();
    let p = vesktop("t-slow");
    let st = s.streams(1, &props(&p)).unwrap();
    // Unpaced: the test needs thousands of changes quickly, not 60 a second.
    let d = s.daemon(r#"{"rate_limit":null}"#).unwrap();
    let mut slow = Client::connect(&d.socket).unwrap();
    slow.send_raw(b"{\"action\":\"subscribe\"}\n").unwrap();
    // Never read while thousands of changes happen (more than the socket buffer and the
    // queue hold); everyone else is still served.
    let mut c = connect(&d);
    for i in 0..3000 {
        let v = if i % 2 == 0 { 40.0 } else { 45.0 };
        assert!(c.call(&set("vesktop", v)).unwrap().is_ok());
    }
    assert_wpctl(&s, st.ids[0], 0.45, false);
    // The slow one was cut off: what is buffered ends in EOF, not in a read timeout.
    let mut lines = 0;
    let end = loop {
        match slow.read_line() {
            Ok(Some(_)) => lines += 1,
            other => break other,
        }
    };
    assert_eq!(end, Ok(None), "after {lines} lines");
    assert!(lines < 3000, "{lines}");
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn other_users_are_refused_even_if_the_socket_were_open_to_them() {
    let s = session();
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("skipped: needs root to act as another user (CI runs as root)");
        return;
    }
    let p = vesktop("t-uid");
    let st = s.streams(1, &props(&p)).unwrap();
    let d = s.daemon("{}").unwrap();
    app(call(&d, set("vesktop", 50.0)));
    // Simulate a misconfiguration that lets another user reach the socket file at all:
    // the peer-credential check is what must still refuse them.
    std::fs::set_permissions(s.runtime_dir(), std::fs::Permissions::from_mode(0o711)).unwrap();
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = s
        .command("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg("socat")
        .arg("-")
        .arg(format!("UNIX-CONNECT:{}", d.socket.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(b"{\"app\":\"vesktop\",\"action\":\"up\"}\n")?;
            c.wait_with_output()
        })
        .unwrap();
    std::fs::set_permissions(s.runtime_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    // The connection itself worked (so this tests the daemon, not file permissions)...
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Permission denied"), "{err}");
    // ...but got no reply and changed nothing.
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_wpctl(&s, st.ids[0], 0.50, false);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_daemon_started_before_pipewire_answers_and_then_connects() {
    let mut s = session();
    assert!(s.kill_pipewire());
    let mut d = s.spawn_daemon("{}").unwrap();
    // The socket is up at once, and requests get a clear answer rather than hanging.
    wait_until(Duration::from_secs(10), "the socket", || d.socket.exists()).unwrap();
    let e = call(&d, get("vesktop")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::PipewireUnavailable, "{e}");
    s.restart_pipewire().unwrap();
    d.wait_connected().unwrap();
    let p = vesktop("t-late");
    let st = s.streams(1, &props(&p)).unwrap();
    wait_app(&d, "vesktop", "the stream and its volume", |a| {
        a.volume.is_some()
    });
    app(call(&d, set("vesktop", 35.0)));
    assert_wpctl(&s, st.ids[0], 0.35, false);
}
