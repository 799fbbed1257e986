//! `@focused`: the streams of the window that has the focus.
//!
//! The compositor side (`crate::compositor`) reports what is focused as a [`Focus`];
//! the PipeWire thread reports each client's *lineage* (its process and that process's
//! ancestors, read from `/proc` at the I/O edge, see `crate::procs`). Here both are
//! plain data, so resolving `@focused` is a set lookup, unit-tested without a compositor.
//!
//! A stream belongs to the focused window when the window's process (its pid with the
//! pid's start time, so a recycled pid is another process) is in its client's lineage
//! (the stream's process is the window's process or a descendant of it: browsers and
//! Electron apps play from a child). A window pid that every stream descends from
//! (pid 1, the compositor's, the session's) names no process: see `procs::WindowPids`. When no stream does, and only then,
//! the window's class is matched against the configured apps' rules (Flatpak apps report
//! pids from their own namespace). Replies say which way matched.

use super::{AppKey, Class, Props, State};
use crate::procs::ProcId;
use crate::protocol::FOCUSED_TARGET;
use crate::protocol::{AppState, Error, ErrorKind, MatchedBy, WindowInfo};

/// Longest window class or title kept; compositors pass whatever the client set.
pub const MAX_WINDOW_TEXT: usize = 256;

/// A focused window as the compositor describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The Wayland app id, or the X11 class.
    pub class: String,
    pub title: String,
    /// The owning process as the compositor reports it, if known (shown in replies).
    pub pid: Option<u32>,
    /// The process that pid named when the focus arrived, if it is trusted to stand for
    /// the window (`crate::procs::WindowPids`): streams are found by this, so a pid
    /// recycled since, or one every stream descends from, matches nothing.
    pub process: Option<ProcId>,
}

impl Window {
    /// A window with its texts cut to [`MAX_WINDOW_TEXT`] bytes (at a char boundary).
    pub fn new(class: &str, title: &str, pid: Option<u32>) -> Window {
        Window {
            class: truncate(class),
            title: truncate(title),
            pid: pid.filter(|&p| p > 0),
            process: None,
        }
    }

    /// The window with its process identified (at the I/O edge, from `/proc`).
    pub fn identified(self, process: Option<ProcId>) -> Window {
        Window { process, ..self }
    }
}

