//! The wire protocol between audio-daemon and its clients: serde types, no I/O.
//!
//! Feature `json` (off by default) adds the line codec: `Request::parse`,
//! `Request::to_line`, `reply_to_line`, `reply_from_line`, `Event::to_line`,
//! `Event::from_line` and `WaybarLine::to_line`, on serde_json. Without it the crate
//! depends on serde alone.
//!
//! The reference below is this crate's README, which is also the Protocol section of the
//! project's README (scripts/check-protocol-docs.sh keeps the two the same).
#![doc = include_str!("../README.md")]

use serde::{Deserialize, Serialize};
use std::fmt;

mod socket;
mod waybar;

pub use socket::{check_socket_path, default_socket_path, SocketPathTooLong, MAX_SOCKET_PATH};
pub use waybar::WaybarLine;

/// Longest request line the daemon reads; longer lines get [`ErrorKind::LineTooLong`].
pub const MAX_LINE: usize = 4096;
/// Largest step a single `up`/`down` may ask for, in percent points.
pub const MAX_STEP: f64 = 100.0;
/// Largest volume `set` accepts before calling the amount absurd (it is then capped per app).
pub const MAX_SET: f64 = 1000.0;

/// The app name that means "whatever app the focused window is" (needs Hyprland or sway).
pub const FOCUSED_TARGET: &str = "@focused";

/// What a client asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Raise by `amount` percent points (cubic scale), or the app's step.
    Up { app: String, amount: Option<f64> },
    /// Lower by `amount` percent points, or the app's step.
    Down { app: String, amount: Option<f64> },
    /// Set to `volume` percent (cubic scale), capped at the app's maximum.
    Set { app: String, volume: f64 },
    /// Mute, unmute or toggle every stream of the app.
    Mute { app: String, state: MuteState },
    /// The app's current state.
    Get { app: String },
    /// Every configured app's state.
    List,
    /// Turn this connection into an event stream.
    Subscribe,
    /// Counters for diagnostics and benchmarks.
    Stats,
    /// Drop the remembered volume of one app (`Some`), or of every app (`None`).
    Forget { app: Option<String> },
}

impl Request {
    /// The app a request is about, if any.
    pub fn app(&self) -> Option<&str> {
        match self {
            Request::Up { app, .. }
            | Request::Down { app, .. }
            | Request::Set { app, .. }
            | Request::Mute { app, .. }
            | Request::Get { app }
            | Request::Forget { app: Some(app) } => Some(app),
            Request::List | Request::Subscribe | Request::Stats | Request::Forget { app: None } => {
                None
            }
        }
    }

    /// Whether the request changes volumes (and so needs streams to act on).
    pub fn changes_volume(&self) -> bool {
        matches!(
            self,
            Request::Up { .. } | Request::Down { .. } | Request::Set { .. } | Request::Mute { .. }
        )
    }
}

/// Desired mute state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MuteState {
    On,
    Off,
    Toggle,
}

/// The request as it appears on the wire, before validation.
///
/// serde is stricter here than its defaults: unknown and duplicate fields are refused
/// (derive refuses duplicates), an optional field is either absent or holds a value
/// (`null` is refused), and `Request::parse` only accepts an object, not the array
/// form serde would otherwise take for a struct (`["list"]`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRequest {
    pub action: String,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub app: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub amount: Option<f64>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<MuteState>,
}

/// An optional field that is there must hold a value: one spelling for "absent".
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

impl Request {
    #[cfg(feature = "json")]
    /// Parses and validates one request line.
    pub fn parse(line: &str) -> Result<Request, Error> {
        // A JSON value's kind is fixed by its first character; serde would also read a
        // struct from an array (`["list"]`), which the protocol does not allow.
        let json_ws: &[char] = &[' ', '\t', '\n', '\r'];
        if !line.trim_start_matches(json_ws).starts_with('{') {
            return Err(Error::new(
                ErrorKind::BadRequest,
                "invalid request: a request is one JSON object",
            ));
        }
        let wire: WireRequest = serde_json::from_str(line)
            .map_err(|e| Error::new(ErrorKind::BadRequest, format!("invalid request: {e}")))?;
        Request::try_from(wire)
    }

