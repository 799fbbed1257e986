//! The daemon's picture of the PipeWire graph, and what requests do to it.
//!
//! Pure: PipeWire facts come in as [`Update`]s, commands as [`crate::protocol::Request`]s,
//! and what must be sent to PipeWire comes out as [`Action`]s. The PipeWire thread owns the
//! one `State` and does the I/O; everything here is unit-tested without PipeWire.
//!
//! Volume control per stream follows a small protocol (see `command.rs`): at most one
//! `set_param` is in flight per stream; later requests only move the stream's *target*,
//! which is sent when the in-flight change is confirmed by PipeWire's own Props event.
//! A burst of key repeats therefore never queues up, and the last target always lands.

mod command;
mod control;
mod focus;
mod reload;
mod remember;
mod view;

use crate::config::Config;
use crate::memory::Memory;
use crate::procs::ProcId;
use crate::protocol::AppState;
use crate::volume::Volume;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

pub use command::WaiterId;
use control::Control;
pub use focus::{candidate_pids, streams_of_process, Focus, Window};
pub use remember::RESTORE_GUARD;

/// Node and client properties.
pub type Props = HashMap<String, String>;

/// How long PipeWire may take to confirm a change before the request fails.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(2);
/// set_params a stream may get back to back before pacing starts (see `control.rs`).
pub const PACE_BURST: f64 = 4.0;

/// A fact reported by PipeWire.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A node appeared or its properties changed.
    Node {
        id: u32,
        props: Props,
    },
    /// A node's Props param: the fields it carried.
    NodeVolume {
        id: u32,
        channels: Option<Vec<f32>>,
        mute: Option<bool>,
    },
    NodeRemoved(u32),
    /// A client appeared or its properties changed.
    Client {
        id: u32,
        props: Props,
    },
    ClientRemoved(u32),
    /// A client's processes: its candidate pids (`focus::candidate_pids`) and their
    /// ancestors, read from `/proc` by the PipeWire thread when the client appeared.
    ClientLineage {
        id: u32,
        pids: Vec<ProcId>,
    },
    /// A device's active Route param (where hardware sinks keep their volume).
    Route {
        device: u32,
        index: i32,
        route_device: i32,
        volume: Volume,
    },
    DeviceRemoved(u32),
    /// WirePlumber's `default.audio.sink` / `default.audio.source` metadata.
    Default {
        sink: bool,
        name: Option<String>,
    },
    /// The connection is gone: everything known is void.
    Disconnected,
}

/// Something to send to PipeWire.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `set_param(Props)` on a node.
    SetNode { node: u32, volume: Volume },
    /// `set_param(Route)` on a device, for a node whose volume lives on a route.
    SetRoute {
        device: u32,
        index: i32,
        route_device: i32,
        volume: Volume,
    },
}

/// Which app a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AppKey {
    /// Index into `Config::apps`. Only valid for the config it was made from: a reload
    /// remaps every one the state holds (see `reload.rs`).
    Named(usize),
    DefaultSink,
    DefaultSource,
    /// The streams of the focused window (see `focus.rs`).
    Focused,
}

pub use crate::protocol::FOCUSED_TARGET;
pub const SINK_TARGET: &str = "@sink";
pub const SOURCE_TARGET: &str = "@source";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    StreamOut,
    StreamIn,
    Sink,
    Source,
    Other,
}

