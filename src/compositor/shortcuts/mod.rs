//! Hyprland global shortcuts: one `hyprland_global_shortcut_v1` per configured key
//! (app id `audio-daemon`, id = the key's id), so `bind = SUPER, F1, global,
//! audio-daemon:vesktop-up` reaches the daemon with no process started, with `pressed`
//! and `released` events for holding.
//!
//! The Wayland connection lives on its own thread: wayland-client's set-up makes
//! blocking round trips, and a stalled compositor must never stall the socket server on
//! the executor. The thread forwards key events over a channel and waits in `poll` on
//! the Wayland socket and a wake-up pipe (config reloads). Hyprland kills the whole
//! connection on a duplicate registration (`already_taken`), so each connection keeps
//! the set it registered: a reload destroys removed ids and registers only new ones;
//! a new connection (the compositor restarted) starts from an empty set.

mod protocol;

use super::{hyprland, RETRY};
use protocol::hyprland_global_shortcut_v1::{self as shortcut, HyprlandGlobalShortcutV1};
use protocol::hyprland_global_shortcuts_manager_v1::HyprlandGlobalShortcutsManagerV1 as Manager;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::wl_registry::WlRegistry;
use wayland_client::{Connection, Dispatch, EventQueue, QueueHandle};

/// The app id every shortcut is registered under.
pub const APP_ID: &str = "audio-daemon";

/// A key went down or up, at the compositor's timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    pub id: String,
    pub pressed: bool,
    pub at: Instant,
}

/// Talks to the shortcuts thread.
pub struct Handle {
    ids: mpsc::Sender<Vec<(String, String)>>,
    wake: UnixStream,
}

impl Handle {
    /// Registers exactly these (id, description) pairs from now on.
    pub fn set_keys(&self, keys: Vec<(String, String)>) {
        if self.ids.send(keys).is_ok() {
            let _ = (&self.wake).write(&[1]);
        }
    }
}

/// Starts the thread; events arrive on the returned receiver.
pub fn spawn(
    runtime_dir: PathBuf,
    signature: String,
    keys: Vec<(String, String)>,
) -> std::io::Result<(Handle, smol::channel::Receiver<KeyEvent>)> {
    let (ids_tx, ids_rx) = mpsc::channel();
    let (events_tx, events_rx) = smol::channel::unbounded();
    let (wake_tx, wake_rx) = UnixStream::pair()?;
    wake_rx.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("shortcuts".into())
        .spawn(move || run(runtime_dir, signature, keys, ids_rx, wake_rx, events_tx))?;
    Ok((
        Handle {
            ids: ids_tx,
            wake: wake_tx,
        },
        events_rx,
    ))
}

/// The thread: connect, register, forward; again after a failure.
fn run(
    runtime_dir: PathBuf,
    signature: String,
    mut keys: Vec<(String, String)>,
    ids: mpsc::Receiver<Vec<(String, String)>>,
    wake: UnixStream,
    events: smol::channel::Sender<KeyEvent>,
) {
    let mut logged = None::<String>;
    loop {
        // This thread's own executor: the probes are async so as not to block the serving one.
        let result = match smol::block_on(hyprland::find_instance(&runtime_dir, Some(&signature))) {
            Some(inst) => connection(&runtime_dir, &inst, &mut keys, &ids, &wake, &events),
            None => Err(ShortcutsError::NotRunning),
        };
        let Err(e) = result else { return };
        // Logged once per distinct reason, not every second.
        let e = e.to_string();
        if logged.as_deref() != Some(e.as_str()) {
            eprintln!(
                "audio-daemon: global shortcuts: {e}; retrying every {:?}",
                RETRY
            );
            logged = Some(e);
        }
        if events.is_closed() {
            return;
        }
        // A retry pause on this thread's own time; nothing waits for it.
        std::thread::sleep(RETRY);
        while let Ok(k) = ids.try_recv() {
            keys = k;
        }
    }
}

/// Why a shortcuts connection ended (each is retried).
#[derive(Debug)]
pub enum ShortcutsError {
    /// No live Hyprland instance was found.
    NotRunning,
    /// Its Wayland socket (named in `hyprland.lock`) refused.
    Connect(String, std::io::Error),
    /// The Wayland connection failed or broke.
    Wayland(String),
    /// The compositor has no `hyprland_global_shortcuts_manager_v1`.
    NoGlobal(String),
}