    /// The wire form of this request (what the client sends).
    pub fn to_wire(&self) -> WireRequest {
        let (action, app, amount, state) = match self {
            Request::Up { app, amount } => ("up", Some(app), *amount, None),
            Request::Down { app, amount } => ("down", Some(app), *amount, None),
            Request::Set { app, volume } => ("set", Some(app), Some(*volume), None),
            Request::Mute { app, state } => ("mute", Some(app), None, Some(*state)),
            Request::Get { app } => ("get", Some(app), None, None),
            Request::List => ("list", None, None, None),
            Request::Subscribe => ("subscribe", None, None, None),
            Request::Stats => ("stats", None, None, None),
            Request::Forget { app } => ("forget", app.as_ref(), None, None),
        };
        WireRequest {
            action: action.to_owned(),
            app: app.cloned(),
            amount,
            state,
        }
    }

    #[cfg(feature = "json")]
    /// One JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(&self.to_wire()).expect("a request always serializes")
    }
}

impl TryFrom<WireRequest> for Request {
    type Error = Error;

    fn try_from(w: WireRequest) -> Result<Request, Error> {
        let needs_app = |w: &WireRequest| match &w.app {
            Some(app) if !app.is_empty() => Ok(app.clone()),
            _ => Err(Error::new(
                ErrorKind::BadRequest,
                format!("action {:?} needs a non-empty \"app\"", w.action),
            )),
        };
        let refuse = |field: &str, present: bool| {
            if present {
                Err(Error::new(
                    ErrorKind::BadRequest,
                    format!("action {:?} takes no \"{field}\"", w.action),
                ))
            } else {
                Ok(())
            }
        };
        match w.action.as_str() {
            "up" | "down" => {
                refuse("state", w.state.is_some())?;
                let amount = w.amount.map(check_step).transpose()?;
                let app = needs_app(&w)?;
                Ok(if w.action == "up" {
                    Request::Up { app, amount }
                } else {
                    Request::Down { app, amount }
                })
            }
            "set" => {
                refuse("state", w.state.is_some())?;
                let volume = w.amount.ok_or_else(|| {
                    Error::new(ErrorKind::BadAmount, "action \"set\" needs an \"amount\" in percent")
                })?;
                let volume = check_set(volume)?;
                Ok(Request::Set { app: needs_app(&w)?, volume })
            }
            "mute" => {
                refuse("amount", w.amount.is_some())?;
                Ok(Request::Mute {
                    app: needs_app(&w)?,
                    state: w.state.unwrap_or(MuteState::Toggle),
                })
            }
            "get" => {
                refuse("amount", w.amount.is_some())?;
                refuse("state", w.state.is_some())?;
                Ok(Request::Get { app: needs_app(&w)? })
            }
            "list" | "subscribe" | "stats" => {
                refuse("app", w.app.is_some())?;
                refuse("amount", w.amount.is_some())?;
                refuse("state", w.state.is_some())?;
                Ok(match w.action.as_str() {
                    "list" => Request::List,
                    "subscribe" => Request::Subscribe,
                    _ => Request::Stats,
                })
            }
            "forget" => {
                refuse("amount", w.amount.is_some())?;
                refuse("state", w.state.is_some())?;
                // No app means every app; an empty name is a mistake, not "all".
                let app = match w.app {
                    Some(_) => Some(needs_app(&w)?),
                    None => None,
                };
                Ok(Request::Forget { app })
            }
            other => Err(Error::new(
                ErrorKind::UnknownAction,
                format!(
                    "unknown action {other:?} (expected up, down, set, mute, get, list, subscribe, stats or forget)"
                ),
            )),
        }
    }
}

/// Validates an `up`/`down` amount: finite, positive, at most [`MAX_STEP`].
pub fn check_step(amount: f64) -> Result<f64, Error> {
    if amount.is_finite() && amount > 0.0 && amount <= MAX_STEP {
        Ok(amount)
    } else {
        Err(Error::new(
            ErrorKind::BadAmount,
            format!("amount must be a number above 0 and at most {MAX_STEP}, got {amount}"),
        ))
    }
}

