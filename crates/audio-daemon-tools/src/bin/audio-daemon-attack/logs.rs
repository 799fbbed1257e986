//! Log floods (issue 23 #11): a daemon following a stand-in sway that sends 10k
//! bindings with distinct unknown key ids, 4k alternating bad bindings and 2k key
//! requests that fail, while one of the attacked app's streams is added, changed and
//! removed again and again. Each kind of line the daemon writes for them is rate-limited
//! (`audio_daemon::logs`): its log may hold a burst of each and a count, not a line per
//! event, and the daemon must still apply the binding sent after the flood.

use crate::keypress::Keypress;
use crate::standin;
use crate::{Harness, Row, Sizes};
use audio_daemon::compositor::sway;
use audio_daemon::logs::BURST;
use audio_daemon_ipc::{Request, Response};
use audio_daemon_testkit as testkit;
use std::io::Write;
use std::os::unix::net::UnixStream;

const UNKNOWN: usize = 10_000;
const BAD: usize = 4_000;
const FAILING: usize = 2_000;
const CHURN: usize = 30;
/// The binding sent last: once it is applied, every earlier one has been handled
/// (sway's events are read in order).
const LAST: f64 = 37.0;

/// Every binding of the flood, then the last one.
fn commands() -> Vec<String> {
    let mut c = Vec::with_capacity(UNKNOWN + BAD + FAILING + 1);
    c.extend((0..UNKNOWN).map(|i| format!("nop audio-daemon press flood-{i}")));
    c.extend((0..BAD).map(|i| {
        if i % 2 == 0 {
            "nop audio-daemon frobnicate vesktop".to_owned()
        } else {
            "nop audio-daemon up".to_owned()
        }
    }));
    c.extend((0..FAILING).map(|i| format!("nop audio-daemon up nothing-{i}")));
    c.push(format!("nop audio-daemon set vesktop {LAST}"));
    c
}

/// Every binding, as sway's events (a daemon that stops reading fails this, not hangs it).
fn flood(s: &mut UnixStream) -> Result<(), String> {
    s.set_write_timeout(Some(testkit::SETUP_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for command in commands() {
        let event = serde_json::json!({"change": "run", "binding": {"command": command}});
        out.extend(sway::encode(
            sway::EVENT_BINDING,
            event.to_string().as_bytes(),
        ));
    }
    s.write_all(&out).map_err(|e| e.to_string())
}

/// Lines of the daemon's log containing `pattern`.
fn count(log: &str, pattern: &str) -> usize {
    log.lines().filter(|l| l.contains(pattern)).count()
}

fn attack(h: &mut Harness) -> Result<String, String> {
    let sway_sock = h.session.runtime_dir().join("sway-ipc.flood.sock");
    let stand_in = standin::Sway::listen(&sway_sock, standin::EMPTY_TREE.to_vec())?;
    let log_path = h.session.runtime_dir().join("flood.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    let (mut daemon, sock) = h.other_daemon(
        "flood",
        &[("SWAYSOCK", sway_sock.display().to_string())],
        log.into(),
    )?;
    let mut sway = stand_in.session()?;
    let call = |req: &Request| testkit::Client::connect(&sock).and_then(|mut c| c.call(req));
    // First, streams that come and go while the daemon changes them: PipeWire answers
    // a change to a vanished node with an error. Then the bindings (after the churn's
    // last change, so that the last binding's volume stays).
    let vesktop = &mut h.streams[0];
    let streams = |n: usize| {
        matches!(call(&Request::Get { app: "vesktop".into() }),
            Ok(Ok(Response::App(a))) if a.streams.len() == n)
    };
    for i in 0..CHURN {
        let id = vesktop.add()?;
        testkit::wait_until(
            testkit::SETUP_TIMEOUT,
            "the daemon to see the new stream",
            || streams(2),
        )?;
        // The change is in flight when the stream goes: its reply is read after.
        let mut client = testkit::Client::connect(&sock)?;
        let set = Request::Set {
            app: "vesktop".into(),
            volume: 40.0 + (i % 20) as f64,
        };
        client.send_raw(format!("{}\n", set.to_line()).as_bytes())?;
        vesktop.remove(id)?;
        let _ = client.read_line()?;
    }
    flood(&mut sway)?;
    let waited = testkit::wait_until(
        testkit::SETUP_TIMEOUT,
        "the binding sent after the flood (vesktop at 37 %)",
        || {
            matches!(call(&Request::Get { app: "vesktop".into() }),
                Ok(Ok(Response::App(a))) if a.volume.is_some_and(|v| (v - LAST).abs() < 0.5))
        },
    );
    let log = std::fs::read_to_string(&log_path).map_err(|e| e.to_string())?;
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    waited.map_err(|e| {
        let now = call(&Request::Get {
            app: "vesktop".into(),
        });
        format!("{e} (vesktop: {now:?}); the daemon's last lines: {tail:?}")
    })?;
    if daemon.exited().is_some() {
        return Err("the daemon exited".into());
    }
    let kinds = [
        (
            "bindings",
            count(&log, "no key ") + count(&log, "ignoring a binding"),
        ),
        ("failed key requests", count(&log, "key: ")),
        ("PipeWire errors", count(&log, "PipeWire error on object")),
        ("dropped subscribers", count(&log, "dropping a subscriber")),
    ];
    let summary = kinds
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let total = log.lines().count();
    // The flood reached the daemon: without this the limit is not tested.
    if kinds[0].1 == 0 || kinds[1].1 == 0 {
        return Err(format!("the flood left no trace in the log ({summary})"));
    }
    if let Some((k, n)) = kinds.iter().find(|(_, n)| *n > BURST as usize) {
        return Err(format!(
            "{n} lines of {k} (at most {BURST} a minute); {summary}; {total} lines in all"
        ));
    }
    if !log.contains("are counted, not logged") {
        return Err(format!("no line says further ones are counted ({summary})"));
    }
    Ok(format!("log lines: {summary}; {total} in all"))
}

pub fn log_floods(h: &mut Harness, _sizes: &Sizes, keys: &Keypress) -> Row {
    Row {
        attack: "log floods".into(),
        count: format!("{UNKNOWN}+{BAD}+{FAILING} binds, {CHURN} streams"),
        outcome: attack(h),
        keypress: keys.take().cell(),
    }
}
