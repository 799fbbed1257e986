//! sway (and i3-compatible) IPC: the focused window and `nop audio-daemon …` bindings.
//!
//! Framing (sway-ipc(7)): `"i3-ipc"`, a u32 payload length and a u32 type in native
//! byte order, then JSON. The daemon subscribes to `window`, `workspace`, `binding` and
//! `shutdown` events and asks for the tree once, for the focus at connect time.
//!
//! Hand-rolled (about as long as the glue a crate would need): the payload length is
//! the peer's word, so it is checked against [`MAX_PAYLOAD`] before anything is
//! allocated, and every JSON shape is read with defaults, so an odd message is skipped
//! rather than fatal.

use super::{socket, Output};
use crate::state::{Focus, Window};
use serde::Deserialize;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::Async;
use std::fmt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 6] = b"i3-ipc";
const HEADER: usize = 14;
/// Largest message read. A window event carries one container; a tree a few hundred
/// KiB for a busy desktop.
pub const MAX_PAYLOAD: u32 = 4 << 20;

pub const SUBSCRIBE: u32 = 2;
pub const GET_TREE: u32 = 4;
pub const EVENT_WORKSPACE: u32 = 0x8000_0000;
pub const EVENT_WINDOW: u32 = 0x8000_0003;
pub const EVENT_BINDING: u32 = 0x8000_0005;
pub const EVENT_SHUTDOWN: u32 = 0x8000_0006;

/// Why a sway connection ended.
#[derive(Debug)]
pub enum SwayError {
    Io(std::io::Error),
    /// The header did not start with `i3-ipc`.
    BadMagic,
    /// The peer announced a payload over [`MAX_PAYLOAD`].
    TooLarge(u32),
    /// sway refused the subscription.
    SubscribeRefused,
    /// sway said it is exiting.
    Shutdown,
}

impl fmt::Display for SwayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwayError::Io(e) => write!(f, "{e}"),
            SwayError::BadMagic => f.write_str("not an i3-ipc message"),
            SwayError::TooLarge(n) => write!(f, "a {n}-byte message is over the limit"),
            SwayError::SubscribeRefused => f.write_str("the subscription was refused"),
            SwayError::Shutdown => f.write_str("sway is exiting"),
        }
    }
}

impl From<std::io::Error> for SwayError {
    fn from(e: std::io::Error) -> Self {
        SwayError::Io(e)
    }
}

/// One framed message.
pub fn encode(kind: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER + payload.len());
    m.extend_from_slice(MAGIC);
    m.extend_from_slice(&(payload.len() as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(payload);
    m
}

/// (payload length, type) from a header.
pub fn decode_header(h: &[u8; HEADER]) -> Result<(u32, u32), SwayError> {
    if &h[..6] != MAGIC {
        return Err(SwayError::BadMagic);
    }
    let len = u32::from_ne_bytes([h[6], h[7], h[8], h[9]]);
    let kind = u32::from_ne_bytes([h[10], h[11], h[12], h[13]]);
    if len > MAX_PAYLOAD {
        return Err(SwayError::TooLarge(len));
    }
    Ok((len, kind))
}

async fn read_message(s: &mut Async<UnixStream>) -> Result<(u32, Vec<u8>), SwayError> {
    let mut h = [0u8; HEADER];
    s.read_exact(&mut h).await?;
    let (len, kind) = decode_header(&h)?;
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload).await?;
    Ok((kind, payload))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WindowProperties {
    class: Option<String>,
}

/// The parts of a container (window or workspace) the daemon reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Container {
    id: i64,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    pid: Option<i64>,
    app_id: Option<String>,
    window_properties: Option<WindowProperties>,
    focused: bool,
    /// Child ids in focus order (workspaces: empty when the workspace has no window).
    focus: Vec<i64>,
    #[serde(deserialize_with = "bounded")]
    nodes: Vec<Container>,
    #[serde(deserialize_with = "bounded")]
    floating_nodes: Vec<Container>,
}

/// Most containers read from one message. sway's tree for a busy desktop holds a few
/// hundred; each costs about 200 bytes parsed, and a peer may send 4 MiB of `{}` (1.4
/// million containers: 288 MB and 2.3 s on the thread that serves every key). Past this
/// the message is malformed (a tree: nothing known to be focused), and parsing stops
/// there, so a message costs at most about 2 MB and a few milliseconds.
pub const MAX_CONTAINERS: usize = 10_000;

thread_local! {
    /// What is left of [`MAX_CONTAINERS`] for the message being parsed. serde's derive
    /// cannot hand state down to nested containers, so it lives here; a message is
    /// parsed in one synchronous call ([`parse`]), which starts it afresh.
    static BUDGET: std::cell::Cell<usize> = const { std::cell::Cell::new(MAX_CONTAINERS) };
}

/// A list of containers, each taken from [`BUDGET`] (nested ones count as they are read).
fn bounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Container>, D::Error> {
    struct Nodes;
    impl<'de> serde::de::Visitor<'de> for Nodes {
        type Value = Vec<Container>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of containers")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut nodes = Vec::new();
            while let Some(c) = seq.next_element::<Container>()? {
                let left = BUDGET.get().checked_sub(1).ok_or_else(|| {
                    serde::de::Error::custom(format!("more than {MAX_CONTAINERS} containers"))
                })?;
                BUDGET.set(left);
                nodes.push(c);
            }
            Ok(nodes)
        }
    }
    d.deserialize_seq(Nodes)
}

/// One message's JSON, with a fresh container budget.
fn parse<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> serde_json::Result<T> {
    BUDGET.set(MAX_CONTAINERS);
    serde_json::from_slice(payload)
}

