//! A hung compositor (issue 23 #1, #2): a daemon started in a Hyprland session whose
//! sockets listen with a full backlog and never accept, whose other instance
//! directories hold a FIFO and a 1 GiB sparse file as `hyprland.lock`; one in a sway
//! session whose socket is jammed the same way; and one whose sway answers with a 4 MiB
//! tree (issue 23 #3). Each keeps trying to follow its
//! compositor meanwhile. Every request on its socket must still be answered, quickly,
//! and the huge lock must not be read into memory.

use crate::keypress::Keypress;
use crate::standin;
use crate::{status_kib, Harness, Row, Sizes};
use audio_daemon::compositor::socket;
use audio_daemon_ipc::Request;
use audio_daemon_testkit as testkit;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Requests timed against each daemon, over a few of its reconnect attempts.
const REQUESTS: usize = 100;
/// Slower than this is a key that feels stuck. Generous, so that a busy machine cannot
/// trip it: the daemon's requests take about a millisecond here, and the daemon before
/// this check never answered at all.
const SLOW: Duration = Duration::from_secs(2);
/// The 1 GiB lock must not be read: the daemon's peak RSS stays under this.
const MAX_PEAK_KIB: u64 = 64 * 1024;

/// A listener whose backlog is full: kept alive with the connections that filled it.
struct Jam {
    _listener: UnixListener,
    _held: Vec<smol::Async<std::os::unix::net::UnixStream>>,
}

fn jam(path: &Path) -> Result<Jam, String> {
    let listener = UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: lowers the backlog of a listening socket this process owns.
    if unsafe { libc::listen(listener.as_raw_fd(), 0) } != 0 {
        return Err(format!("listen: {}", std::io::Error::last_os_error()));
    }
    let mut held = Vec::new();
    // The daemon's own (non-blocking) connect: it fails at once when the backlog is full.
    while let Ok(c) = smol::block_on(socket::connect(path)) {
        held.push(c);
        if held.len() > 64 {
            return Err("the backlog never filled".into());
        }
    }
    Ok(Jam {
        _listener: listener,
        _held: held,
    })
}

fn fifo(path: &Path) -> Result<(), String> {
    let c =
        std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(format!("mkfifo: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// One daemon with `env`, on a socket of its own: how its requests went. `started`
/// runs once the daemon answers, before the timed requests.
fn attack_one(
    h: &Harness,
    name: &str,
    env: &[(&str, String)],
    started: impl FnOnce() -> Result<(), String>,
) -> Result<String, String> {
    let (mut daemon, sock) = h.other_daemon(&format!("hung-{name}"), env, Stdio::null())?;
    let answers = || {
        testkit::Client::connect(&sock)
            .and_then(|mut c| {
                c.call(&Request::Get {
                    app: "@sink".into(),
                })
            })
            .is_ok_and(|r| r.is_ok())
    };
    testkit::wait_until(
        testkit::SETUP_TIMEOUT,
        &format!("the daemon in a hung {name} session to answer"),
        answers,
    )?;
    started()?;
    let mut slowest = Duration::ZERO;
    for i in 0..REQUESTS {
        let t = Instant::now();
        if !answers() {
            return Err(format!("request {i}: no answer"));
        }
        slowest = slowest.max(t.elapsed());
        // Spread over a few of the daemon's reconnect attempts (one a second).
        std::thread::sleep(Duration::from_millis(30));
    }
    let peak = status_kib(daemon.pid(), "VmHWM:");
    if daemon.exited().is_some() {
        return Err("the daemon exited".into());
    }
    if slowest > SLOW {
        return Err(format!("slowest answer {slowest:?} (> {SLOW:?})"));
    }
    if peak > MAX_PEAK_KIB {
        return Err(format!(
            "{name}: peak RSS {peak} KiB (> {MAX_PEAK_KIB} KiB): a huge lock file or sway message was read whole"
        ));
    }
    Ok(format!(
        "{name}: {REQUESTS} answered, slowest {:.1} ms, peak RSS {peak} KiB",
        slowest.as_secs_f64() * 1e3
    ))
}

fn set_up_and_attack(h: &Harness) -> Result<String, String> {
    let run = h.session.runtime_dir();
    let hypr = run.join("hypr");
    let mk = |d: &Path| std::fs::create_dir_all(d).map_err(|e| e.to_string());
    let jam_dir = hypr.join("hung");
    mk(&jam_dir)?;
    let _events = jam(&jam_dir.join(".socket2.sock"))?;
    let _queries = jam(&jam_dir.join(".socket.sock"))?;
    let fifo_dir = hypr.join("fifo");
    mk(&fifo_dir)?;
    fifo(&fifo_dir.join("hyprland.lock"))?;
    let big_dir = hypr.join("big");
    mk(&big_dir)?;
    let _big_events =
        UnixListener::bind(big_dir.join(".socket2.sock")).map_err(|e| e.to_string())?;
    std::fs::File::create(big_dir.join("hyprland.lock"))
        .and_then(|f| f.set_len(1 << 30))
        .map_err(|e| e.to_string())?;
    let hyprland = attack_one(
        h,
        "Hyprland",
        &[("HYPRLAND_INSTANCE_SIGNATURE", "hung".into())],
        || Ok(()),
    )?;
    let sway_sock = run.join("sway-ipc.hung.sock");
    let _sway = jam(&sway_sock)?;
    let sway = attack_one(
        h,
        "sway",
        &[("SWAYSOCK", sway_sock.display().to_string())],
        || Ok(()),
    )?;
    let tree = huge_tree(h)?;
    Ok(format!("{hyprland}; {sway}; {tree}"))
}

/// A sway whose tree is 4 MiB of empty containers (issue 23 #3), the focused window
/// last: parsed on the serving thread it cost 288 MB and delayed keys by 2.3 s.
fn huge_tree(h: &Harness) -> Result<String, String> {
    let path = h.session.runtime_dir().join("sway-ipc.tree.sock");
    let mut nodes = vec!["{}"; 1_390_000];
    nodes.push(r#"{"id":7,"type":"con","app_id":"foot","pid":4242,"focused":true}"#);
    let tree = format!(r#"{{"id":1,"type":"root","nodes":[{}]}}"#, nodes.join(","));
    let sway = standin::Sway::listen(&path, tree.into_bytes())?;
    let mut held = None;
    attack_one(
        h,
        "sway with a 4 MiB tree",
        &[("SWAYSOCK", path.display().to_string())],
        // The tree has been read before the timed requests.
        || {
            held = Some(sway.session()?);
            Ok(())
        },
    )
}

pub fn hung_compositor(h: &mut Harness, _sizes: &Sizes, keys: &Keypress) -> Row {
    Row {
        attack: "hung compositor".into(),
        count: format!("3 daemons x {REQUESTS} requests"),
        outcome: set_up_and_attack(h),
        keypress: keys.take().cell(),
    }
}
