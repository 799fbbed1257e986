//! The `keys` and `ramp` sections: key actions the compositor triggers directly.
//!
//! Each key has an id (`vesktop-up`) that Hyprland binds name as
//! `global, audio-daemon:vesktop-up` and sway binds as `nop audio-daemon press
//! vesktop-up` / `release vesktop-up`. Its action is validated here exactly as a socket
//! request would be (it becomes one), so a key cannot do what a request cannot.

use crate::protocol::{MuteState, Request, WireRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest key id.
pub const MAX_KEY_ID: usize = 64;

/// A key id: `a-z`, `0-9` and `-`. Hyprland splits `APPID:ID` at the first colon, so
/// no colon; no `@` (write `sink-up`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl TryFrom<String> for KeyId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= MAX_KEY_ID
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(KeyId(s))
        } else {
            Err(format!(
                "key id {s:?} must be 1-{MAX_KEY_ID} characters of a-z, 0-9 and '-'"
            ))
        }
    }
}

impl From<KeyId> for String {
    fn from(k: KeyId) -> String {
        k.0
    }
}

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What holding the key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// One step at the press, then, after `ramp.delay_ms`, a smooth ramp at
    /// `ramp.rate` until release. Only for `up`/`down`.
    Ramp,
    /// The action once per press.
    Once,
}

/// A key as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// An app name, `@sink`, `@source` or `@focused`.
    pub app: String,
    /// `up`, `down`, `set` or `mute`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<MuteState>,
    /// Default: `ramp` for `up`/`down`, `once` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
}

/// A key ready to use.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// What a press does (the first step of a ramp).
    pub request: Request,
    pub hold: Hold,
}

impl Key {
    /// Validates a key; the error names what is wrong (the caller adds the key id).
    pub fn from_file(k: &KeyFile) -> Result<Key, String> {
        if !matches!(k.action.as_str(), "up" | "down" | "set" | "mute") {
            return Err(format!(
                "action must be up, down, set or mute, got {:?}",
                k.action
            ));
        }
        let request = Request::try_from(WireRequest {
            action: k.action.clone(),
            app: Some(k.app.clone()),
            amount: k.amount,
            state: k.state,
        })
        .map_err(|e| e.message)?;
        let ramps = matches!(request, Request::Up { .. } | Request::Down { .. });
        let hold = match k.hold {
            Some(Hold::Ramp) if !ramps => {
                return Err(format!(
                    "hold \"ramp\" needs action up or down, not {:?}",
                    k.action
                ))
            }
            Some(h) => h,
            None if ramps => Hold::Ramp,
            None => Hold::Once,
        };
        Ok(Key { request, hold })
    }
}

fn default_rate() -> f64 {
    DEFAULT_RATE
}
fn default_update_hz() -> u32 {
    DEFAULT_UPDATE_HZ
}
fn default_delay_ms() -> u64 {
    DEFAULT_DELAY_MS
}

/// Default ramp speed, percent points per second: 0 to 100 % in 2.5 s.
pub const DEFAULT_RATE: f64 = 40.0;
/// Default ramp updates per second: smooth to the ear, and at most one `set_param` per
/// stream is in flight anyway.
pub const DEFAULT_UPDATE_HZ: u32 = 30;
/// Default pause between the first step and the ramp, so a tap is exactly one step.
pub const DEFAULT_DELAY_MS: u64 = 250;

/// How held keys ramp.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RampConfig {
    /// Percent points per second (0 < rate <= 1000).
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Updates per second while held (1-200).
    #[serde(default = "default_update_hz")]
    pub update_hz: u32,
    /// Milliseconds between the first step and the ramp (0-5000).
    #[serde(default = "default_delay_ms")]
    pub delay_ms: u64,
}

impl Default for RampConfig {
    fn default() -> Self {
        RampConfig {
            rate: DEFAULT_RATE,
            update_hz: DEFAULT_UPDATE_HZ,
            delay_ms: DEFAULT_DELAY_MS,
        }
    }
}

impl RampConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 1000.0) {
            return Err(format!(
                "ramp.rate must be above 0 and at most 1000 (%/s), got {}",
                self.rate
            ));
        }
        if !(1..=200).contains(&self.update_hz) {
            return Err(format!(
                "ramp.update_hz must be from 1 to 200, got {}",
                self.update_hz
            ));
        }
        if self.delay_ms > 5000 {
            return Err(format!(
                "ramp.delay_ms must be at most 5000, got {}",
                self.delay_ms
            ));
        }
        Ok(())
    }
}

/// Validates every key; `known` says whether an app name exists.
pub fn check_keys(
    keys: &BTreeMap<KeyId, KeyFile>,
    known: impl Fn(&str) -> bool,
) -> Result<BTreeMap<KeyId, Key>, String> {
    keys.iter()
        .map(|(id, k)| {
            let key = Key::from_file(k).map_err(|e| format!("keys.{}: {e}", id.as_str()))?;
            if !known(&k.app) {
                return Err(format!(
                    "keys.{}: unknown app {:?} (an app of the config, @sink, @source or @focused)",
                    id.as_str(),
                    k.app
                ));
            }
            Ok((id.clone(), key))
        })
        .collect()
}
