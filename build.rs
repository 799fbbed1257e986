//! Marks the integration tests as ignored when `AUDIO_DAEMON_PW_TESTS=0` (the Nix build
//! sandbox has no PipeWire): they then show up as "ignored" in the test summary instead of
//! passing without having run anything.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pw_tests_off)");
    println!("cargo::rerun-if-env-changed=AUDIO_DAEMON_PW_TESTS");
    if std::env::var("AUDIO_DAEMON_PW_TESTS").as_deref() == Ok("0") {
        println!("cargo::rustc-cfg=pw_tests_off");
    }
}
