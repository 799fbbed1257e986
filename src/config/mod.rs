//! The daemon's configuration: a JSON file, every field optional.
//!
//! Invalid values are rejected while parsing (not afterwards) so that every error carries
//! the file, line and column serde_json knows.

mod feedback;
pub mod keys;
mod read;

use feedback::default_osd_timeout;
pub use feedback::{
    OsdKind, WriteDelay, DEFAULT_OSD_TIMEOUT_MS, DEFAULT_WRITE_DELAY_MS, MAX_WRITE_DELAY_MS,
};

use crate::matching::Rule;
use keys::{Key, KeyFile, KeyId, RampConfig};
use read::read_regular;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Default step for `up`/`down`, percent points.
pub const DEFAULT_STEP: f64 = 5.0;
/// Default per-app maximum, percent on the cubic scale.
pub const DEFAULT_MAX_VOLUME: f64 = 100.0;
/// Default waybar signal offset: `SIGRTMIN+8`.
pub const DEFAULT_WAYBAR_SIGNAL: u8 = 8;
/// Highest accepted maximum volume; beyond it speakers and ears suffer.
pub const MAX_MAX_VOLUME: f64 = 300.0;
/// Default pace: volume updates sent to PipeWire per second and stream.
pub const DEFAULT_RATE_LIMIT: f64 = 60.0;

/// Largest config file read. A generous config is a few KiB; the cap keeps a wrong path
/// (a log, an image) from costing time and memory.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Deserializes a number and checks it inside the visitor: serde_json attaches the
/// number's own line and column only to errors raised there (a `try_from` error would be
/// placed at the end of the enclosing object).
fn checked_number<'de, D, T>(d: D, check: fn(f64) -> Result<T, String>) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct V<T>(fn(f64) -> Result<T, String>);
    impl<T> serde::de::Visitor<'_> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number")
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
            self.visit_f64(v as f64)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
            self.visit_f64(v as f64)
        }
    }
    d.deserialize_f64(V(check))
}

/// A step in percent points, `0 < step <= 100`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(into = "f64")]
pub struct Step(f64);

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_number(d, Step::try_from)
    }
}

impl TryFrom<f64> for Step {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        crate::protocol::check_step(v)
            .map(Step)
            .map_err(|e| format!("step: {}", e.message))
    }
}

impl From<Step> for f64 {
    fn from(s: Step) -> f64 {
        s.0
    }
}

/// A maximum volume in percent, `1 <= max <= 300`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(into = "f64")]
pub struct MaxVolume(f64);

impl<'de> Deserialize<'de> for MaxVolume {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_number(d, MaxVolume::try_from)
    }
}

impl TryFrom<f64> for MaxVolume {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v.is_finite() && (1.0..=MAX_MAX_VOLUME).contains(&v) {
            Ok(MaxVolume(v))
        } else {
            Err(format!(
                "max_volume must be from 1 to {MAX_MAX_VOLUME} percent, got {v}"
            ))
        }
    }
}

impl From<MaxVolume> for f64 {
    fn from(m: MaxVolume) -> f64 {
        m.0
    }
}

/// An app name: letters, digits, `-`, `_`, `.`; the `@` prefix is reserved for
/// the special targets `@sink` and `@source`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AppName(String);

impl TryFrom<String> for AppName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(AppName(s))
        } else {
            Err(format!(
                "app name {s:?} must be 1-64 letters, digits, '-', '_' or '.' ('@' names are reserved)"
            ))
        }
    }
}

impl From<AppName> for String {
    fn from(a: AppName) -> String {
        a.0
    }
}

impl AppName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One app as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Any rule matching puts a stream in the app.
    #[serde(rename = "match")]
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_volume: Option<MaxVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// Display name for waybar tooltips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Remember this app's volume for its new streams (default: the global `remember`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember: Option<bool>,
    /// Also remember changes other mixers make (default: the global value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember_other_mixers: Option<bool>,
}

fn default_signal() -> Option<u8> {
    Some(DEFAULT_WAYBAR_SIGNAL)
}

fn default_true() -> bool {
    true
}

fn default_rate() -> Option<RateLimit> {
    Some(RateLimit(DEFAULT_RATE_LIMIT))
}

/// Updates per second and stream, `1 <= rate <= 1000`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(into = "f64")]
pub struct RateLimit(f64);

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_number(d, |v| {
            if v.is_finite() && (1.0..=1000.0).contains(&v) {
                Ok(RateLimit(v))
            } else {
                Err(format!(
                    "rate_limit must be from 1 to 1000 per second, got {v}"
                ))
            }
        })
    }
}

impl From<RateLimit> for f64 {
    fn from(r: RateLimit) -> f64 {
        r.0
    }
}

/// The file's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_volume: Option<MaxVolume>,
    /// `SIGRTMIN+N` for waybar; `null` turns signalling off.
    #[serde(default = "default_signal")]
    pub waybar_signal: Option<u8>,
    /// Whether the built-in apps (vesktop, youtube, twitch, music) are defined.
    #[serde(default = "default_true")]
    pub builtin_apps: bool,
    /// Volume updates sent to PipeWire per second and stream; `null` turns pacing off.
    #[serde(default = "default_rate")]
    pub rate_limit: Option<RateLimit>,
    /// Apps by name; an entry with a built-in name replaces the built-in one.
    #[serde(default)]
    pub apps: BTreeMap<AppName, AppConfig>,
    /// Remember configured apps' volumes (see `memory`); `@sink`/`@source` never are.
    #[serde(default = "default_true")]
    pub remember: bool,
    /// Also remember volumes other mixers set on an app's streams.
    #[serde(default)]
    pub remember_other_mixers: bool,
    /// How long the state file write waits for more changes (a held key), milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_write_delay_ms: Option<WriteDelay>,
    /// On-screen feedback for changes the daemon makes; `null` (default) is none.
    #[serde(default)]
    pub osd: Option<OsdKind>,
    /// How long a notification stays up, milliseconds.
    #[serde(default = "default_osd_timeout")]
    pub osd_timeout_ms: u32,
    /// Also show changes other mixers make to an app's streams.
    #[serde(default)]
    pub osd_other_mixers: bool,
    /// Key actions the compositor triggers without starting a process (see `keys.rs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<KeyId, KeyFile>,
    #[serde(default)]
    pub ramp: RampConfig,
}

