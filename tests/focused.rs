//! `@focused` and compositor keys with no compositor in the environment: the daemon runs
//! as before, says clearly why `@focused` cannot work, and keeps its config's keys.
//! (With a real compositor: `audio-daemon-sway check`, run by scripts/test.sh.)

mod common;

use audio_daemon_ipc::{ErrorKind, Request, Response};
use common::*;

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn without_a_compositor_focused_is_a_clear_error() {
    let s = session();
    // The testkit removes SWAYSOCK, I3SOCK and HYPRLAND_INSTANCE_SIGNATURE from every
    // command, so this daemon sees no compositor whatever desktop the test runs on.
    let config = r#"{"keys":{"vesktop-up":{"app":"vesktop","action":"up"}}}"#;
    let d = s.daemon(config).expect("daemon");
    let _streams = s.streams(1, &props(&vesktop("focused-none"))).unwrap();
    for req in [up("@focused", None), get("@focused")] {
        match call(&d, req) {
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::NoCompositor);
                assert!(e.message.contains("SWAYSOCK"), "{}", e.message);
            }
            other => panic!("expected no_compositor, got {other:?}"),
        }
    }
    // Not listed either, while everything else works as before.
    match call(&d, Request::List) {
        Ok(Response::Apps(apps)) => assert!(apps.iter().all(|a| a.app != "@focused")),
        other => panic!("{other:?}"),
    }
    wait_app(&d, "vesktop", "the vesktop stream with its volume", |a| {
        a.streams.len() == 1 && a.volume.is_some()
    });
    assert!(app(call(&d, up("vesktop", Some(5.0)))).volume.is_some());
    let out = s
        .command(s.bin("audioctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(["up", "@focused"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no compositor"));
    assert!(
        d.log().contains("@focused and compositor keys are off"),
        "{}",
        d.log()
    );
}
