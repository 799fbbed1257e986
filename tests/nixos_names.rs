//! Programs as NixOS runs them: nixpkgs wraps binaries, so waybar's process is
//! `.waybar-wrapped`, and the daemon must still find it.

mod common;

use audio_daemon_testkit::wait_until;
use common::*;
use std::time::Duration;

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn waybar_wrapped_by_nixpkgs_gets_its_signal_and_nothing_else_does() {
    let s = session();
    let wrapped = SignalRecorder::start(&s, ".waybar-wrapped");
    // A wrapper of a wrapper: the kernel keeps 15 bytes of the name.
    let twice = SignalRecorder::start(&s, ".waybar-wrapped-wrapped");
    // Not waybar: a real-time signal would terminate a program that does not expect it.
    let other = SignalRecorder::start(&s, "waybar-helper");
    assert_eq!(wrapped.comm(), ".waybar-wrapped");
    assert_eq!(twice.comm(), ".waybar-wrapped");
    assert_eq!(other.comm(), "waybar-helper");

    let p = vesktop("t-wrapped-waybar");
    let _st = s.streams(1, &props(&p)).unwrap();
    let d = s.daemon(r#"{"waybar_signal": 8}"#).unwrap();
    let got = |r: &SignalRecorder, more_than: usize, what: &str| {
        wait_until(Duration::from_secs(5), what, || r.signals() > more_than).unwrap()
    };
    got(&wrapped, 0, "a signal for the new stream");
    got(&twice, 0, "a signal for the new stream (cut name)");
    let (a, b) = (wrapped.signals(), twice.signals());
    app(call(&d, set("vesktop", 30.0)));
    got(&wrapped, a, "a signal for our change");
    got(&twice, b, "a signal for our change (cut name)");
    // The daemon signals every match in one pass: two rounds have reached the waybars,
    // so a signal meant for the helper would have arrived too.
    assert_eq!(
        other.signals(),
        0,
        "a process that is not waybar was signalled"
    );
}
