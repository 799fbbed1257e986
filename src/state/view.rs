//! What the state looks like from outside: apps resolved to their streams, and the
//! per-app summaries that replies and change events carry.

use super::{AppKey, Class, State, FOCUSED_TARGET, SINK_TARGET, SOURCE_TARGET};
use crate::protocol::{AppState, StreamState};
use crate::volume;

impl State {
    /// Node ids of an app, in id order.
    pub(super) fn members(&self, key: AppKey) -> Vec<u32> {
        let mut ids: Vec<u32> = match key {
            AppKey::Named(i) => self
                .nodes
                .iter()
                .filter(|(_, n)| n.apps.contains(&i))
                .map(|(&id, _)| id)
                .collect(),
            AppKey::DefaultSink | AppKey::DefaultSource => {
                let name = if key == AppKey::DefaultSink {
                    &self.default_sink
                } else {
                    &self.default_source
                };
                let Some(name) = name else {
                    return Vec::new();
                };
                // Any device node, not only sources for @source: with no microphone,
                // WirePlumber makes a sink's monitor the default source, naming the sink.
                self.nodes
                    .iter()
                    .filter(|(_, n)| {
                        matches!(n.class, Class::Sink | Class::Source)
                            && n.props.get("node.name") == Some(name)
                    })
                    .map(|(&id, _)| id)
                    .collect()
            }
            AppKey::Focused => self.focused_members().0,
        };
        ids.sort_unstable();
        ids
    }

    /// Resolves an app name from a request.
    pub fn resolve(&self, name: &str) -> Option<AppKey> {
        match name {
            SINK_TARGET => Some(AppKey::DefaultSink),
            SOURCE_TARGET => Some(AppKey::DefaultSource),
            FOCUSED_TARGET => Some(AppKey::Focused),
            _ => self.config.app(name).map(|(i, _)| AppKey::Named(i)),
        }
    }

    pub(super) fn key_name(&self, key: AppKey) -> (&str, &str) {
        match key {
            AppKey::Named(i) => {
                let app = &self.config.apps[i];
                (&app.name, &app.label)
            }
            AppKey::DefaultSink => (SINK_TARGET, "Speakers"),
            AppKey::DefaultSource => (SOURCE_TARGET, "Microphone"),
            AppKey::Focused => (FOCUSED_TARGET, "Focused window"),
        }
    }

    /// Cap and step for an app.
    pub(super) fn limits(&self, key: AppKey) -> (f64, f64) {
        match key {
            AppKey::Named(i) => {
                let app = &self.config.apps[i];
                (app.max_volume, app.step)
            }
            AppKey::Focused => self.focused_limits(),
            _ => (self.config.max_volume, self.config.step),
        }
    }

    /// An app's state as PipeWire reports it.
    pub fn app_state(&self, key: AppKey) -> AppState {
        if key == AppKey::Focused {
            return self.focused_state();
        }
        let (name, label) = self.key_name(key);
        let (max_volume, _) = self.limits(key);
        self.state_of(name, label, max_volume, self.members(key))
    }

    /// The summary of some nodes under an app's name (also for an app a reload removed
    /// while a change to its streams was still waiting for PipeWire).
    pub(super) fn state_of(
        &self,
        name: &str,
        label: &str,
        max_volume: f64,
        ids: Vec<u32>,
    ) -> AppState {
        let streams: Vec<StreamState> = ids
            .into_iter()
            .filter_map(|id| {
                let node = self.nodes.get(&id)?;
                let reported = self.reported(id);
                let display = ["media.name", "node.description", "node.nick", "node.name"]
                    .iter()
                    .find_map(|k| node.props.get(*k).filter(|v| !v.is_empty() && *v != "-"))
                    .cloned()
                    .unwrap_or_default();
                Some(StreamState {
                    id,
                    name: display,
                    volume: reported
                        .filter(|v| !v.channels.is_empty())
                        .map(|v| round2(volume::level(&v.channels))),
                    muted: reported.is_some_and(|v| v.mute),
                })
            })
            .collect();
        let volume = streams
            .iter()
            .filter_map(|s| s.volume)
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        AppState {
            app: name.to_owned(),
            label: label.to_owned(),
            volume,
            muted: !streams.is_empty() && streams.iter().all(|s| s.muted),
            max_volume,
            streams,
            window: None,
        }
    }

    /// Every app, then `@sink` and `@source`, and `@focused` when there is a
    /// compositor to follow.
    pub fn all_keys(&self) -> Vec<AppKey> {
        let focused = self.focus_supported().then_some(AppKey::Focused);
        (0..self.config.apps.len())
            .map(AppKey::Named)
            .chain([AppKey::DefaultSink, AppKey::DefaultSource])
            .chain(focused)
            .collect()
    }

    /// Apps whose announced state changed since the last call.
    pub fn take_changes(&mut self) -> Vec<AppState> {
        let dirty = std::mem::take(&mut self.dirty);
        let mut out = Vec::new();
        for key in dirty {
            if key == AppKey::Focused && !self.focus_supported() {
                continue;
            }
            let state = self.app_state(key);
            if self.announced.get(&key) != Some(&state) {
                self.announced.insert(key, state.clone());
                out.push(state);
            }
        }
        out
    }
}

/// Two decimals are plenty for a percent and keep replies readable.
pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