/// Validates a `set` volume: finite, from 0 to [`MAX_SET`].
pub fn check_set(volume: f64) -> Result<f64, Error> {
    if volume.is_finite() && (0.0..=MAX_SET).contains(&volume) {
        Ok(volume)
    } else {
        Err(Error::new(
            ErrorKind::BadAmount,
            format!("volume must be a number from 0 to {MAX_SET} percent, got {volume}"),
        ))
    }
}

/// One stream (PipeWire node) of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamState {
    /// PipeWire object id of the node.
    pub id: u32,
    /// A human name: the node's `media.name`, or `node.description`/`node.name`.
    pub name: String,
    /// Loudest channel, percent on the cubic scale; `None` until PipeWire reported it.
    pub volume: Option<f64>,
    pub muted: bool,
}

/// An app and its streams as the daemon sees them now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppState {
    pub app: String,
    /// The user's display name for the app (`label` in the config), else the app name.
    #[serde(default)]
    pub label: String,
    /// Loudest stream, percent on the cubic scale; `None` when the app has no streams.
    pub volume: Option<f64>,
    /// True when every stream is muted (and there is at least one).
    pub muted: bool,
    /// The app's configured maximum, percent.
    pub max_volume: f64,
    pub streams: Vec<StreamState>,
    /// For `@focused` only: the window it resolved to (absent when nothing is focused).
    /// Boxed: every other reply would otherwise carry its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Box<WindowInfo>>,
}

/// The focused window behind `@focused`, as the compositor describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowInfo {
    /// Wayland app id, or the X11 class for Xwayland windows.
    pub class: String,
    pub title: String,
    /// The process that owns the window, if the compositor knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// How the window's streams were found; absent when none were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
}

/// How `@focused` found the window's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// A stream's client process is the window's process or one of its descendants.
    Pid,
    /// No stream's process belongs to the window (Flatpak apps report pids from their
    /// own namespace), but the window's class matches a configured app's rules.
    Class,
}

/// Daemon counters, for diagnostics and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub connected: bool,
    /// Nodes (streams, sinks, sources) tracked.
    pub nodes: u64,
    /// Requests handled by the PipeWire thread since start.
    pub requests: u64,
    /// `set_param` calls sent to PipeWire since start (fewer than requests in bursts).
    pub set_params: u64,
    /// Requests waiting for PipeWire to confirm right now.
    pub waiting: u64,
    /// The configured pace (`rate_limit`): `set_param`s per second and stream after a
    /// short burst, rounded; absent when unpaced. `audioctl latency` spaces its
    /// requests by it, so that it times the daemon, not the pacer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    App(AppState),
    Apps(Vec<AppState>),
    Subscribed,
    Stats(Stats),
    /// The apps whose remembered volume a `forget` dropped (empty: nothing was remembered).
    Forgotten(Vec<String>),
}

/// What kind of failure; the wire carries it as a snake_case string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not JSON, not an object, wrong field types or unknown fields.
    BadRequest,
    UnknownAction,
    UnknownApp,
    /// NaN, infinite, negative or absurd amounts.
    BadAmount,
    LineTooLong,
    /// The app is known but has no streams right now.
    NoStreams,
    /// Every stream the command acted on vanished before PipeWire confirmed.
    StreamVanished,
    /// PipeWire did not confirm the change in time; it was cancelled.
    Timeout,
    /// Every stream of the app stopped answering (a stopped or hung app); nothing changed.
    NotResponding,
    /// The daemon is not connected to PipeWire (it keeps trying).
    PipewireUnavailable,
    /// `@focused` was asked for, but no compositor the daemon can follow is there
    /// (neither Hyprland nor sway named in the environment), or it went away.
    NoCompositor,
    /// `@focused` was asked for while no window has the focus.
    NoFocus,
    /// Too many connections, or the daemon is shutting down.
    Busy,
    Internal,
}