impl Container {
    fn window(&self) -> Window {
        let class = self
            .app_id
            .clone()
            .or_else(|| self.window_properties.as_ref()?.class.clone())
            .unwrap_or_default();
        let pid = self.pid.and_then(|p| u32::try_from(p).ok());
        Window::new(&class, self.name.as_deref().unwrap_or(""), pid)
    }

    fn is_window(&self) -> bool {
        matches!(self.kind.as_str(), "con" | "floating_con")
            && self.nodes.is_empty()
            && self.floating_nodes.is_empty()
    }

    /// The focused node of a tree, if any. serde_json's recursion limit (128) bounds
    /// the depth of what was parsed, so this recursion is bounded too.
    fn find_focused(&self) -> Option<&Container> {
        if self.focused {
            return Some(self);
        }
        self.nodes
            .iter()
            .chain(&self.floating_nodes)
            .find_map(Container::find_focused)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WindowEvent {
    change: String,
    container: Container,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WorkspaceEvent {
    change: String,
    current: Option<Container>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Binding {
    command: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BindingEvent {
    change: String,
    binding: Binding,
}

/// Follows the focus across messages: sway has no "focus lost" event, so closing the
/// focused window, or focusing an empty workspace, means nothing is focused.
#[derive(Debug, Default)]
pub struct Tracker {
    focused: Option<i64>,
    last: Option<Focus>,
}

impl Tracker {
    /// What a message means for the daemon; malformed messages mean nothing.
    pub fn on_message(&mut self, kind: u32, payload: &[u8]) -> Result<Vec<Output>, SwayError> {
        let mut out = Vec::new();
        match kind {
            EVENT_WINDOW => {
                let Ok(ev) = parse::<WindowEvent>(payload) else {
                    return Ok(out);
                };
                let c = &ev.container;
                match ev.change.as_str() {
                    "focus" => self.set(Some(c.id), Focus::Window(c.window()), &mut out),
                    "title" | "move" if self.focused == Some(c.id) => {
                        self.set(Some(c.id), Focus::Window(c.window()), &mut out)
                    }
                    "close" if self.focused == Some(c.id) => {
                        self.set(None, Focus::Nothing, &mut out)
                    }
                    _ => {}
                }
            }
            EVENT_WORKSPACE => {
                let Ok(ev) = parse::<WorkspaceEvent>(payload) else {
                    return Ok(out);
                };
                if ev.change == "focus" && ev.current.as_ref().is_some_and(|w| w.focus.is_empty()) {
                    self.set(None, Focus::Nothing, &mut out);
                }
            }
            EVENT_BINDING => {
                let Ok(ev) = parse::<BindingEvent>(payload) else {
                    return Ok(out);
                };
                if ev.change == "run" {
                    if let Some(cmd) = crate::keys::command::parse(&ev.binding.command) {
                        out.push(Output::Command(cmd));
                    }
                }
            }
            GET_TREE => {
                // Connected either way: a tree that does not parse says nothing is
                // known to be focused (`no_focus`), not that sway is unreachable.
                let Ok(tree) = parse::<Container>(payload) else {
                    self.set(None, Focus::Nothing, &mut out);
                    return Ok(out);
                };
                match tree.find_focused() {
                    Some(c) if c.is_window() => {
                        self.set(Some(c.id), Focus::Window(c.window()), &mut out)
                    }
                    _ => self.set(None, Focus::Nothing, &mut out),
                }
            }
            SUBSCRIBE => {
                #[derive(Deserialize)]
                struct Reply {
                    success: bool,
                }
                match serde_json::from_slice::<Reply>(payload) {
                    Ok(Reply { success: true }) => {}
                    _ => return Err(SwayError::SubscribeRefused),
                }
            }
            EVENT_SHUTDOWN => return Err(SwayError::Shutdown),
            _ => {}
        }
        Ok(out)
    }

    /// Records a focus; repeats (a title event that changed nothing we show) are dropped.
    fn set(&mut self, id: Option<i64>, focus: Focus, out: &mut Vec<Output>) {
        self.focused = id;
        if self.last.as_ref() != Some(&focus) {
            self.last = Some(focus.clone());
            out.push(Output::Focus(focus));
        }
    }
}

/// One connection: subscribe, read the tree, then events until the socket ends.
pub async fn session(path: &Path, mut emit: impl FnMut(Output)) -> Result<(), SwayError> {
    let mut s = socket::connect(path).await?;
    emit(Output::Peer(socket::peer_pid(&s)));
    let events = br#"["window","workspace","binding","shutdown"]"#;
    s.write_all(&encode(SUBSCRIBE, events)).await?;
    s.write_all(&encode(GET_TREE, b"")).await?;
    let mut tracker = Tracker::default();
    loop {
        let (kind, payload) = read_message(&mut s).await?;
        for o in tracker.on_message(kind, &payload)? {
            emit(o);
        }
    }
}

/// The socket to use after a restart: `$SWAYSOCK` if something accepts there, else the
/// newest `sway-ipc.UID.PID.sock` in the runtime dir whose sway is alive (a restarted
/// sway has a new path, and the daemon's environment still names the old one). The
/// probe is a non-blocking connect with a deadline: a hung sway must not stall the
/// daemon.
pub async fn find_socket(env: Option<&Path>, runtime_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = env {
        if socket::answers(p).await {
            return Some(p.to_owned());
        }
    }
    // SAFETY: getuid cannot fail.
    let prefix = format!("sway-ipc.{}.", unsafe { libc::getuid() });
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(runtime_dir?)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let pid: u32 = name
                .strip_prefix(&prefix)?
                .strip_suffix(".sock")?
                .parse()
                .ok()?;
            Path::new(&format!("/proc/{pid}")).exists().then_some(())?;
            Some((e.metadata().ok()?.modified().ok()?, e.path()))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

#[cfg(test)]
mod tests;
