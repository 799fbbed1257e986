//! Reloads that remove apps, config paths that are not config files, and the exact edges
//! of the wire format, against the real daemon.

mod common;

use audio_daemon_ipc::{self as protocol, ErrorKind, Response, MAX_LINE};
use audio_daemon_testkit::wait_until;
use common::*;
use std::time::Duration;

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_reload_that_removes_an_app_keeps_the_daemon_and_other_apps_working() {
    let s = session();
    let yt = s
        .streams(
            1,
            &[("media.name", "youtube - a video"), ("media.role", "t-rl")],
        )
        .unwrap();
    // An extra app whose name sorts before every built-in one.
    let with = r#"{"waybar_signal":null,"apps":{"aaa":{"match":[{"media.name":"*aaa*"}]}}}"#;
    let mut d = s.daemon(with).unwrap();
    wait_app(&d, "youtube", "youtube's stream", |a| a.volume.is_some());
    let mut sub = connect(&d);
    sub.send_raw(b"{\"action\":\"subscribe\"}\n").unwrap();
    sub.read_line().unwrap().unwrap();
    for round in 0..3 {
        std::fs::write(&d.config, r#"{"waybar_signal":null}"#).unwrap();
        d.proc.signal(libc::SIGHUP);
        wait_until(Duration::from_secs(5), "aaa to be gone", || {
            call(&d, get("aaa")).is_err_and(|e| e.kind == ErrorKind::UnknownApp)
        })
        .unwrap();
        let v = 40.0 + round as f64;
        assert_eq!(app(call(&d, set("youtube", v))).volume, Some(v));
        assert_wpctl(&s, yt.ids[0], v / 100.0, false);
        std::fs::write(&d.config, with).unwrap();
        d.proc.signal(libc::SIGHUP);
        wait_until(Duration::from_secs(5), "aaa to be back", || {
            call(&d, get("aaa")).is_ok()
        })
        .unwrap();
    }
    assert!(d.proc.exited().is_none(), "{}", d.log());
    // The subscriber is still served.
    assert!(sub.read_line().unwrap().is_some());
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_config_path_that_is_a_fifo_or_huge_hangs_nobody() {
    let s = session();
    let p = vesktop("t-fifo");
    let _st = s.streams(1, &props(&p)).unwrap();
    let mut d = s.daemon("{}").unwrap();
    std::fs::remove_file(&d.config).unwrap();
    let c = std::ffi::CString::new(d.config.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    d.proc.signal(libc::SIGHUP);
    wait_until(Duration::from_secs(5), "the reload to be refused", || {
        d.log().contains("is a FIFO")
    })
    .unwrap();
    // Nobody writes to the FIFO, and requests are served all the same.
    app(call(&d, set("vesktop", 40.0)));

    // A 100 MB file (sparse: the size is what matters) is refused without reading it.
    std::fs::remove_file(&d.config).unwrap();
    let f = std::fs::File::create(&d.config).unwrap();
    f.set_len(100 << 20).unwrap();
    d.proc.signal(libc::SIGHUP);
    wait_until(Duration::from_secs(5), "the big file to be refused", || {
        d.log().contains("limit for a config")
    })
    .unwrap();
    app(call(&d, set("vesktop", 45.0)));
    assert!(d.proc.exited().is_none());
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn the_line_limit_is_exact_and_only_objects_are_requests() {
    let s = session();
    let d = s.daemon("{}").unwrap();
    let list = r#"{"action":"list"}"#;
    // Exactly MAX_LINE bytes (padded with JSON whitespace) is a request.
    let exact = format!("{list}{}", " ".repeat(MAX_LINE - list.len()));
    let mut c = connect(&d);
    c.send_raw(format!("{exact}\n").as_bytes()).unwrap();
    let r = protocol::reply_from_line(&c.read_line().unwrap().unwrap()).unwrap();
    assert!(matches!(r, Ok(Response::Apps(_))), "{r:?}");
    // Also with CRLF.
    c.send_raw(format!("{exact}\r\n").as_bytes()).unwrap();
    assert!(c.read_line().unwrap().unwrap().starts_with(r#"{"ok":true"#));
    // One byte more, in a single write (newline in the same read), is refused.
    for len in [MAX_LINE + 1, 6000, 8191] {
        let mut c = connect(&d);
        let line = format!("{list}{}", " ".repeat(len - list.len()));
        c.send_raw(format!("{line}\n").as_bytes()).unwrap();
        let reply = c.read_line().unwrap().unwrap();
        assert!(reply.contains("line_too_long"), "{len}: {reply}");
        assert_eq!(c.read_line().unwrap_or(None), None, "then closed");
    }
    // serde's array form of a struct is not a request.
    let mut c = connect(&d);
    for line in [r#"["list"]"#, r#"["stats",null]"#] {
        c.send_raw(format!("{line}\n").as_bytes()).unwrap();
        let e = protocol::reply_from_line(&c.read_line().unwrap().unwrap())
            .unwrap()
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest, "{line}");
    }
}