impl Default for ConfigFile {
    fn default() -> Self {
        serde_json::from_str("{}").expect("the empty config parses")
    }
}

/// An app ready for matching.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    pub name: String,
    pub label: String,
    pub rules: Vec<Rule>,
    pub max_volume: f64,
    pub step: f64,
    pub remember: bool,
    pub remember_other_mixers: bool,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub step: f64,
    pub max_volume: f64,
    pub waybar_signal: Option<u8>,
    /// set_params per second and stream; None: unpaced.
    pub rate_limit: Option<f64>,
    /// In name order; ids used by the state are indices into this list.
    pub apps: Vec<App>,
    /// Debounce of state file writes (read once at start; a reload does not change it).
    pub state_write_delay: std::time::Duration,
    pub osd: Option<OsdKind>,
    pub osd_timeout_ms: u32,
    pub osd_other_mixers: bool,
    pub keys: BTreeMap<KeyId, Key>,
    pub ramp: RampConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config::from_file(ConfigFile::default()).expect("the empty config is valid")
    }
}

/// A config file that could not be used.
#[derive(Debug)]
pub enum ConfigError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    Invalid {
        path: PathBuf,
        message: String,
    },
    /// A FIFO, device, directory or socket: reading one could block or never end.
    NotAFile {
        path: PathBuf,
        kind: &'static str,
    },
    TooLarge {
        path: PathBuf,
        size: u64,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "{}: cannot read: {source}", path.display())
            }
            ConfigError::Parse {
                path,
                line,
                column,
                message,
            } => {
                write!(f, "{}:{line}:{column}: {message}", path.display())
            }
            ConfigError::Invalid { path, message } => write!(f, "{}: {message}", path.display()),
            ConfigError::NotAFile { path, kind } => {
                write!(f, "{}: is a {kind}, not a regular file", path.display())
            }
            ConfigError::TooLarge { path, size } => write!(
                f,
                "{}: {size} bytes is over the {MAX_CONFIG_BYTES}-byte limit for a config",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

pub use crate::builtin_apps::builtin_apps;

impl Config {
    /// Applies defaults, merges built-in apps and checks the keys against the apps.
    pub fn from_file(file: ConfigFile) -> Result<Config, String> {
        let step = file.step.map_or(DEFAULT_STEP, f64::from);
        let max_volume = file.max_volume.map_or(DEFAULT_MAX_VOLUME, f64::from);
        let mut apps = if file.builtin_apps {
            builtin_apps()
        } else {
            BTreeMap::new()
        };
        apps.extend(file.apps);
        let apps = apps
            .into_iter()
            .map(|(name, a)| App {
                label: a.label.unwrap_or_else(|| name.0.clone()),
                name: name.0,
                rules: a.rules,
                max_volume: a.max_volume.map_or(max_volume, f64::from),
                step: a.step.map_or(step, f64::from),
                remember: a.remember.unwrap_or(file.remember),
                remember_other_mixers: a
                    .remember_other_mixers
                    .unwrap_or(file.remember_other_mixers),
            })
            .collect::<Vec<App>>();
        file.ramp.check()?;
        let keys = keys::check_keys(&file.keys, |name| {
            matches!(name, "@sink" | "@source" | "@focused") || apps.iter().any(|a| a.name == name)
        })?;
        let delay_ms = file
            .state_write_delay_ms
            .map_or(DEFAULT_WRITE_DELAY_MS as f64, f64::from);
        Ok(Config {
            step,
            max_volume,
            waybar_signal: file.waybar_signal,
            rate_limit: file.rate_limit.map(f64::from),
            apps,
            state_write_delay: std::time::Duration::from_secs_f64(delay_ms / 1000.0),
            osd: file.osd,
            osd_timeout_ms: file.osd_timeout_ms,
            osd_other_mixers: file.osd_other_mixers,
            keys,
            ramp: file.ramp,
        })
    }

    /// Parses a config text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file: ConfigFile = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        if let Some(sig) = file.waybar_signal {
            let room = libc::SIGRTMAX() - libc::SIGRTMIN();
            if i32::from(sig) > room {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    message: format!("waybar_signal must be from 0 to {room}, got {sig}"),
                });
            }
        }
        Config::from_file(file).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Reads a config file. A missing file at the default location means defaults;
    /// a missing file the user named explicitly is an error.
    /// Only regular files are read (symlinks to them are fine, as home-manager makes
    /// them), and at most [`MAX_CONFIG_BYTES`].
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        match read_regular(path) {
            Ok(text) => Config::parse(&text, path),
            Err(ConfigError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && !must_exist =>
            {
                Ok(Config::default())
            }
            Err(e) => Err(e),
        }
    }

    /// `$XDG_CONFIG_HOME/audio-daemon/config.json`, or `~/.config/...`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("audio-daemon").join("config.json"))
    }

    /// The app with this name.
    pub fn app(&self, name: &str) -> Option<(usize, &App)> {
        self.apps.iter().enumerate().find(|(_, a)| a.name == name)
    }
}

/// serde_json appends " at line L column C"; we print the position ourselves.
pub(crate) fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests;
