//! Hyprland IPC: the focused window, from `.socket2.sock` events and `.socket.sock`
//! queries, in `$XDG_RUNTIME_DIR/hypr/$HYPRLAND_INSTANCE_SIGNATURE/`.
//!
//! `activewindowv2>>ADDRESS` (hex, no `0x`) announces a focus change, and an empty
//! address means nothing is focused. Hyprland repeats the event for the same window on
//! title and class changes, so it is deduplicated by address; the pid comes from one
//! `j/activewindow` query per real change. Hyprland drops an event reader that falls
//! 64 events behind, so the reader never waits on anything but the socket (a query is
//! bounded by [`QUERY_TIMEOUT`]).

use super::{socket, Output};
use crate::lines::{Line, LineReader};
use crate::state::{Focus, Window};
use serde::Deserialize;
use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::Timer;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest event line read: Hyprland cuts event data at 1024 bytes.
const MAX_EVENT_LINE: usize = 4096;
/// Largest query reply read (`j/activewindow` is one window).
const MAX_REPLY: usize = 1 << 20;
/// How long a query may take.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a Hyprland connection ended.
#[derive(Debug)]
pub enum HyprlandError {
    Io(std::io::Error),
    /// A query took longer than [`QUERY_TIMEOUT`].
    Timeout,
    /// A query's reply was over [`MAX_REPLY`].
    TooLarge,
    /// The event socket closed (Hyprland quit or restarted).
    Closed,
}

impl fmt::Display for HyprlandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HyprlandError::Io(e) => write!(f, "{e}"),
            HyprlandError::Timeout => write!(f, "no answer within {QUERY_TIMEOUT:?}"),
            HyprlandError::TooLarge => write!(f, "a reply over {MAX_REPLY} bytes"),
            HyprlandError::Closed => f.write_str("the event socket closed"),
        }
    }
}

impl From<std::io::Error> for HyprlandError {
    fn from(e: std::io::Error) -> Self {
        HyprlandError::Io(e)
    }
}

/// One running Hyprland.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub dir: PathBuf,
    /// The Wayland socket name from `hyprland.lock` (for the shortcuts connection).
    pub wayland_socket: Option<String>,
}

/// Largest `hyprland.lock` read: a pid and a socket name.
const MAX_LOCK: u64 = 4096;

/// `hyprland.lock`'s lines (pid, Wayland socket name), read only from a small regular
/// file: a FIFO or a huge file planted there must not stall or bloat the daemon.
fn lock_lines(dir: &Path) -> Vec<String> {
    crate::files::read_regular(&dir.join("hyprland.lock"), MAX_LOCK)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(|s| s.lines().map(|l| l.trim().to_owned()).collect())
        .unwrap_or_default()
}

impl Instance {
    fn at(dir: PathBuf) -> Instance {
        let wayland_socket = lock_lines(&dir)
            .into_iter()
            .nth(1)
            .filter(|s| !s.is_empty() && s.len() < 100 && !s.contains('/'));
        Instance {
            dir,
            wayland_socket,
        }
    }

    async fn alive(dir: &Path) -> bool {
        socket::answers(&dir.join(".socket2.sock")).await
    }
}

/// The instance to follow: the environment's signature while it answers, else the newest
/// live instance under `$XDG_RUNTIME_DIR/hypr` (a restarted Hyprland has a new signature
/// that the daemon's environment does not know). Never blocks the thread: the probes are
/// non-blocking connects with a deadline, the lock files bounded reads.
pub async fn find_instance(runtime_dir: &Path, signature: Option<&str>) -> Option<Instance> {
    let root = runtime_dir.join("hypr");
    if let Some(sig) = signature.filter(|s| !s.is_empty() && !s.contains('/')) {
        let dir = root.join(sig);
        if Instance::alive(&dir).await {
            return Some(Instance::at(dir));
        }
    }
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&root)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let pid: u32 = lock_lines(&e.path()).first()?.parse().ok()?;
            Path::new(&format!("/proc/{pid}")).exists().then_some(())?;
            let modified = e
                .path()
                .join("hyprland.lock")
                .metadata()
                .ok()?
                .modified()
                .ok()?;
            Some((modified, e.path()))
        })
        .collect();
    found.sort();
    while let Some((_, dir)) = found.pop() {
        if Instance::alive(&dir).await {
            return Some(Instance::at(dir));
        }
    }
    None
}