impl std::fmt::Display for ShortcutsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShortcutsError::NotRunning => f.write_str("Hyprland is not running"),
            ShortcutsError::Connect(name, e) => write!(f, "connect to {name}: {e}"),
            ShortcutsError::Wayland(e) => write!(f, "Wayland connection: {e}"),
            ShortcutsError::NoGlobal(e) => write!(
                f,
                "the compositor offers no hyprland_global_shortcuts_manager_v1 ({e})"
            ),
        }
    }
}

impl std::error::Error for ShortcutsError {}

/// What the dispatch handlers collect.
#[derive(Default)]
struct State {
    events: Vec<KeyEvent>,
}

/// Converts a compositor timestamp (CLOCK_MONOTONIC) to an `Instant`: the same clock,
/// so only the age of the event matters.
fn instant_of(sec_hi: u32, sec_lo: u32, nsec: u32) -> Instant {
    let ts = Duration::new(
        (u64::from(sec_hi) << 32) | u64::from(sec_lo),
        nsec.min(999_999_999),
    );
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: now is valid for writes.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let now_mono = Duration::new(now.tv_sec as u64, now.tv_nsec as u32);
    let age = now_mono.saturating_sub(ts).min(Duration::from_secs(1));
    Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
}

impl Dispatch<HyprlandGlobalShortcutV1, String> for State {
    fn event(
        state: &mut Self,
        _: &HyprlandGlobalShortcutV1,
        event: shortcut::Event,
        id: &String,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let (pressed, at) = match event {
            shortcut::Event::Pressed {
                tv_sec_hi,
                tv_sec_lo,
                tv_nsec,
            } => (true, instant_of(tv_sec_hi, tv_sec_lo, tv_nsec)),
            shortcut::Event::Released {
                tv_sec_hi,
                tv_sec_lo,
                tv_nsec,
            } => (false, instant_of(tv_sec_hi, tv_sec_lo, tv_nsec)),
        };
        state.events.push(KeyEvent {
            id: id.clone(),
            pressed,
            at,
        });
    }
}

