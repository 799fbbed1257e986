//! The line a waybar `custom` module reads, rendered from an app's state.

use super::AppState;
use serde::{Deserialize, Serialize};

/// One line for a waybar `custom` module with `"return-type": "json"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaybarLine {
    pub text: String,
    pub tooltip: String,
    /// `muted`, `unmuted` or `inactive` (no streams), for CSS.
    pub class: String,
    /// The same word as `class`: waybar picks a `format-icons` entry by `alt`, so a bar
    /// can show a muted or inactive icon whatever the percentage.
    pub alt: String,
    pub percentage: u32,
}

impl WaybarLine {
    /// Nothing to show: the app has no streams, or the daemon is not there.
    pub fn inactive(tooltip: String) -> WaybarLine {
        WaybarLine {
            text: "-".to_owned(),
            tooltip,
            class: "inactive".to_owned(),
            alt: "inactive".to_owned(),
            percentage: 0,
        }
    }

    /// Renders an app's state for the bar.
    pub fn from_state(state: &AppState) -> WaybarLine {
        let label = if state.label.is_empty() {
            &state.app
        } else {
            &state.label
        };
        let Some(volume) = state.volume else {
            return WaybarLine::inactive(format!("{label}: no streams"));
        };
        let pct = volume.round().max(0.0) as u32;
        let n = state.streams.len();
        let plural = if n == 1 { "stream" } else { "streams" };
        let (text, class) = if state.muted {
            (format!("{pct}% muted"), "muted")
        } else {
            (format!("{pct}%"), "unmuted")
        };
        WaybarLine {
            text,
            tooltip: format!("{label}: {text_pct}% ({n} {plural})", text_pct = pct),
            class: class.to_owned(),
            alt: class.to_owned(),
            percentage: pct,
        }
    }

    #[cfg(feature = "json")]
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a waybar line always serializes")
    }
}
