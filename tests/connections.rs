//! Connection limits: idle clients over the cap, a low open-file limit, EMFILE on accept,
//! and subscribers that hang up. A keypress is served through all of it.

mod common;

use audio_daemon::server::slots::{MAX_CONNECTIONS, RESERVED_FDS};
use audio_daemon_ipc::{ErrorKind, Response};
use audio_daemon_testkit::{wait_until, Client, Daemon};
use common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The open-file limit that leaves room for `cap` connections.
fn nofile_for(cap: usize) -> u64 {
    RESERVED_FDS + cap as u64
}

fn log_count(d: &Daemon, needle: &str) -> usize {
    d.log().matches(needle).count()
}

/// A subscriber: returns once the daemon has confirmed the subscription.
fn subscriber(d: &Daemon) -> Client {
    let mut c = connect(d);
    c.send_raw(b"{\"action\":\"subscribe\"}\n").unwrap();
    assert_eq!(
        c.read_line().unwrap().unwrap(),
        r#"{"ok":true,"subscribed":true}"#
    );
    c
}

/// User + system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn idle_and_half_open_connections_over_the_cap_never_lock_a_keypress_out() {
    let s = session();
    let p = vesktop("t-idle-cap");
    let st = s.streams(1, &props(&p)).unwrap();
    let cap = 16;
    let mut d = s
        .spawn_daemon_with_nofile("{}", Some(nofile_for(cap)))
        .unwrap();
    d.wait_connected().unwrap();
    assert_eq!(
        log_count(&d, &format!("allows {cap} connections")),
        1,
        "{}",
        d.log()
    );
    // Three times the cap: silent ones and ones that sent half a request.
    let mut idle = Vec::new();
    for i in 0..3 * cap {
        let mut c = UnixStream::connect(&d.socket).unwrap();
        if i % 2 == 1 {
            c.write_all(br#"{"action":"set","app":"vesk"#).unwrap();
        }
        idle.push(c);
    }
    for (i, v) in [30.0, 35.0, 40.0].into_iter().enumerate() {
        let a = app(call(&d, set("vesktop", v)));
        assert_eq!(a.volume, Some(v), "keypress {i}");
    }
    assert_wpctl(&s, st.ids[0], 0.40, false);
    // The oldest idle connections were closed to make room: they read EOF.
    let first = &mut idle[0];
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(first.read(&mut buf).unwrap(), 0);
    // Said once, not once per connection.
    assert_eq!(log_count(&d, "closing the longest-idle"), 1, "{}", d.log());
    assert!(d.proc.exited().is_none());
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn subscribers_that_hang_up_give_their_slot_back_at_once() {
    let s = session();
    let p = vesktop("t-dead-subs");
    let _st = s.streams(1, &props(&p)).unwrap();
    let cap = 8;
    let mut d = s
        .spawn_daemon_with_nofile("{}", Some(nofile_for(cap)))
        .unwrap();
    d.wait_connected().unwrap();
    let subs: Vec<Client> = (0..cap).map(|_| subscriber(&d)).collect();
    // Every slot is a live subscriber: a newcomer is refused, truthfully.
    let e = call(&d, get("vesktop")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Busy, "{e}");
    // They all hang up; nothing else happens on the desktop (no event to write).
    drop(subs);
    wait_until(
        Duration::from_secs(5),
        "a client to be served after the subscribers left",
        || connect(&d).call(&get("vesktop")).is_ok_and(|r| r.is_ok()),
    )
    .unwrap();
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn emfile_on_accept_backs_off_without_spinning_and_recovers() {
    let s = session();
    let p = vesktop("t-emfile");
    let st = s.streams(1, &props(&p)).unwrap();
    let mut d = s.daemon("{}").unwrap();
    let pid = d.proc.pid();
    assert_eq!(log_count(&d, "connections (instead of"), 0, "{}", d.log());
    // Lower the running daemon's limit to a few descriptors above what it uses: its cap
    // (MAX_CONNECTIONS, from the limit at start) is now far above what accept can get.
    let limit = open_fds(pid) + 3;
    let lim = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: prlimit on our own child, with a valid rlimit and no old-value pointer.
    let r = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_NOFILE,
            &lim,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    assert!(MAX_CONNECTIONS as u64 > limit);

    // Subscribers cannot be evicted: once they hold every descriptor, the next
    // connection waits in the backlog while accept fails with EMFILE.
    let mut subs: Vec<UnixStream> = Vec::new();
    let emfile = |d: &Daemon| log_count(d, "Too many open files") > 0;
    while !emfile(&d) {
        assert!(subs.len() < 20, "the limit did not bite: {}", d.log());
        let mut c = UnixStream::connect(&d.socket).unwrap();
        if c.write_all(b"{\"action\":\"subscribe\"}\n").is_err() {
            // Accepted and at once evicted before its line arrived: when accept hits
            // EMFILE the longest-idle connection goes, and with every other one
            // subscribed that is this one. Only EMFILE evicts here, so it is logged.
            assert!(emfile(&d), "closed without EMFILE: {}", d.log());
            continue;
        }
        c.set_nonblocking(true).unwrap();
        // Either the daemon accepted it (its reply arrives) or accept failed (logged).
        wait_until(Duration::from_secs(5), "a reply or EMFILE", || {
            c.read(&mut [0u8; 4096]).is_ok() || emfile(&d)
        })
        .unwrap();
        subs.push(c);
    }
    // Backing off, not spinning: a busy accept loop would burn a full core.
    let before = cpu_ticks(pid);
    let window = Duration::from_secs(1);
    std::thread::sleep(window); // a measurement window, not a synchronisation
    let used = cpu_ticks(pid) - before;
    assert!(
        used < 20,
        "{used} ticks of CPU in {window:?} while out of fds"
    );
    assert_eq!(log_count(&d, "Too many open files"), 1, "logged once");

    // The subscribers leave: descriptors come back and a keypress goes through.
    drop(subs);
    wait_until(Duration::from_secs(5), "a keypress after recovery", || {
        connect(&d)
            .call(&set("vesktop", 45.0))
            .is_ok_and(|r| matches!(r, Ok(Response::App(_))))
    })
    .unwrap();
    assert_wpctl(&s, st.ids[0], 0.45, false);

    // Idle connections holding every descriptor: accept fails, the longest-idle one is
    // closed to free one, and the keypress is served at once.
    let idle: Vec<UnixStream> = (0..10)
        .map(|_| UnixStream::connect(&d.socket).unwrap())
        .collect();
    for v in [50.0, 55.0] {
        assert_eq!(app(call(&d, set("vesktop", v))).volume, Some(v));
    }
    assert_wpctl(&s, st.ids[0], 0.55, false);
    drop(idle);
    assert_eq!(log_count(&d, "Too many open files"), 1, "logged once");
    assert!(d.proc.exited().is_none());
}