/// An event line, as far as the daemon cares.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// `activewindowv2>>ADDR`; None when nothing is focused.
    ActiveWindow(Option<&'a str>),
    /// `windowtitlev2>>ADDR,TITLE`.
    Title {
        address: &'a str,
        title: &'a str,
    },
    Other,
}

pub fn parse_event(line: &str) -> Event<'_> {
    let Some((name, data)) = line.split_once(">>") else {
        return Event::Other;
    };
    match name {
        "activewindowv2" => Event::ActiveWindow(Some(data.trim()).filter(|a| !a.is_empty())),
        "windowtitlev2" => match data.split_once(',') {
            Some((address, title)) => Event::Title { address, title },
            None => Event::Other,
        },
        _ => Event::Other,
    }
}

/// `j/activewindow`'s reply: one window, or `{}` when nothing is focused.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActiveWindow {
    /// `0x…`
    pub address: String,
    pub class: String,
    pub title: String,
    pub pid: i64,
}

impl ActiveWindow {
    /// The address as events write it (hex without `0x`), or None for `{}`.
    pub fn key(&self) -> Option<String> {
        let a = self.address.trim_start_matches("0x");
        (!a.is_empty()).then(|| a.to_ascii_lowercase())
    }

    pub fn window(&self) -> Window {
        Window::new(&self.class, &self.title, u32::try_from(self.pid).ok())
    }
}

/// Parses a `j/activewindow` reply; anything unreadable counts as nothing focused.
pub fn parse_active(reply: &[u8]) -> ActiveWindow {
    serde_json::from_slice(reply).unwrap_or_default()
}

/// One request on `.socket.sock`: written in one go right after connecting (Hyprland
/// 0.56 waits for it with its main loop blocked), read to EOF.
pub async fn query(dir: &Path, request: &str) -> Result<Vec<u8>, HyprlandError> {
    let work = async {
        let mut s = socket::connect(&dir.join(".socket.sock")).await?;
        s.write_all(request.as_bytes()).await?;
        let mut out = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(out);
            }
            if out.len() + n > MAX_REPLY {
                return Err(HyprlandError::TooLarge);
            }
            out.extend_from_slice(&chunk[..n]);
        }
    };
    work.or(async {
        Timer::after(QUERY_TIMEOUT).await;
        Err(HyprlandError::Timeout)
    })
    .await
}

