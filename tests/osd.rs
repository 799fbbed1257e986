//! On-screen feedback on a real session bus: a real mako under headless sway, and no
//! notification service at all. Observed through mako's own list and dbus-monitor.

mod common;

use audio_daemon_testkit::{desktop, wait_until, Session};
use common::*;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
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
    assert_no_blocking_pool(&d);
}

/// No thread of the `blocking` pool: its threads never exit and wake up twice a second
/// (blocking 1.7), which would end the daemon's idle silence.
fn assert_no_blocking_pool(d: &audio_daemon_testkit::Daemon) {
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

/// A session bus at an abstract socket (issue 23 #12): the daemon connects to it itself,
/// on its reactor, as to a path; zbus's own connect would start the `blocking` pool.
#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn an_abstract_session_bus_is_reached_without_a_thread() {
    let mut s = session();
    let p = vesktop("t-osd-abstract");
    let st = s.streams(1, &props(&p)).unwrap();
    let server = FakeServer::start(&s, ANSWER);
    let address = s.bus_abstract_address();
    s.set_env("DBUS_SESSION_BUS_ADDRESS", &address);
    let d = s.daemon(r#"{"osd":"notify"}"#).unwrap();
    app(call(&d, set("vesktop", 41.0)));
    assert_wpctl(&s, st.ids[0], 0.41, false);
    wait_until(Duration::from_secs(10), "the change's Notify", || {
        server.calls().len() == 1
    })
    .unwrap();
    assert_no_blocking_pool(&d);
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

/// How the fake notification server answers Notify.
const FAIL: u8 = 0;
const WRONG_TYPE: u8 = 1;
const ANSWER: u8 = 2;

/// A notification server on the session's bus (zbus, in a thread of its own) that owns
/// org.freedesktop.Notifications and answers Notify as `answer` says, recording the
/// sender (the bus connection) of each Notify call.
struct FakeServer {
    answer: Arc<AtomicU8>,
    senders: Arc<Mutex<Vec<String>>>,
}

impl FakeServer {
    fn start(s: &Session, answer: u8) -> FakeServer {
        use smol::stream::StreamExt;
        let address = format!("unix:path={}", s.bus_path().display());
        let answer = Arc::new(AtomicU8::new(answer));
        let senders = Arc::new(Mutex::new(Vec::new()));
        let (ready, ready_rx) = std::sync::mpsc::channel();
        let (a, c) = (answer.clone(), senders.clone());
        std::thread::spawn(move || {
            smol::block_on(async move {
                let built = match zbus::connection::Builder::address(address.as_str())
                    .and_then(|b| b.name("org.freedesktop.Notifications"))
                {
                    Ok(b) => b.build().await,
                    Err(e) => Err(e),
                };
                let conn = match built {
                    Ok(conn) => conn,
                    Err(e) => return drop(ready.send(Err(e.to_string()))),
                };
                // Listening before it says so: no call can come before.
                let mut stream = zbus::MessageStream::from(&conn);
                let _ = ready.send(Ok(()));
                while let Some(Ok(msg)) = stream.next().await {
                    let h = msg.header();
                    if h.message_type() != zbus::message::Type::MethodCall {
                        continue;
                    }
                    let r = match h.member().map(|m| m.as_str()) {
                        Some("Notify") => {
                            let sender = h.sender().map(|s| s.to_string()).unwrap_or_default();
                            c.lock().unwrap().push(sender);
                            match a.load(Ordering::SeqCst) {
                                FAIL => {
                                    conn.reply_error(
                                        &h,
                                        "org.freedesktop.DBus.Error.Failed",
                                        &"this server fails every call",
                                    )
                                    .await
                                }
                                WRONG_TYPE => conn.reply(&h, &"not a u32").await,
                                _ => conn.reply(&h, &7u32).await,
                            }
                        }
                        Some("GetCapabilities") => conn.reply(&h, &vec!["body"]).await,
                        _ => {
                            conn.reply_error(
                                &h,
                                "org.freedesktop.DBus.Error.UnknownMethod",
                                &"not here",
                            )
                            .await
                        }
                    };
                    if r.is_err() {
                        return;
                    }
                }
            })
        });
        ready_rx
            .recv_timeout(audio_daemon_testkit::SETUP_TIMEOUT)
            .expect("the fake notification server to start")
            .expect("the fake notification server to own its name");
        FakeServer { answer, senders }
    }

    fn calls(&self) -> Vec<String> {
        self.senders.lock().unwrap().clone()
    }
}

/// A server that answers every Notify with an error (`answer` FAIL) or with a reply
/// that is not the u32 id (WRONG_TYPE), while a key is held (a change every 20 ms for
/// 3.5 s): the daemon keeps its one connection (the server answered), and leaves the
/// server alone 1 s, then 2 s, after each failure: 2 or 3 calls, not one per change.
/// Once the server works, the next change after the rest is shown, and from then every
/// change is (no rest left over).
fn a_failing_server_gets_one_connection_and_rests(answer: u8) {
    let s = session();
    let p = vesktop("t-osd-failing");
    let st = s.streams(1, &props(&p)).unwrap();
    let server = FakeServer::start(&s, answer);
    let mon = s.dbus_monitor(NOTIFY_CALLS).unwrap();
    let d = s.daemon(r#"{"osd":"notify"}"#).unwrap();
    let start = std::time::Instant::now();
    let mut changes = 0;
    while start.elapsed() < Duration::from_millis(3500) {
        app(call(&d, set("vesktop", 30.0 + f64::from(changes % 40))));
        changes += 1;
        std::thread::sleep(Duration::from_millis(20)); // the key's repeat rate
    }
    wait_until(
        Duration::from_secs(10),
        "a second call, after the rest",
        || server.calls().len() >= 2,
    )
    .unwrap();
    let calls = server.calls();
    let senders: std::collections::BTreeSet<&String> = calls.iter().collect();
    assert_eq!(senders.len(), 1, "one connection for every call: {calls:?}");
    assert!(
        calls.len() <= 3,
        "{} calls for {changes} changes in 3.5 s: {calls:?}",
        calls.len()
    );
    // dbus-monitor, an observer of its own, saw the same calls.
    wait_until(Duration::from_secs(10), "dbus-monitor to see them", || {
        notify_calls(&mon.lines.all()).len() >= calls.len()
    })
    .unwrap();
    assert_eq!(notify_calls(&mon.lines.all()).len(), calls.len());
    let log = d.log();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{log}");

    // The server works again: a change once the rest (at most 4 s by now) is over is
    // shown, and the rest is gone with that success.
    server.answer.store(ANSWER, Ordering::SeqCst);
    let mut v = 30.0;
    wait_until(Duration::from_secs(20), "feedback to work again", || {
        v = if v == 30.0 { 31.0 } else { 30.0 };
        app(call(&d, set("vesktop", v)));
        std::thread::sleep(Duration::from_millis(50)); // paced like key presses
        d.log().contains("on-screen feedback works again")
    })
    .unwrap();
    for i in 0..5 {
        let before = server.calls().len();
        app(call(&d, set("vesktop", 50.0 + f64::from(i))));
        wait_until(Duration::from_secs(10), "this change's call", || {
            server.calls().len() > before
        })
        .unwrap();
    }
    assert_wpctl(&s, st.ids[0], 0.54, false);
    let calls = server.calls();
    let senders: std::collections::BTreeSet<&String> = calls.iter().collect();
    assert_eq!(senders.len(), 1, "still the one connection: {calls:?}");
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_server_answering_errors_gets_one_connection_and_rests() {
    a_failing_server_gets_one_connection_and_rests(FAIL);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_server_answering_the_wrong_type_gets_one_connection_and_rests() {
    a_failing_server_gets_one_connection_and_rests(WRONG_TYPE);
}

/// A notification service whose D-Bus activation fails (an activation file whose program
/// exits at once, as a masked or misconfigured mako gives): each call costs the bus a
/// fork, so the daemon rests after each failure. A server that then takes the name ends
/// the rest: the very next change is shown, not the one after up to 30 s.
#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_server_that_appears_ends_the_rest_a_failed_activation_began() {
    let s = session();
    let p = vesktop("t-osd-activation");
    let st = s.streams(1, &props(&p)).unwrap();
    std::fs::write(
        s.bus_services_dir()
            .join("org.freedesktop.Notifications.service"),
        "[D-BUS Service]\nName=org.freedesktop.Notifications\nExec=/bin/false\n",
    )
    .unwrap();
    let mon = s.dbus_monitor(NOTIFY_CALLS).unwrap();
    let d = s.daemon(r#"{"osd":"notify"}"#).unwrap();
    // Changes as a held key makes them until the third failed call: the rest after it
    // is 4 s (after 1 s and 2 s ones).
    let mut changes = 0;
    wait_until(Duration::from_secs(60), "three failed Notify calls", || {
        app(call(&d, set("vesktop", 30.0 + f64::from(changes % 40))));
        changes += 1;
        std::thread::sleep(Duration::from_millis(20)); // the key's repeat rate
        notify_calls(&mon.lines.all()).len() >= 3
    })
    .unwrap();
    assert!(changes > 10, "{changes} changes: the rests did not hold");
    let log = d.log();
    assert!(
        log.contains("org.freedesktop.DBus.Error.Spawn"),
        "the failed activation is what was logged: {log}"
    );
    // Now a server takes the name, in the middle of the 4 s rest; one change.
    let server = FakeServer::start(&s, ANSWER);
    app(call(&d, set("vesktop", 77.0)));
    wait_until(Duration::from_secs(10), "the change's Notify", || {
        !server.calls().is_empty()
    })
    .unwrap();
    assert_eq!(server.calls().len(), 1);
    assert_wpctl(&s, st.ids[0], 0.77, false);
    wait_until(Duration::from_secs(10), "the daemon to say so", || {
        d.log().contains("on-screen feedback works again")
    })
    .unwrap();
}
