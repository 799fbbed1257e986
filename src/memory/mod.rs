//! Remembered app volumes: the pure model.
//!
//! The daemon remembers, per *app* (its own definitions, not WirePlumber's per-role or
//! per-application keys), the level and mute it last gave the app, and restores them on
//! streams of that app that appear later. This module only holds the values and the
//! arithmetic; `state/remember.rs` decides when to record and apply, `file.rs` reads and
//! writes the state file, `writer.rs` does the writing off the serving path.

pub mod file;
pub mod writer;

use crate::volume::{self, Volume};
use std::collections::BTreeMap;

/// Most channels a remembered balance keeps (SPA_AUDIO_MAX_CHANNELS is 64).
pub const MAX_CHANNELS: usize = 64;

/// What is remembered for one app.
#[derive(Debug, Clone, PartialEq)]
pub struct Remembered {
    /// The app's level: its loudest channel, percent on the cubic scale.
    pub volume: f64,
    /// Each channel's gain relative to the loudest one (linear, 0..=1): the balance.
    pub ratios: Vec<f32>,
    pub muted: bool,
}

impl Remembered {
    /// What a stream with these channels is remembered as.
    pub fn of(v: &Volume) -> Remembered {
        let loudest = v.channels.iter().copied().fold(0.0, f32::max);
        let ratios = if loudest > 0.0 {
            v.channels.iter().map(|&c| c / loudest).collect()
        } else {
            // Silence has no balance: restore it as centred.
            vec![1.0; v.channels.len()]
        };
        Remembered {
            volume: tidy(volume::level(&v.channels)),
            ratios,
            muted: v.mute,
        }
    }

    /// The volume to give a new stream whose own channels are `current`, never above
    /// `cap`. A stream with the same channel count gets the remembered balance; another
    /// layout (stereo remembered, a 5.1 stream appears) keeps its own balance, since
    /// mapping one layout's balance onto another's would be a guess.
    pub fn apply_to(&self, current: &[f32], cap: f64) -> Volume {
        let level = self.volume.min(cap);
        let channels = if self.ratios.len() == current.len() {
            volume::with_level(&self.ratios, level)
        } else {
            volume::with_level(current, level)
        };
        Volume {
            channels,
            mute: self.muted,
        }
    }
}

/// Rounds to a hundredth of a percent: what the protocol shows, and enough for a file.
fn tidy(percent: f64) -> f64 {
    (percent * 100.0).round() / 100.0
}

/// Remembered volumes by app name. Keyed by name, not by the state's app index, because a
/// config reload renumbers apps; names of apps no longer configured are kept (a config
/// edit that drops an app and brings it back should not lose its volume) until `forget`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    apps: BTreeMap<String, Remembered>,
}

impl Memory {
    pub fn get(&self, app: &str) -> Option<&Remembered> {
        self.apps.get(app)
    }

    /// Remembers `value` for `app`; true when that changed anything.
    pub fn record(&mut self, app: &str, value: Remembered) -> bool {
        if self.apps.get(app).is_some_and(|old| same(old, &value)) {
            return false;
        }
        self.apps.insert(app.to_owned(), value);
        true
    }

    /// Forgets one app; true when it was remembered.
    pub fn forget(&mut self, app: &str) -> bool {
        self.apps.remove(app).is_some()
    }

    /// Forgets every app; returns their names.
    pub fn forget_all(&mut self) -> Vec<String> {
        std::mem::take(&mut self.apps).into_keys().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Remembered)> {
        self.apps.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Equal as far as anyone could hear or see: float noise must not cause a write.
fn same(a: &Remembered, b: &Remembered) -> bool {
    a.muted == b.muted
        && (a.volume - b.volume).abs() < 0.005
        && volume::same_channels(&a.ratios, &b.ratios)
}

#[cfg(test)]
mod tests;