impl ErrorKind {
    /// The wire name (what serde writes; a test keeps the two the same).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::UnknownAction => "unknown_action",
            ErrorKind::UnknownApp => "unknown_app",
            ErrorKind::BadAmount => "bad_amount",
            ErrorKind::LineTooLong => "line_too_long",
            ErrorKind::NoStreams => "no_streams",
            ErrorKind::StreamVanished => "stream_vanished",
            ErrorKind::Timeout => "timeout",
            ErrorKind::NotResponding => "not_responding",
            ErrorKind::PipewireUnavailable => "pipewire_unavailable",
            ErrorKind::NoCompositor => "no_compositor",
            ErrorKind::NoFocus => "no_focus",
            ErrorKind::Busy => "busy",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request: a kind for programs, a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

/// Exactly one of these answers every request.
pub type Reply = Result<Response, Error>;

/// The flat wire form of a [`Reply`]: `ok` plus the fields of whichever variant (the
/// codec's own; a program with a codec of its own reads the same fields).
#[cfg(feature = "json")]
#[derive(Debug, Default, Serialize, Deserialize)]
struct WireReply {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subscribed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    apps: Option<Vec<AppState>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stats: Option<Stats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    forgotten: Option<Vec<String>>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    app: Option<AppState>,
}

#[cfg(feature = "json")]
/// Serializes a reply as one JSON line, without the newline.
pub fn reply_to_line(reply: &Reply) -> String {
    let wire = match reply {
        Ok(Response::App(app)) => WireReply {
            ok: true,
            app: Some(app.clone()),
            ..Default::default()
        },
        Ok(Response::Apps(apps)) => WireReply {
            ok: true,
            apps: Some(apps.clone()),
            ..Default::default()
        },
        Ok(Response::Subscribed) => WireReply {
            ok: true,
            subscribed: Some(true),
            ..Default::default()
        },
        Ok(Response::Stats(stats)) => WireReply {
            ok: true,
            stats: Some(*stats),
            ..Default::default()
        },
        Ok(Response::Forgotten(apps)) => WireReply {
            ok: true,
            forgotten: Some(apps.clone()),
            ..Default::default()
        },
        Err(e) => WireReply {
            ok: false,
            error: Some(e.kind),
            message: Some(e.message.clone()),
            ..Default::default()
        },
    };
    serde_json::to_string(&wire).expect("a reply always serializes")
}

#[cfg(feature = "json")]
/// Parses a reply line; a line that does not parse is reported as such so the client can
/// say that client and daemon versions may differ.
pub fn reply_from_line(line: &str) -> Result<Reply, serde_json::Error> {
    let wire: WireReply = serde_json::from_str(line)?;
    Ok(if wire.ok {
        if let Some(apps) = wire.apps {
            Ok(Response::Apps(apps))
        } else if let Some(stats) = wire.stats {
            Ok(Response::Stats(stats))
        } else if let Some(apps) = wire.forgotten {
            Ok(Response::Forgotten(apps))
        } else if wire.subscribed == Some(true) {
            Ok(Response::Subscribed)
        } else if let Some(app) = wire.app {
            Ok(Response::App(app))
        } else {
            Err(Error::new(ErrorKind::Internal, "reply has no content"))
        }
    } else {
        Err(Error::new(
            wire.error.unwrap_or(ErrorKind::Internal),
            wire.message.unwrap_or_default(),
        ))
    })
}

/// A line of the event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An app's state changed (volume, mute, streams appearing or vanishing).
    App(AppState),
    /// The daemon lost or regained its PipeWire connection.
    Pipewire { connected: bool },
}

impl Event {
    #[cfg(feature = "json")]
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an event always serializes")
    }

    #[cfg(feature = "json")]
    /// Parses one line of the event stream.
    pub fn from_line(line: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_str(line)
    }
}

// The tests go through the codec: `cargo test -p audio-daemon-ipc --features json` (the
// workspace's own builds turn it on).
#[cfg(all(test, not(feature = "json")))]
compile_error!("audio-daemon-ipc's tests need the codec: run them with --features json");
#[cfg(all(test, feature = "json"))]
mod tests;