/// Follows one instance until its event socket ends.
pub async fn session(inst: &Instance, mut emit: impl FnMut(Output)) -> Result<(), HyprlandError> {
    let events = socket::connect(&inst.dir.join(".socket2.sock")).await?;
    emit(Output::Peer(socket::peer_pid(&events)));
    let mut reader = LineReader::new(&events, MAX_EVENT_LINE);
    let mut current: Option<(String, Window)> = None;
    // The first answer is always told, "nothing focused" (an empty workspace at login,
    // or a malformed reply) included: until then the state says "not connected".
    let mut told = false;
    let mut focus = |w: ActiveWindow, current: &mut Option<(String, Window)>| {
        let next = w.key().map(|k| (k, w.window()));
        if !told || next != *current {
            told = true;
            emit(Output::Focus(match &next {
                Some((_, win)) => Focus::Window(win.clone()),
                None => Focus::Nothing,
            }));
            *current = next;
        }
    };
    // What is focused now; events only tell about changes.
    focus(
        parse_active(&query(&inst.dir, "j/activewindow").await?),
        &mut current,
    );
    loop {
        let line = match reader.next().await? {
            Line::Text(l) => l,
            // A cut title (Hyprland cuts at 1024 bytes, possibly mid-character), or
            // the tail of an overlong line: not an event we need.
            Line::NotUtf8 | Line::TooLong => continue,
            Line::Eof => return Err(HyprlandError::Closed),
        };
        match parse_event(&line) {
            Event::ActiveWindow(None) => focus(ActiveWindow::default(), &mut current),
            Event::ActiveWindow(Some(a)) => {
                if current
                    .as_ref()
                    .is_some_and(|(k, _)| k.eq_ignore_ascii_case(a))
                {
                    continue;
                }
                focus(
                    parse_active(&query(&inst.dir, "j/activewindow").await?),
                    &mut current,
                );
            }
            Event::Title { address, title } => {
                let Some((k, w)) = &current else { continue };
                if k.eq_ignore_ascii_case(address) && w.title != title {
                    let retitled = ActiveWindow {
                        address: k.clone(),
                        class: w.class.clone(),
                        title: title.to_owned(),
                        pid: w.pid.map_or(0, i64::from),
                    };
                    focus(retitled, &mut current);
                }
            }
            Event::Other => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events() {
        assert_eq!(
            parse_event("activewindowv2>>55d0c8a3b2c0"),
            Event::ActiveWindow(Some("55d0c8a3b2c0"))
        );
        assert_eq!(parse_event("activewindowv2>>"), Event::ActiveWindow(None));
        assert_eq!(
            parse_event("windowtitlev2>>55d0,a, b >> c"),
            Event::Title {
                address: "55d0",
                title: "a, b >> c"
            }
        );
        for other in [
            "activewindow>>foot,title",
            "garbage",
            "",
            ">>",
            "windowtitlev2>>x",
        ] {
            assert_eq!(parse_event(other), Event::Other, "{other}");
        }
    }

    #[test]
    fn active_window_replies() {
        let w = parse_active(
            br#"{"address":"0x55D0c8a3b2c0","mapped":true,"class":"foot","title":"w1",
                 "initialClass":"foot","pid":4242,"workspace":{"id":1,"name":"1"}}"#,
        );
        assert_eq!(w.key().as_deref(), Some("55d0c8a3b2c0"));
        assert_eq!(w.window(), Window::new("foot", "w1", Some(4242)));
        // Nothing focused, junk, a negative pid, wrong types: nothing or no pid, no panic.
        assert_eq!(parse_active(b"{}").key(), None);
        assert_eq!(parse_active(b"not json").key(), None);
        assert_eq!(
            parse_active(br#"{"address":"0x1","pid":-1}"#).window().pid,
            None
        );
        assert_eq!(parse_active(br#"{"address":5}"#).key(), None);
    }

    /// Nothing focused when the session starts (an empty workspace at login), or a
    /// reply that does not parse: the state hears "nothing focused" (`no_focus`), not
    /// silence, which would leave it saying "not connected".
    #[test]
    fn a_session_that_starts_with_nothing_focused_says_so() {
        use std::io::{Read, Write};
        use std::os::unix::net::UnixListener;
        for reply in ["{}", "not json"] {
            let dir = tempfile::tempdir().unwrap();
            let inst = Instance {
                dir: dir.path().to_owned(),
                wayland_socket: None,
            };
            let queries = UnixListener::bind(dir.path().join(".socket.sock")).unwrap();
            let events = UnixListener::bind(dir.path().join(".socket2.sock")).unwrap();
            let server = std::thread::spawn(move || {
                let (mut c, _) = queries.accept().unwrap();
                let mut req = [0u8; 64];
                let _ = c.read(&mut req).unwrap();
                c.write_all(reply.as_bytes()).unwrap();
                // The event socket closes only after the reply went out.
                drop(c);
                let (e, _) = events.accept().unwrap();
                drop(e);
            });
            let mut out = Vec::new();
            let r = smol::block_on(session(&inst, |o| out.push(o)));
            assert!(matches!(r, Err(HyprlandError::Closed)), "{r:?}");
            server.join().unwrap();
            let me = Output::Peer(Some(std::process::id()));
            assert_eq!(out, [me, Output::Focus(Focus::Nothing)], "reply {reply:?}");
        }
    }

    /// The session against scripted sockets in Hyprland's layout: the initial query,
    /// a focus change (one query), a repeat (no query: deduplicated), a title change, and
    /// nothing focused, then the event socket closing.
    #[test]
    fn a_session_follows_events_and_queries_once_per_change() {
        use std::io::{Read, Write};
        use std::os::unix::net::UnixListener;
        let dir = tempfile::tempdir().unwrap();
        let inst = Instance {
            dir: dir.path().to_owned(),
            wayland_socket: None,
        };
        let queries = UnixListener::bind(dir.path().join(".socket.sock")).unwrap();
        let events = UnixListener::bind(dir.path().join(".socket2.sock")).unwrap();
        let replies = [
            r#"{"address":"0x1","class":"foot","title":"w0","pid":10}"#,
            r#"{"address":"0xaa","class":"x","title":"t","pid":11}"#,
            r#"{"address":"0xbad","class":"WRONG: a repeat was queried","title":"","pid":1}"#,
        ];
        let server = std::thread::spawn(move || {
            for reply in replies {
                let Ok((mut c, _)) = queries.accept() else {
                    return;
                };
                let mut req = [0u8; 64];
                let n = c.read(&mut req).unwrap();
                assert_eq!(&req[..n], b"j/activewindow");
                c.write_all(reply.as_bytes()).unwrap();
            }
        });
        let feeder = std::thread::spawn(move || {
            let (mut c, _) = events.accept().unwrap();
            c.write_all(
                b"activewindow>>x,t\nactivewindowv2>>aa\nactivewindowv2>>AA\n\
                  windowtitlev2>>aa,new, title\nwindowtitlev2>>bb,other\nactivewindowv2>>\n",
            )
            .unwrap();
        });
        let mut out = Vec::new();
        let r = smol::block_on(session(&inst, |o| out.push(o)));
        assert!(matches!(r, Err(HyprlandError::Closed)), "{r:?}");
        feeder.join().unwrap();
        let w = |c: &str, t: &str, p| Output::Focus(Focus::Window(Window::new(c, t, Some(p))));
        let me = Output::Peer(Some(std::process::id()));
        assert_eq!(
            out,
            [
                me,
                w("foot", "w0", 10),
                w("x", "t", 11),
                w("x", "new, title", 11),
                Output::Focus(Focus::Nothing)
            ]
        );
        drop(server);
    }

    /// find_instance on a thread of its own: if it blocks, the test fails, not hangs.
    fn find(runtime_dir: &Path, signature: Option<&str>) -> Option<Instance> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (dir, sig) = (runtime_dir.to_owned(), signature.map(str::to_owned));
        std::thread::spawn(move || {
            let _ = tx.send(smol::block_on(find_instance(&dir, sig.as_deref())));
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("find_instance blocked (a hung Hyprland would freeze every key)")
    }

    #[test]
    fn a_hung_instance_a_fifo_lock_and_a_huge_lock_block_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let hypr = dir.path().join("hypr");
        // The environment's instance: listening, backlog full, never accepting.
        let jam = hypr.join("jam");
        std::fs::create_dir_all(&jam).unwrap();
        let _jam = socket::jammed(&jam.join(".socket2.sock"));
        // Another, with a FIFO for a lock: opening it to read would wait for a writer.
        let fifo = hypr.join("fifo");
        std::fs::create_dir_all(&fifo).unwrap();
        let c = std::ffi::CString::new(fifo.join("hyprland.lock").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A live instance whose lock is a 1 GiB sparse file: skipped, not read.
        let big = hypr.join("big");
        std::fs::create_dir_all(&big).unwrap();
        let _big = std::os::unix::net::UnixListener::bind(big.join(".socket2.sock")).unwrap();
        let f = std::fs::File::create(big.join("hyprland.lock")).unwrap();
        f.set_len(1 << 30).unwrap();
        assert_eq!(find(dir.path(), Some("jam")), None);
        // A live, well-formed one next to them is still found.
        let good = hypr.join("good");
        std::fs::create_dir_all(&good).unwrap();
        let _good = std::os::unix::net::UnixListener::bind(good.join(".socket2.sock")).unwrap();
        std::fs::write(
            good.join("hyprland.lock"),
            format!("{}\nwayland-3\n", std::process::id()),
        )
        .unwrap();
        assert_eq!(
            find(dir.path(), Some("jam")),
            Some(Instance {
                dir: good,
                wayland_socket: Some("wayland-3".into())
            })
        );
    }

    #[test]
    fn instances_are_found_by_signature_or_by_a_live_lock() {
        let dir = tempfile::tempdir().unwrap();
        let inst = dir.path().join("hypr").join("abc_123_4");
        std::fs::create_dir_all(&inst).unwrap();
        // Not listening: not an instance, whatever the environment says.
        assert_eq!(find(dir.path(), Some("abc_123_4")), None);
        let _l = std::os::unix::net::UnixListener::bind(inst.join(".socket2.sock")).unwrap();
        std::fs::write(
            inst.join("hyprland.lock"),
            format!("{}\nwayland-7\n", std::process::id()),
        )
        .unwrap();
        let want = Some(Instance {
            dir: inst.clone(),
            wayland_socket: Some("wayland-7".into()),
        });
        assert_eq!(find(dir.path(), Some("abc_123_4")), want);
        // A stale signature in the environment: found by scanning.
        assert_eq!(find(dir.path(), Some("old")), want);
        assert_eq!(find(dir.path(), Some("../x")), want);
    }
}
