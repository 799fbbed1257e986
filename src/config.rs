//! The daemon's configuration: a JSON file, every field optional.
//!
//! Invalid values are rejected while parsing (not afterwards) so that every error carries
//! the file, line and column serde_json knows.

use crate::matching::Rule;
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
}

fn default_signal() -> Option<u8> {
    Some(DEFAULT_WAYBAR_SIGNAL)
}

fn default_true() -> bool {
    true
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
    /// Apps by name; an entry with a built-in name replaces the built-in one.
    #[serde(default)]
    pub apps: BTreeMap<AppName, AppConfig>,
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
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub step: f64,
    pub max_volume: f64,
    pub waybar_signal: Option<u8>,
    /// In name order; ids used by the state are indices into this list.
    pub apps: Vec<App>,
}

impl Default for Config {
    fn default() -> Self {
        Config::from_file(ConfigFile::default())
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
        }
    }
}

impl std::error::Error for ConfigError {}

pub use crate::builtin_apps::builtin_apps;

impl Config {
    /// Applies defaults and merges built-in apps.
    pub fn from_file(file: ConfigFile) -> Config {
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
            })
            .collect();
        Config {
            step,
            max_volume,
            waybar_signal: file.waybar_signal,
            apps,
        }
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
        Ok(Config::from_file(file))
    }

    /// Reads a config file. A missing file at the default location means defaults;
    /// a missing file the user named explicitly is an error.
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
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
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/cfg.json"))
    }

    #[test]
    fn empty_config_has_builtin_apps() {
        let c = parse("{}").unwrap();
        let names: Vec<&str> = c.apps.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["music", "twitch", "vesktop", "youtube"]);
        assert_eq!(c.step, DEFAULT_STEP);
        assert_eq!(c.waybar_signal, Some(8));
        assert_eq!(c, Config::default());
    }

    #[test]
    fn user_apps_override_and_extend() {
        let c = parse(
            r#"{
              "step": 2, "max_volume": 120, "waybar_signal": null,
              "apps": {
                "vesktop": { "match": [ { "application.name": "Vesktop" } ], "max_volume": 150 },
                "mpv": { "match": [ { "application.process.binary": "mpv" } ], "step": 10, "label": "Video" }
              }
            }"#,
        )
        .unwrap();
        assert_eq!(c.waybar_signal, None);
        let (_, v) = c.app("vesktop").unwrap();
        assert_eq!((v.max_volume, v.step, v.rules.len()), (150.0, 2.0, 1));
        let (_, m) = c.app("mpv").unwrap();
        assert_eq!(
            (m.max_volume, m.step, m.label.as_str()),
            (120.0, 10.0, "Video")
        );
        assert_eq!(c.app("youtube").unwrap().1.max_volume, 120.0);
    }

    #[test]
    fn builtins_can_be_dropped() {
        let c = parse(r#"{"builtin_apps": false}"#).unwrap();
        assert!(c.apps.is_empty());
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = err("{\n  \"step\": 0\n}");
        assert!(e.starts_with("/cfg.json:2:"), "{e}");
        assert!(e.contains("step"), "{e}");
        let e = err("{\n \"stepp\": 3 }");
        assert!(
            e.starts_with("/cfg.json:2:") && e.contains("unknown field"),
            "{e}"
        );
        let e = err("{ \"apps\": { \"@x\": { \"match\": [ {\"a\":\"b\"} ] } } }");
        assert!(e.contains("reserved"), "{e}");
        let e = err("{ \"apps\": { \"x\": { \"match\": [ {} ] } } }");
        assert!(e.contains("empty rule"), "{e}");
        let e = err("{ \"max_volume\": 1000 }");
        assert!(e.contains("max_volume"), "{e}");
        let e = err("{ \"waybar_signal\": 200 }");
        assert!(e.contains("waybar_signal"), "{e}");
        let e = err("{ \"step\": 5,");
        assert!(e.starts_with("/cfg.json:1:"), "{e}");
    }

    #[test]
    fn missing_default_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope.json");
        assert_eq!(Config::load(&p, false).unwrap(), Config::default());
        assert!(matches!(
            Config::load(&p, true),
            Err(ConfigError::Read { .. })
        ));
    }
}