impl Class {
    fn of(props: &Props) -> Class {
        match props.get("media.class").map(String::as_str) {
            Some("Stream/Output/Audio") => Class::StreamOut,
            Some("Stream/Input/Audio") => Class::StreamIn,
            Some("Audio/Sink") | Some("Audio/Duplex") => Class::Sink,
            Some("Audio/Source") | Some("Audio/Source/Virtual") => Class::Source,
            _ => Class::Other,
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    props: Props,
    class: Class,
    client: Option<u32>,
    /// Props reported by the node itself.
    reported: Option<Volume>,
    /// Apps whose rules match, as indices into the config.
    apps: Vec<usize>,
    control: Control,
    /// Remembered-volume restore (see `remember.rs`).
    restore: remember::Restore,
}

/// Where a hardware node's volume lives.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RouteRef {
    device: u32,
    index: i32,
    route_device: i32,
}

#[derive(Debug, Clone, Default)]
struct Device {
    /// Active routes by their `device` field.
    routes: HashMap<i32, (i32, Volume)>,
}

/// The whole picture.
#[derive(Debug)]
pub struct State {
    config: Config,
    nodes: HashMap<u32, Node>,
    clients: HashMap<u32, Props>,
    /// Each client's processes (see [`Update::ClientLineage`]).
    lineage: HashMap<u32, Vec<ProcId>>,
    focus: Focus,
    devices: HashMap<u32, Device>,
    default_sink: Option<String>,
    default_source: Option<String>,
    connected: bool,
    /// Apps whose state may have changed since the last [`State::take_changes`].
    dirty: BTreeSet<AppKey>,
    /// The state last announced per app, so unchanged apps are not announced again.
    announced: HashMap<AppKey, AppState>,
    waiters: command::Waiters,
    /// Actions produced by updates (a coalesced target sent after a confirmation).
    outbox: Vec<Action>,
    /// Remembered app volumes, and whether they changed since [`State::take_memory`].
    memory: Memory,
    memory_changed: bool,
    /// Whether the first sync after start finished (see `remember::initial_restore`).
    synced_once: bool,
}

impl State {
    pub fn new(config: Config) -> State {
        State {
            config,
            nodes: HashMap::new(),
            clients: HashMap::new(),
            lineage: HashMap::new(),
            focus: Focus::default(),
            devices: HashMap::new(),
            default_sink: None,
            default_source: None,
            connected: false,
            dirty: BTreeSet::new(),
            announced: HashMap::new(),
            waiters: command::Waiters::default(),
            outbox: Vec::new(),
            memory: Memory::default(),
            memory_changed: false,
            synced_once: false,
        }
    }

    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Marks the connection as up (the registry is about to report everything).
    pub fn set_connected(&mut self) {
        self.connected = true;
        self.synced_once = true;
    }

    /// The configured pace: set_params per second and stream; None: unpaced.
    pub fn rate_limit(&self) -> Option<f64> {
        self.config.rate_limit
    }

    /// Number of streams and devices tracked (for diagnostics and benchmarks).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub(super) fn mark_all_dirty(&mut self) {
        self.dirty
            .extend((0..self.config.apps.len()).map(AppKey::Named));
        self.dirty.insert(AppKey::DefaultSink);
        self.dirty.insert(AppKey::DefaultSource);
        self.dirty.insert(AppKey::Focused);
    }

    /// Marks the apps a node belongs to (and the default targets it may be) as changed.
    fn touch(&mut self, id: u32) {
        let Some(node) = self.nodes.get(&id) else {
            return;
        };
        self.dirty
            .extend(node.apps.iter().map(|&i| AppKey::Named(i)));
        if matches!(node.class, Class::Sink | Class::Source) {
            // Either default may name either kind (see `members`).
            self.dirty.insert(AppKey::DefaultSink);
            self.dirty.insert(AppKey::DefaultSource);
        }
        // Whether the node is the focused window's is worked out when announcing
        // (an unchanged state is not announced again).
        if matches!(self.focus, Focus::Window(_)) {
            self.dirty.insert(AppKey::Focused);
        }
    }

