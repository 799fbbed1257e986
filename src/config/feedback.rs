//! Config types of remembered volumes and on-screen feedback (kept apart from the
//! matching and limits in `mod.rs`).

use super::checked_number;
use serde::{Deserialize, Serialize};

/// Default delay before remembered volumes are written: a held key (30 repeats a second)
/// writes about once a second, and a crash loses at most this much.
pub const DEFAULT_WRITE_DELAY_MS: u64 = 1000;
/// Longest accepted write delay: a minute of changes at stake in a crash is plenty.
pub const MAX_WRITE_DELAY_MS: u64 = 60_000;

/// The state file's write delay in milliseconds, at most [`MAX_WRITE_DELAY_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(into = "f64")]
pub struct WriteDelay(f64);

impl<'de> Deserialize<'de> for WriteDelay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked_number(d, |v| {
            if v.is_finite() && (0.0..=MAX_WRITE_DELAY_MS as f64).contains(&v) {
                Ok(WriteDelay(v))
            } else {
                Err(format!(
                    "state_write_delay_ms must be from 0 to {MAX_WRITE_DELAY_MS}, got {v}"
                ))
            }
        })
    }
}

impl From<WriteDelay> for f64 {
    fn from(w: WriteDelay) -> f64 {
        w.0
    }
}

/// Which on-screen feedback to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OsdKind {
    /// A freedesktop notification with a volume bar (mako, dunst, swaync, …).
    Notify,
    /// SwayOSD's progress bar, through its D-Bus server.
    Swayosd,
}

/// Default notification timeout: long enough to read, short enough not to linger.
pub const DEFAULT_OSD_TIMEOUT_MS: u32 = 1500;

pub(super) fn default_osd_timeout() -> u32 {
    DEFAULT_OSD_TIMEOUT_MS
}
