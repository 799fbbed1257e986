//! Hyprland IPC: the focused window, from `.socket2.sock` events and `.socket.sock`
//! queries, in `$XDG_RUNTIME_DIR/hypr/$HYPRLAND_INSTANCE_SIGNATURE/`.
//!
//! `activewindowv2>>ADDRESS` (hex, no `0x`) announces a focus change, and an empty
//! address means nothing is focused. Hyprland repeats the event for the same window on
//! title and class changes, so it is deduplicated by address; the pid comes from one
//! `j/activewindow` query per real change. Hyprland drops an event reader that falls
//! 64 events behind, so the reader never waits on anything but the socket (a query is
//! bounded by [`QUERY_TIMEOUT`]).

use super::Output;
use crate::lines::{Line, LineReader};
use crate::state::{Focus, Window};
use serde::Deserialize;
use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, Timer};
use std::fmt;
use std::os::unix::net::UnixStream;
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

impl Instance {
    fn at(dir: PathBuf) -> Instance {
        let lock = std::fs::read_to_string(dir.join("hyprland.lock")).unwrap_or_default();
        let wayland_socket = lock
            .lines()
            .nth(1)
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() < 100 && !s.contains('/'))
            .map(str::to_owned);
        Instance {
            dir,
            wayland_socket,
        }
    }

    fn alive(dir: &Path) -> bool {
        std::os::unix::net::UnixStream::connect(dir.join(".socket2.sock")).is_ok()
    }
}

/// The instance to follow: the environment's signature while it answers, else the newest
/// live instance under `$XDG_RUNTIME_DIR/hypr` (a restarted Hyprland has a new signature
/// that the daemon's environment does not know).
pub fn find_instance(runtime_dir: &Path, signature: Option<&str>) -> Option<Instance> {
    let root = runtime_dir.join("hypr");
    if let Some(sig) = signature.filter(|s| !s.is_empty() && !s.contains('/')) {
        let dir = root.join(sig);
        if Instance::alive(&dir) {
            return Some(Instance::at(dir));
        }
    }
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&root)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let lock = e.path().join("hyprland.lock");
            let pid: u32 = std::fs::read_to_string(&lock)
                .ok()?
                .lines()
                .next()?
                .trim()
                .parse()
                .ok()?;
            Path::new(&format!("/proc/{pid}")).exists().then_some(())?;
            Some((lock.metadata().ok()?.modified().ok()?, e.path()))
        })
        .filter(|(_, dir)| Instance::alive(dir))
        .collect();
    found.sort();
    found.pop().map(|(_, dir)| Instance::at(dir))
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
        let mut s = Async::<UnixStream>::connect(dir.join(".socket.sock")).await?;
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
    let events = Async::<UnixStream>::connect(inst.dir.join(".socket2.sock")).await?;
    let mut reader = LineReader::new(&events, MAX_EVENT_LINE);
    let mut current: Option<(String, Window)> = None;
    let mut focus = |w: ActiveWindow, current: &mut Option<(String, Window)>| {
        let next = w.key().map(|k| (k, w.window()));
        if next != *current {
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
        assert_eq!(
            out,
            [
                w("foot", "w0", 10),
                w("x", "t", 11),
                w("x", "new, title", 11),
                Output::Focus(Focus::Nothing)
            ]
        );
        drop(server);
    }

    #[test]
    fn instances_are_found_by_signature_or_by_a_live_lock() {
        let dir = tempfile::tempdir().unwrap();
        let inst = dir.path().join("hypr").join("abc_123_4");
        std::fs::create_dir_all(&inst).unwrap();
        // Not listening: not an instance, whatever the environment says.
        assert_eq!(find_instance(dir.path(), Some("abc_123_4")), None);
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
        assert_eq!(find_instance(dir.path(), Some("abc_123_4")), want);
        // A stale signature in the environment: found by scanning.
        assert_eq!(find_instance(dir.path(), Some("old")), want);
        assert_eq!(find_instance(dir.path(), Some("../x")), want);
    }
}