    /// Applies a fact from PipeWire. Requests it completes are collected by
    /// [`State::take_completed`], actions it triggers by [`State::take_actions`].
    pub fn apply(&mut self, update: Update, now: Instant) {
        match update {
            Update::Node { id, props } => {
                let client = props.get("client.id").and_then(|c| c.parse().ok());
                let class = Class::of(&props);
                self.touch(id);
                let restore = self.initial_restore();
                let node = self.nodes.entry(id).or_insert_with(|| Node {
                    props: Props::new(),
                    class,
                    client,
                    reported: None,
                    apps: Vec::new(),
                    control: Control::default(),
                    restore,
                });
                node.props = props;
                node.class = class;
                node.client = client;
                self.rematch(id);
                self.touch(id);
                self.restore_if_due(id, now);
            }
            Update::NodeVolume { id, channels, mute } => {
                let Some(node) = self.nodes.get_mut(&id) else {
                    return;
                };
                let prev = node.reported.clone();
                let foreign = node.control.inflight.is_none();
                let mut v = prev.clone().unwrap_or(Volume {
                    channels: Vec::new(),
                    mute: false,
                });
                if let Some(c) = channels {
                    v.channels = c;
                }
                if let Some(m) = mute {
                    v.mute = m;
                }
                node.reported = Some(v);
                if self.route_of(id).is_none() {
                    self.reported_changed(id, now);
                    let had_channels = prev.is_some_and(|p| !p.channels.is_empty());
                    self.after_report(id, had_channels, foreign, now);
                }
            }
            Update::NodeRemoved(id) => {
                self.touch(id);
                self.nodes.remove(&id);
                self.settle_waiters();
            }
            Update::Client { id, props } => {
                self.clients.insert(id, props);
                self.rematch_client(id);
                // Its nodes may have just joined an app (Spotify is only named here).
                let ids: Vec<u32> = self
                    .nodes
                    .iter()
                    .filter(|(_, n)| n.client == Some(id))
                    .map(|(&n, _)| n)
                    .collect();
                for n in ids {
                    self.restore_if_due(n, now);
                }
            }
            Update::ClientRemoved(id) => {
                self.clients.remove(&id);
                self.lineage.remove(&id);
                self.rematch_client(id);
            }
            Update::ClientLineage { id, pids } => {
                self.lineage.insert(id, pids);
                self.dirty.insert(AppKey::Focused);
            }
            Update::Route {
                device,
                index,
                route_device,
                volume,
            } => {
                self.devices
                    .entry(device)
                    .or_default()
                    .routes
                    .insert(route_device, (index, volume));
                let ids: Vec<u32> = self
                    .nodes
                    .keys()
                    .copied()
                    .filter(|&id| {
                        self.route_of(id)
                            .is_some_and(|r| r.device == device && r.route_device == route_device)
                    })
                    .collect();
                for id in ids {
                    self.reported_changed(id, now);
                }
            }
            Update::DeviceRemoved(id) => {
                if self.devices.remove(&id).is_some() {
                    let ids: Vec<u32> = self.nodes.keys().copied().collect();
                    for n in ids {
                        if self.nodes[&n].props.get("device.id") == Some(&id.to_string()) {
                            self.touch(n);
                        }
                    }
                }
            }
            Update::Default { sink, name } => {
                if sink {
                    self.default_sink = name;
                    self.dirty.insert(AppKey::DefaultSink);
                } else {
                    self.default_source = name;
                    self.dirty.insert(AppKey::DefaultSource);
                }
            }
            Update::Disconnected => {
                self.connected = false;
                self.nodes.clear();
                self.clients.clear();
                self.lineage.clear();
                self.devices.clear();
                self.default_sink = None;
                self.default_source = None;
                self.waiters.fail_all_disconnected();
                self.outbox.clear();
                self.mark_all_dirty();
            }
        }
    }

    /// Re-evaluates which apps a node belongs to.
    pub(super) fn rematch(&mut self, id: u32) {
        let Some(node) = self.nodes.get(&id) else {
            return;
        };
        let client = node.client.and_then(|c| self.clients.get(&c));
        let lookup = |k: &str| {
            node.props
                .get(k)
                .or_else(|| client.and_then(|c| c.get(k)))
                .map(String::as_str)
        };
        let apps: Vec<usize> = self
            .config
            .apps
            .iter()
            .enumerate()
            .filter(|(_, app)| {
                app.rules.iter().any(|rule| {
                    // Apps are about what people hear unless a rule says otherwise.
                    (rule.mentions("media.class") || node.class == Class::StreamOut)
                        && rule.matches(lookup)
                })
            })
            .map(|(i, _)| i)
            .collect();
        if apps != node.apps {
            self.touch(id);
            if let Some(node) = self.nodes.get_mut(&id) {
                node.apps = apps;
            }
            self.touch(id);
        }
    }

    fn rematch_client(&mut self, client: u32) {
        let ids: Vec<u32> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.client == Some(client))
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.rematch(id);
        }
    }

    /// The device route holding a node's volume, when it has one.
    fn route_of(&self, id: u32) -> Option<RouteRef> {
        let node = self.nodes.get(&id)?;
        let device: u32 = node.props.get("device.id")?.parse().ok()?;
        let route_device: i32 = node.props.get("card.profile.device")?.parse().ok()?;
        let (index, _) = self.devices.get(&device)?.routes.get(&route_device)?;
        Some(RouteRef {
            device,
            index: *index,
            route_device,
        })
    }

    /// The volume PipeWire reports for a node, from its route or its own Props.
    fn reported(&self, id: u32) -> Option<&Volume> {
        match self.route_of(id) {
            Some(r) => self
                .devices
                .get(&r.device)?
                .routes
                .get(&r.route_device)
                .map(|(_, v)| v),
            None => self.nodes.get(&id)?.reported.as_ref(),
        }
    }

    /// Actions that updates produced since the last call.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.outbox)
    }
}

#[cfg(test)]
mod control_tests;
#[cfg(test)]
mod reload_tests;
#[cfg(test)]
mod remember_tests;
#[cfg(test)]
mod tests;
