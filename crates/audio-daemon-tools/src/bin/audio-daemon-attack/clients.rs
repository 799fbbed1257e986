//! Attacks by clients: idle and half-open connections over the cap, subscribers that
//! hang up at once, and a stream client that stops (SIGSTOP) while other apps change.

use crate::keypress::Keypress;
use crate::{Harness, Row, Sizes};
use audio_daemon::server::MAX_CONNECTIONS;
use audio_daemon_ipc::{ErrorKind, Request, Response};
use audio_daemon_testkit::wait_until;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Keypresses to wait for while an attack holds: a count, not a time.
const PRESSES: usize = 80;
/// Subscribers opened and closed together.
const WAVE: usize = 100;
/// What a subscriber reads first with the default apps: the reply, four apps, @sink and
/// @source.
const SNAPSHOT_LINES: usize = 7;

pub fn idle_over_cap(h: &mut Harness, _: &Sizes, keys: &Keypress) -> Row {
    let fds_before = h.fds();
    let extra = 200;
    let mut conns = Vec::new();
    let mut problems = Vec::new();
    for i in 0..MAX_CONNECTIONS + extra {
        match UnixStream::connect(&h.daemon.socket) {
            Ok(mut c) => {
                // Every third one sends half a request and stops (half-open).
                if i % 3 == 0 {
                    let _ = c.write_all(br#"{"action":"set","app":"vesk"#);
                }
                conns.push(c);
            }
            Err(e) => {
                problems.push(format!("connect {i}: {e}"));
                break;
            }
        }
    }
    // The leak goes on: a new idle connection every few milliseconds, so that a slot
    // freed for a moment goes to the leak unless the daemon makes room for keys.
    let start = keys.count();
    while keys.count() < start + PRESSES {
        match UnixStream::connect(&h.daemon.socket) {
            Ok(c) => conns.push(c),
            Err(e) => {
                problems.push(format!("connect: {e}"));
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5)); // the leak's pace
    }
    let opened = conns.len();
    let seen = keys.take();
    drop(conns);
    // The daemon notices they are gone (EOF) and frees every slot.
    if let Err(e) = wait_until(Duration::from_secs(10), "the connections to close", || {
        h.fds() <= fds_before + 1
    }) {
        problems.push(format!("{e}: {} fds, {fds_before} before", h.fds()));
    }
    if !seen.failed.is_empty() {
        problems.push(format!(
            "keypresses failed: {:?}",
            &seen.failed[..seen.failed.len().min(3)]
        ));
    }
    Row {
        attack: "idle + half-open conns".into(),
        count: format!("{opened} connections (cap {MAX_CONNECTIONS})"),
        outcome: if problems.is_empty() {
            Ok("the longest-idle give way; no keypress refused".into())
        } else {
            Err(problems.join("; "))
        },
        keypress: seen.cell(),
    }
}

pub fn subscribers_hang_up(h: &mut Harness, sizes: &Sizes, keys: &Keypress) -> Row {
    // A quiet desktop: an event would make the daemon write to the dead subscribers and
    // find them gone that way, which is not what is tested here.
    keys.read_only(true);
    let _ = keys.take();
    let fds_before = h.fds();
    let mut problems = Vec::new();
    let (mut opened, mut waves) = (0, 0);
    // Waves of subscribers that hang up at once, more in all than the cap would allow if
    // dead ones kept their slots. Before the next wave, the daemon must have noticed that
    // every one of them is gone: with no event to write, only reading shows it.
    while opened < sizes.subscribers {
        // Each reads its snapshot to the end first: a subscriber that left while the
        // daemon was still writing to it is noticed by the failed write anyway.
        let wave: Vec<UnixStream> = (0..WAVE)
            .filter_map(|_| {
                let mut c = UnixStream::connect(&h.daemon.socket).ok()?;
                c.write_all(b"{\"action\":\"subscribe\"}\n").ok()?;
                c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
                let mut r = BufReader::new(c.try_clone().ok()?);
                let mut line = String::new();
                // The reply, every app's state, @sink and @source.
                for _ in 0..SNAPSHOT_LINES {
                    line.clear();
                    r.read_line(&mut line).ok()?;
                }
                Some(c)
            })
            .collect();
        opened += wave.len();
        waves += 1;
        if wave.is_empty() {
            problems.push("could not connect".into());
            break;
        }
        drop(wave);
        if let Err(e) = wait_until(
            Duration::from_secs(10),
            "the wave's slots to return",
            || h.fds() <= fds_before + 1,
        ) {
            problems.push(format!(
                "wave {waves}: {e}: {} fds, {fds_before} before",
                h.fds()
            ));
            break;
        }
    }
    let seen = keys.take();
    keys.read_only(false);
    if !seen.failed.is_empty() {
        problems.push(format!(
            "keypresses failed: {:?}",
            &seen.failed[..seen.failed.len().min(3)]
        ));
    }
    Row {
        attack: "subscribers hang up".into(),
        count: format!("{opened} subscribers in {waves} waves"),
        outcome: if problems.is_empty() {
            Ok(format!(
                "every slot returned after each wave (fds {fds_before} -> {})",
                h.fds()
            ))
        } else {
            Err(problems.join("; "))
        },
        keypress: format!("{} (get, not set: no events)", seen.cell()),
    }
}

pub fn frozen_client(h: &mut Harness, _: &Sizes, keys: &Keypress) -> Row {
    let mut problems = Vec::new();
    let set = |app: &str, volume: f64| {
        h.call(&Request::Set {
            app: app.into(),
            volume,
        })
    };
    let before = h.session.wpctl_volume(h.streams[1].ids[0]);
    h.streams[1].proc.signal(libc::SIGSTOP);
    let (mut others_ok, mut frozen_refused) = (0, 0);
    let start = keys.count();
    let mut i = 0;
    // The stopped app is asked too (first a timeout, then refused at once), while
    // another app changes and the keypress client is timed.
    while keys.count() < start + 2 * PRESSES {
        let v = 40.0 + (i % 20) as f64;
        match set("vesktop", v) {
            Ok(Ok(Response::App(a))) if a.volume == Some(v) => others_ok += 1,
            other => problems.push(format!("vesktop {v}: {other:?}")),
        }
        if i % 10 == 5 {
            match set("youtube", 20.0) {
                Ok(Err(e)) if matches!(e.kind, ErrorKind::Timeout | ErrorKind::NotResponding) => {
                    frozen_refused += 1
                }
                other => problems.push(format!("youtube while stopped: {other:?}")),
            }
        }
        i += 1;
        if problems.len() > 3 {
            break;
        }
    }
    let seen = keys.take();
    h.streams[1].proc.signal(libc::SIGCONT);
    // Once it runs again: nothing it was refused stays, and it is usable again.
    let vesktop_v = h.session.wpctl_volume(h.streams[0].ids[0]);
    let recovered = wait_until(Duration::from_secs(10), "youtube to answer again", || {
        matches!(set("youtube", 55.0), Ok(Ok(_)))
    });
    if let Err(e) = recovered {
        problems.push(e);
    }
    let after = h.session.wpctl_volume(h.streams[1].ids[0]);
    if after.map(|(v, _)| (v - 0.55).abs() > 0.006).unwrap_or(true) {
        problems.push(format!(
            "youtube at {after:?} after recovery, before {before:?}"
        ));
    }
    if !seen.failed.is_empty() {
        problems.push(format!(
            "keypresses failed: {:?}",
            &seen.failed[..seen.failed.len().min(3)]
        ));
    }
    Row {
        attack: "stream client SIGSTOPped".into(),
        count: format!("{others_ok} changes to another app, {frozen_refused} to it"),
        outcome: if problems.is_empty() {
            Ok(format!(
                "others unaffected (wpctl: vesktop {vesktop_v:?}); it failed fast and recovered"
            ))
        } else {
            Err(problems.join("; "))
        },
        keypress: seen.cell(),
    }
}
