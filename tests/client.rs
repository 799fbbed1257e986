//! audioctl's trust in what answers on the socket, and socket paths that cannot work.

mod common;

use audio_daemon_ipc::MAX_SOCKET_PATH;
use audio_daemon_testkit::{wait_until, Proc, TempDir};
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn audioctl_refuses_a_listener_of_another_user() {
    let s = session();
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("skipped: needs root to listen as another user (CI runs as root)");
        return;
    }
    // A directory anyone may create files in: another user squats the socket path.
    let dir = TempDir::new("audio-daemon-squat").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let sock = dir.path().join("audio-daemon.sock");
    let fake = r#"{"ok":true,"app":"vesktop","label":"x","volume":99.0,"muted":false,"max_volume":100.0,"streams":[]}"#;
    let reply = dir.path().join("reply");
    std::fs::write(&reply, format!("{fake}\n")).unwrap();
    std::fs::set_permissions(&reply, std::fs::Permissions::from_mode(0o644)).unwrap();
    let squatter = Proc {
        child: s
            .command("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg("socat")
            .arg(format!("UNIX-LISTEN:{},fork,mode=666", sock.display()))
            .arg(format!("SYSTEM:cat {}", reply.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        name: "socat",
    };
    wait_until(Duration::from_secs(5), "the squatter's socket", || {
        sock.exists()
    })
    .unwrap();
    let out = s
        .command(s.bin("audioctl"))
        .arg("--socket")
        .arg(&sock)
        .args(["get", "vesktop"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("uid 65534"), "{err}");
    // Nothing of what the squatter says reaches the user.
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(squatter);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn socket_paths_too_long_for_an_address_are_named_as_such() {
    let s = session();
    let long = s
        .runtime_dir()
        .join("x".repeat(MAX_SOCKET_PATH + 1 - s.runtime_dir().as_os_str().len()));
    assert_eq!(long.as_os_str().len(), MAX_SOCKET_PATH + 2);
    let out = s
        .command(s.bin("audioctl"))
        .arg("--socket")
        .arg(&long)
        .args(["get", "vesktop"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("socket path too long"), "{err}");
    let out = s
        .command(s.bin("audio-daemon"))
        .arg("--socket")
        .arg(&long)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("socket path too long"), "{err}");
    // 107 bytes is still a usable path.
    let fits = s
        .runtime_dir()
        .join("y".repeat(MAX_SOCKET_PATH - 1 - s.runtime_dir().as_os_str().len()));
    assert_eq!(fits.as_os_str().len(), MAX_SOCKET_PATH);
    // No waybar signals from a test (the harness's daemons turn them off the same way).
    let config = s.runtime_dir().join("quiet.json");
    std::fs::write(&config, r#"{"waybar_signal":null}"#).unwrap();
    let daemon = Proc {
        child: s
            .command(s.bin("audio-daemon"))
            .arg("--socket")
            .arg(&fits)
            .arg("--config")
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        name: "audio-daemon",
    };
    wait_until(
        Duration::from_secs(10),
        "the daemon on a 107-byte path",
        || {
            s.command(s.bin("audioctl"))
                .arg("--socket")
                .arg(&fits)
                .arg("stats")
                .output()
                .is_ok_and(|o| o.status.success())
        },
    )
    .unwrap();
    drop(daemon);
}