fn truncate(s: &str) -> String {
    let mut end = s.len().min(MAX_WINDOW_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// What the daemon knows about the focus.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Focus {
    /// No compositor the daemon can follow is named in its environment.
    #[default]
    Unsupported,
    /// The compositor connection is down (it restarted or quit); reconnecting.
    Lost {
        compositor: &'static str,
    },
    /// Connected, and no window has the focus.
    Nothing,
    Window(Window),
}

/// Pids a client's streams may be traced by: `application.process.id` (set by the
/// client library in the client's own pid namespace, and the only useful one for
/// pipewire-pulse clients), and `pipewire.sec.pid` (the peer credentials of the socket:
/// the host pid, but for pulse clients it is pipewire-pulse itself, so skipped there).
pub fn candidate_pids(props: &Props) -> Vec<u32> {
    let pid = |k: &str| props.get(k).and_then(|v| v.trim().parse::<u32>().ok());
    let mut out = Vec::new();
    if let Some(p) = pid("application.process.id") {
        out.push(p);
    }
    let pulse = props.get("client.api").map(String::as_str) == Some("pipewire-pulse");
    if !pulse {
        if let Some(p) = pid("pipewire.sec.pid") {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out.retain(|&p| p > 0);
    out
}

/// The pure process-to-stream mapping: the streams (of `streams`, each with its
/// client's lineage) whose process is `process` or one of its descendants.
pub fn streams_of_process<'a>(
    process: ProcId,
    streams: impl IntoIterator<Item = (u32, Option<&'a [ProcId]>)>,
) -> Vec<u32> {
    let mut ids: Vec<u32> = streams
        .into_iter()
        .filter(|(_, lineage)| lineage.is_some_and(|l| l.contains(&process)))
        .map(|(id, _)| id)
        .collect();
    ids.sort_unstable();
    ids
}

/// Properties a window's class stands in for when it is matched against app rules.
const CLASS_KEYS: &[&str] = &[
    "application.name",
    "application.id",
    "application.process.binary",
    "pipewire.access.portal.app_id",
];

impl State {
    /// Follows the compositor.
    pub fn set_focus(&mut self, focus: Focus) {
        if focus != self.focus {
            self.focus = focus;
            self.dirty.insert(AppKey::Focused);
        }
    }

    /// Whether `@focused` is something this daemon can answer at all.
    pub(super) fn focus_supported(&self) -> bool {
        self.focus != Focus::Unsupported
    }

    /// The focused window's streams, and how they were found.
    pub(super) fn focused_members(&self) -> (Vec<u32>, Option<MatchedBy>) {
        let Focus::Window(w) = &self.focus else {
            return (Vec::new(), None);
        };
        if let Some(process) = w.process {
            let streams = self
                .nodes
                .iter()
                .filter(|(_, n)| n.class == Class::StreamOut)
                .map(|(&id, n)| {
                    let lineage = n.client.and_then(|c| self.lineage.get(&c));
                    (id, lineage.map(Vec::as_slice))
                });
            let ids = streams_of_process(process, streams);
            if !ids.is_empty() {
                return (ids, Some(MatchedBy::Pid));
            }
        }
        let apps = self.apps_of_class(&w.class);
        let mut ids: Vec<u32> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.apps.iter().any(|a| apps.contains(a)))
            .map(|(&id, _)| id)
            .collect();
        ids.sort_unstable();
        let by = (!ids.is_empty()).then_some(MatchedBy::Class);
        (ids, by)
    }

    /// Configured apps whose rules match a window class standing in for the app's
    /// names. A rule must match positively on one of those names: a rule made only of
    /// negations or `null`s would otherwise match every window.
    fn apps_of_class(&self, class: &str) -> Vec<usize> {
        if class.is_empty() {
            return Vec::new();
        }
        let lookup = |k: &str| CLASS_KEYS.contains(&k).then_some(class);
        self.config
            .apps
            .iter()
            .enumerate()
            .filter(|(_, app)| {
                app.rules.iter().any(|rule| {
                    let positive = rule.0.iter().any(|(k, p)| {
                        CLASS_KEYS.contains(&k.as_str())
                            && matches!(p, crate::matching::Pattern::Glob { negate: false, .. })
                    });
                    positive && rule.matches(lookup)
                })
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// A stream's own cap: the smallest of its apps' (each holds for it), or the global
    /// one for a stream in no app. `@focused` changes each of its streams within that
    /// stream's cap: one capped app among the window's streams no longer drags the
    /// others down to its cap (a `down 5` took an 80 % stream to 10 %).
    pub(super) fn stream_cap(&self, id: u32) -> f64 {
        match self.nodes.get(&id).map(|n| n.apps.as_slice()) {
            Some(apps) if !apps.is_empty() => apps
                .iter()
                .map(|&i| self.config.apps[i].max_volume)
                .fold(f64::INFINITY, f64::min),
            _ => self.config.max_volume,
        }
    }

    /// Cap and step shown for the focused window: the largest of its streams' caps
    /// (how loud the window can get; [`State::stream_cap`] is what each change obeys)
    /// and the step of the first app among them.
    pub(super) fn focused_limits(&self) -> (f64, f64) {
        let (ids, _) = self.focused_members();
        let cap = ids
            .iter()
            .map(|&id| self.stream_cap(id))
            .fold(None, |m: Option<f64>, c| Some(m.map_or(c, |m| m.max(c))));
        let step = ids
            .iter()
            .find_map(|id| self.nodes[id].apps.first())
            .map(|&i| self.config.apps[i].step);
        (
            cap.unwrap_or(self.config.max_volume),
            step.unwrap_or(self.config.step),
        )
    }

    /// Why `@focused` cannot be acted on now, if it cannot. `changing`: the request
    /// changes volumes (a `get` with nothing focused is answered with no streams).
    pub(super) fn focus_error(&self, changing: bool) -> Option<Error> {
        match &self.focus {
            Focus::Unsupported => Some(Error::new(
                ErrorKind::NoCompositor,
                "no compositor to follow: @focused needs Hyprland \
                 (HYPRLAND_INSTANCE_SIGNATURE) or sway (SWAYSOCK) in the daemon's environment",
            )),
            Focus::Lost { compositor } => Some(Error::new(
                ErrorKind::NoCompositor,
                format!("not connected to {compositor} (not started yet, or gone); the daemon keeps trying"),
            )),
            Focus::Nothing if changing => {
                Some(Error::new(ErrorKind::NoFocus, "no window has the focus"))
            }
            _ => None,
        }
    }

    /// The `no_streams` message for `@focused`, naming the window.
    pub(super) fn focused_no_streams(&self) -> String {
        match &self.focus {
            Focus::Window(w) => format!(
                "the focused window ({} \"{}\") has no streams",
                if w.class.is_empty() {
                    "no class"
                } else {
                    &w.class
                },
                w.title
            ),
            _ => "no window has the focus".to_owned(),
        }
    }

    /// The label `@focused` shows: its streams' app, else the window's class.
    fn focused_label(&self, ids: &[u32]) -> String {
        let app = ids
            .iter()
            .find_map(|id| self.nodes[id].apps.first().copied());
        match (&self.focus, app) {
            (_, Some(i)) => self.config.apps[i].label.clone(),
            (Focus::Window(w), None) if !w.class.is_empty() => w.class.clone(),
            (Focus::Window(_), None) => "Focused window".to_owned(),
            _ => "No focused window".to_owned(),
        }
    }

    /// `@focused`'s state: its streams, labelled, with the window it stands for.
    pub(super) fn focused_state(&self) -> AppState {
        let (ids, matched_by) = self.focused_members();
        let (cap, _) = self.focused_limits();
        let label = self.focused_label(&ids);
        let mut state = self.state_of(FOCUSED_TARGET, &label, cap, ids);
        if let Focus::Window(w) = &self.focus {
            state.window = Some(Box::new(WindowInfo {
                class: w.class.clone(),
                title: w.title.clone(),
                pid: w.pid,
                matched_by,
            }));
        }
        state
    }
}

#[cfg(test)]
mod tests;