impl Dispatch<Manager, ()> for State {
    fn event(
        _: &mut Self,
        _: &Manager,
        _: <Manager as wayland_client::Proxy>::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

impl Dispatch<WlRegistry, GlobalListContents> for State {
    fn event(
        _: &mut Self,
        _: &WlRegistry,
        _: wayland_client::protocol::wl_registry::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
    }
}

/// The shortcuts registered on one connection.
struct Registered {
    manager: Manager,
    live: BTreeMap<String, HyprlandGlobalShortcutV1>,
}

/// What to change so that the live set becomes `wanted`: (ids to destroy, (id,
/// description) to register). Never an id that stays live, and each new id once, even
/// if `wanted` repeats it: Hyprland ends the whole connection on a duplicate.
fn plan<'l, 'w>(
    live: impl Iterator<Item = &'l String>,
    wanted: &'w [(String, String)],
) -> (Vec<String>, Vec<&'w (String, String)>) {
    let live: std::collections::BTreeSet<&String> = live.collect();
    let destroy = live
        .iter()
        .filter(|id| !wanted.iter().any(|(w, _)| w == **id))
        .map(|id| (*id).clone())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let register = wanted
        .iter()
        .filter(|(id, _)| !live.contains(id) && seen.insert(id.as_str()))
        .collect();
    (destroy, register)
}

impl Registered {
    /// Makes the registered set equal to `keys` (see [`plan`]).
    fn sync(&mut self, keys: &[(String, String)], qh: &QueueHandle<State>) {
        let (destroy, register) = plan(self.live.keys(), keys);
        for id in destroy {
            if let Some(s) = self.live.remove(&id) {
                s.destroy();
            }
        }
        for (id, description) in register {
            let s = self.manager.register_shortcut(
                id.clone(),
                APP_ID.to_owned(),
                description.clone(),
                String::new(),
                qh,
                id.clone(),
            );
            self.live.insert(id.clone(), s);
        }
    }
}

/// One Wayland connection, until it fails.
fn connection(
    runtime_dir: &std::path::Path,
    inst: &hyprland::Instance,
    keys: &mut Vec<(String, String)>,
    ids: &mpsc::Receiver<Vec<(String, String)>>,
    mut wake: &UnixStream,
    events: &smol::channel::Sender<KeyEvent>,
) -> Result<(), ShortcutsError> {
    let wl = |e: &dyn std::fmt::Display| ShortcutsError::Wayland(e.to_string());
    let conn = match &inst.wayland_socket {
        Some(name) => UnixStream::connect(runtime_dir.join(name))
            .map_err(|e| ShortcutsError::Connect(name.clone(), e))
            .and_then(|s| Connection::from_socket(s).map_err(|e| wl(&e)))?,
        None => Connection::connect_to_env().map_err(|e| wl(&e))?,
    };
    let (globals, mut queue): (_, EventQueue<State>) =
        registry_queue_init(&conn).map_err(|e| wl(&e))?;
    let qh = queue.handle();
    let manager: Manager = globals
        .bind(&qh, 1..=1, ())
        .map_err(|e| ShortcutsError::NoGlobal(e.to_string()))?;
    let mut reg = Registered {
        manager,
        live: BTreeMap::new(),
    };
    reg.sync(keys, &qh);
    eprintln!(
        "audio-daemon: {} global shortcuts registered with Hyprland",
        reg.live.len()
    );
    let mut state = State::default();
    let err = wl;
    loop {
        queue.dispatch_pending(&mut state).map_err(|e| err(&e))?;
        for ev in state.events.drain(..) {
            if events.try_send(ev).is_err() {
                return Ok(()); // the daemon is shutting down
            }
        }
        queue.flush().map_err(|e| err(&e))?;
        let Some(guard) = queue.prepare_read() else {
            continue;
        };
        let mut fds = [
            libc::pollfd {
                fd: guard.connection_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds is a valid array of two pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err(&e));
        }
        if fds[1].revents != 0 {
            drop(guard);
            let mut buf = [0u8; 64];
            while matches!(wake.read(&mut buf), Ok(n) if n > 0) {}
            while let Ok(k) = ids.try_recv() {
                *keys = k;
            }
            reg.sync(keys, &qh);
            continue;
        }
        match guard.read() {
            Ok(_) => {}
            Err(wayland_client::backend::WaylandError::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(err(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_plans_never_repeat_a_live_id() {
        let k = |ids: &[&str]| -> Vec<(String, String)> {
            ids.iter()
                .map(|i| (i.to_string(), format!("d {i}")))
                .collect()
        };
        let ids = |r: Vec<&(String, String)>| -> Vec<String> {
            r.into_iter().map(|(i, _)| i.clone()).collect()
        };
        // A fresh connection registers everything, a repeated id once.
        let wanted = k(&["a-up", "b-up", "a-up"]);
        let (d, r) = plan(std::iter::empty(), &wanted);
        assert!(d.is_empty());
        assert_eq!(ids(r), ["a-up", "b-up"]);
        // A reload: b goes, c comes, a stays and is not registered again.
        let live = ["a-up".to_string(), "b-up".to_string()];
        let wanted = k(&["a-up", "c-up"]);
        let (d, r) = plan(live.iter(), &wanted);
        assert_eq!(d, ["b-up"]);
        assert_eq!(ids(r), ["c-up"]);
        // The same config again: nothing to do.
        let wanted = k(&["a-up", "b-up"]);
        let (d, r) = plan(live.iter(), &wanted);
        assert!(d.is_empty() && r.is_empty());
    }

    #[test]
    fn compositor_timestamps_become_instants_of_the_same_age() {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: now is valid for writes.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let secs = now.tv_sec as u64 - 1; // one second ago, at the same nanosecond
        let before = Instant::now();
        let at = instant_of((secs >> 32) as u32, secs as u32, now.tv_nsec as u32);
        let age = before.saturating_duration_since(at);
        assert!(
            age > Duration::from_millis(900) && age <= Duration::from_secs(1),
            "{age:?}"
        );
        // Garbage (the far future, absurd nanoseconds) is "now", never a panic.
        let at = instant_of(u32::MAX, u32::MAX, u32::MAX);
        assert!(at >= before);
    }
}
