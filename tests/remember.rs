//! Remembered app volumes against a real PipeWire + WirePlumber, checked through wpctl
//! and the state file.

mod common;

use audio_daemon::memory::file::{self, BAD_NAME, FILE_NAME, TEMP_PREFIX};
use audio_daemon::state::RESTORE_GUARD;
use audio_daemon_ipc::{Request, Response};
use audio_daemon_testkit::{wait_until, Session};
use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn tab(title: &str, role: &str) -> Vec<(String, String)> {
    vec![
        ("application.name".into(), "Firefox".into()),
        ("media.name".into(), title.into()),
        ("media.role".into(), role.into()),
    ]
}

fn state_dir(s: &Session) -> PathBuf {
    s.state_home().join("audio-daemon")
}

/// The remembered level of `app` in the state file, if the file has one.
fn saved(s: &Session, app: &str) -> Option<f64> {
    let m = file::load(&state_dir(s).join(FILE_NAME)).ok()??;
    m.get(app).map(|r| r.volume)
}

/// Waits until wpctl shows `volume` on `id` *after* the restore guard has closed since
/// `appeared`: any re-assertion against WirePlumber happens inside the guard, so a value
/// seen after it is the one the stream keeps.
fn wait_final(s: &Session, id: u32, volume: f64, appeared: Instant) {
    let mut last = None;
    let r = wait_until(Duration::from_secs(10), "the remembered volume", || {
        last = s.wpctl_volume(id);
        appeared.elapsed() > RESTORE_GUARD && last.is_some_and(|(v, _)| (v - volume).abs() < 0.006)
    });
    r.unwrap_or_else(|e| panic!("{e}: node {id} is at {last:?}, expected {volume}"));
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn two_apps_sharing_a_media_role_keep_their_own_volumes() {
    let s = session();
    let yt_p = tab("a - YouTube", "t-shared");
    let tw_p = tab("b - Twitch", "t-shared");
    let mut yt = s.streams(1, &props(&yt_p)).unwrap();
    let mut tw = s.streams(1, &props(&tw_p)).unwrap();
    let d = s.daemon("{}").unwrap();
    app(call(&d, set("youtube", 30.0)));
    app(call(&d, set("twitch", 70.0)));
    assert_wpctl(&s, yt.ids[0], 0.30, false);
    assert_wpctl(&s, tw.ids[0], 0.70, false);
    let (old_yt, old_tw) = (yt.ids[0], tw.ids[0]);
    yt.remove(old_yt).unwrap();
    tw.remove(old_tw).unwrap();
    let t = Instant::now();
    let new_yt = yt.add().unwrap();
    let new_tw = tw.add().unwrap();
    wait_final(&s, new_yt, 0.30, t);
    wait_final(&s, new_tw, 0.70, t);
}

/// Another mixer moves a stream: WirePlumber stores that value under its own key, the
/// daemon (not following other mixers by default) keeps the app's.
fn let_wireplumber_store(s: &Session, id: u32, value: &str, expect: f64) {
    s.wpctl_set_volume(id, value).unwrap();
    wait_wpctl(s, id, expect);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_recreated_stream_gets_the_remembered_volume_until_forgotten() {
    let s = session();
    let p = tab("a - YouTube", "t-recreate");
    let mut st = s.streams(1, &props(&p)).unwrap();
    let d = s.daemon(r#"{"state_write_delay_ms":0}"#).unwrap();
    app(call(&d, set("youtube", 40.0)));
    assert_wpctl(&s, st.ids[0], 0.40, false);
    let_wireplumber_store(&s, st.ids[0], "0.8", 0.80);
    wait_until(Duration::from_secs(5), "the state file", || {
        saved(&s, "youtube") == Some(40.0)
    })
    .unwrap();

    let old = st.ids[0];
    st.remove(old).unwrap();
    let t = Instant::now();
    let id = st.add().unwrap();
    wait_final(&s, id, 0.40, t);

    // `audioctl forget youtube`: the next stream keeps what WirePlumber gives it.
    let out = s
        .command(s.bin("audioctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(["forget", "youtube"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "forgot youtube\n");
    wait_until(Duration::from_secs(5), "the state file to forget", || {
        saved(&s, "youtube").is_none()
    })
    .unwrap();
    let_wireplumber_store(&s, id, "0.8", 0.80);
    st.remove(id).unwrap();
    let t = Instant::now();
    let id = st.add().unwrap();
    wait_final(&s, id, 0.80, t);
}

/// Stops the daemon with SIGTERM and waits for it to exit.
fn terminate(d: &mut audio_daemon_testkit::Daemon) {
    d.proc.signal(libc::SIGTERM);
    wait_until(Duration::from_secs(10), "the daemon to exit", || {
        d.proc.exited().is_some()
    })
    .unwrap();
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn remembered_across_a_daemon_restart_and_a_pipewire_restart() {
    let mut s = session();
    let p = tab("a - YouTube", "t-restart");
    let mut st = s.streams(1, &props(&p)).unwrap();
    // A minute's delay: the only write before the restart is the one at SIGTERM.
    let config = r#"{"state_write_delay_ms":60000}"#;
    let mut d = s.daemon(config).unwrap();
    app(call(&d, set("youtube", 35.0)));
    let_wireplumber_store(&s, st.ids[0], "0.9", 0.90);
    assert_eq!(saved(&s, "youtube"), None, "not written before the delay");
    terminate(&mut d);
    assert_eq!(saved(&s, "youtube"), Some(35.0), "written at SIGTERM");

    let d = s.daemon(config).unwrap();
    let old = st.ids[0];
    st.remove(old).unwrap();
    let t = Instant::now();
    let id = st.add().unwrap();
    wait_final(&s, id, 0.35, t);

    // PipeWire restarts (every stream goes): the daemon's memory does not.
    let_wireplumber_store(&s, id, "0.9", 0.90);
    drop(st);
    assert!(s.kill_pipewire());
    s.restart_pipewire().unwrap();
    wait_until(
        Duration::from_secs(20),
        "the daemon to reconnect",
        || matches!(call(&d, Request::Stats), Ok(Response::Stats(st)) if st.connected),
    )
    .unwrap();
    let t = Instant::now();
    let st = s.streams(1, &props(&p)).unwrap();
    wait_final(&s, st.ids[0], 0.35, t);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_bad_state_file_is_moved_aside_and_the_daemon_starts_empty() {
    let s = session();
    let dir = state_dir(&s);
    let p = tab("a - YouTube", "t-corrupt");
    let st = s.streams(1, &props(&p)).unwrap();
    let truncated = "{\n  \"version\": 1,\n  \"apps\": {\n    \"youtube\": {\n      \"vol";
    let future = r#"{"version":2,"volumes":{"youtube":0.4}}"#;
    for (n, bad) in [truncated, future, ""].into_iter().enumerate() {
        std::fs::create_dir_all(&dir).unwrap();
        for name in [FILE_NAME, BAD_NAME] {
            let _ = std::fs::remove_file(dir.join(name));
            let _ = std::fs::remove_dir(dir.join(name));
        }
        if bad.is_empty() {
            // Unreadable as a file: a directory in its place.
            std::fs::create_dir(dir.join(FILE_NAME)).unwrap();
        } else {
            std::fs::write(dir.join(FILE_NAME), bad).unwrap();
        }
        let d = s.daemon(r#"{"state_write_delay_ms":0}"#).unwrap();
        let log = d.log();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(FILE_NAME)).collect();
        assert_eq!(lines.len(), 1, "round {n}: one line naming the file: {log}");
        assert!(lines[0].contains(&dir.join(FILE_NAME).display().to_string()));
        assert!(lines[0].contains(BAD_NAME), "{}", lines[0]);
        let aside = dir.join(BAD_NAME);
        if bad.is_empty() {
            assert!(aside.is_dir());
        } else {
            assert_eq!(std::fs::read_to_string(&aside).unwrap(), bad);
        }
        // It works, and saves a good file again.
        let level = 30.0 + n as f64;
        app(call(&d, set("youtube", level)));
        assert_wpctl(&s, st.ids[0], level / 100.0, false);
        wait_until(Duration::from_secs(5), "a new state file", || {
            saved(&s, "youtube") == Some(level)
        })
        .unwrap();
    }
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn killed_while_writing_the_file_is_always_old_or_new() {
    const ROUNDS: usize = 20;
    let s = session();
    let dir = state_dir(&s);
    let p = tab("a - YouTube", "t-crash");
    let _st = s.streams(1, &props(&p)).unwrap();
    let leftovers = || {
        std::fs::read_dir(&dir).map_or(0, |r| {
            r.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
                .count()
        })
    };
    let mut caught_mid_write = 0;
    let mut accepted: Vec<f64> = Vec::new();
    let mut ever_written = false;
    for round in 0..ROUNDS {
        // Every change is written at once, so the writer is busy the whole time.
        let mut d = s.daemon(r#"{"state_write_delay_ms":0}"#).unwrap();
        assert_eq!(
            leftovers(),
            0,
            "round {round}: the start removes temporaries"
        );
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sender = {
            let (done, socket) = (done.clone(), d.socket.clone());
            std::thread::spawn(move || {
                let mut sent = Vec::new();
                let Ok(mut c) = audio_daemon_testkit::Client::connect(&socket) else {
                    return sent;
                };
                for i in 0.. {
                    let v = 20.0 + (i % 50) as f64;
                    sent.push(v);
                    if !matches!(c.call(&set("youtube", v)), Ok(Ok(_))) {
                        break;
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                sent
            })
        };
        // Kill after a different number of writes each round.
        let k = 3 + round * 7 % 40;
        wait_until(Duration::from_secs(20), "requests to go through", || {
            done.load(std::sync::atomic::Ordering::SeqCst) >= k
        })
        .unwrap();
        d.proc.signal(libc::SIGKILL);
        wait_until(Duration::from_secs(10), "the daemon to die", || {
            d.proc.exited().is_some()
        })
        .unwrap();
        accepted.extend(sender.join().unwrap());
        caught_mid_write += usize::from(leftovers() > 0);
        let path = dir.join(FILE_NAME);
        match file::load(&path) {
            Ok(Some(m)) => {
                ever_written = true;
                let v = m.get("youtube").map(|r| r.volume);
                assert!(
                    v.is_some_and(|v| accepted.contains(&v)),
                    "round {round}: the file holds {v:?}, never sent"
                );
            }
            // Old = no file yet, when no write has completed so far.
            Ok(None) => assert!(!ever_written, "round {round}: the file vanished"),
            Err(e) => panic!("round {round}: a partial file: {e}"),
        }
    }
    eprintln!("{caught_mid_write} of {ROUNDS} kills left a temporary file (killed mid-write)");
    let _d = s.daemon("{}").unwrap();
    assert_eq!(leftovers(), 0);
}
