//! On-screen feedback: a notification (or SwayOSD's bar) when an app's volume changes.
//!
//! Off by default (`osd` in the config). The request path only hands the new state to a
//! channel ([`Feedback::daemon_changed`]); a task on the daemon's executor does the D-Bus
//! work, so a slow or missing notification server never delays a reply. That task
//! coalesces: it takes everything queued, keeps the latest state per app, and makes at
//! most one call at a time, so a held key updates one notification (replaced in place by
//! id and stack tag) instead of queueing calls or stacking bubbles.
//!
//! Changes made by other mixers are shown only with `osd_other_mixers`; they are told
//! apart from streams coming and going by the app's set of streams staying the same.

mod bus;
pub mod notify;
pub mod swayosd;

use crate::config::{Config, OsdKind};
use crate::protocol::{AppState, Event};
use smol::channel::{Receiver, Sender};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// What one popup shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub app: String,
    pub label: String,
    /// Percent on the cubic scale (may exceed 100).
    pub volume: f64,
    pub muted: bool,
}

impl Shown {
    /// Discord at `volume`: what the message builders' tests (notify, swayosd) show.
    #[cfg(test)]
    pub(crate) fn sample(volume: f64, muted: bool) -> Shown {
        Shown {
            app: "vesktop".into(),
            label: "Discord".into(),
            volume,
            muted,
        }
    }

    /// None for an app without streams: there is no level to show.
    pub fn of(state: &AppState) -> Option<Shown> {
        Some(Shown {
            app: state.app.clone(),
            label: if state.label.is_empty() {
                state.app.clone()
            } else {
                state.label.clone()
            },
            volume: state.volume?,
            muted: state.muted,
        })
    }
}

/// The feedback part of the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub kind: Option<OsdKind>,
    pub timeout_ms: u32,
    pub other_mixers: bool,
}

impl Settings {
    pub fn of(config: &Config) -> Settings {
        Settings {
            kind: config.osd,
            timeout_ms: config.osd_timeout_ms,
            other_mixers: config.osd_other_mixers,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A request to the daemon made this change.
    Daemon,
    /// An event: any change, whoever made it.
    Event,
}

/// The cheap end: what the request path and the event loop call. Never blocks.
pub struct Feedback {
    tx: Sender<(AppState, Origin)>,
    settings: Rc<RefCell<Settings>>,
}

impl Feedback {
    /// Starts the feedback task on `ex`.
    pub fn spawn(ex: &Rc<smol::LocalExecutor<'static>>, settings: Settings) -> Feedback {
        // Unbounded, because the task drains it completely on every turn: it holds at most
        // the changes of one D-Bus call's duration (bounded by `bus::CALL_TIMEOUT`).
        let (tx, rx) = smol::channel::unbounded();
        let settings = Rc::new(RefCell::new(settings));
        ex.spawn(run(rx, settings.clone(), ex.clone())).detach();
        Feedback { tx, settings }
    }

    /// A `Feedback` without its task, for tests: what it would show arrives on the
    /// receiver.
    #[cfg(test)]
    pub(crate) fn recording(settings: Settings) -> (Feedback, Receiver<(AppState, Origin)>) {
        let (tx, rx) = smol::channel::unbounded();
        let settings = Rc::new(RefCell::new(settings));
        (Feedback { tx, settings }, rx)
    }

    /// A config reload.
    pub fn configure(&self, settings: Settings) {
        *self.settings.borrow_mut() = settings;
    }

    /// A request changed an app (or tried to: at the cap, the level is shown again).
    pub fn daemon_changed(&self, state: &AppState) {
        if self.settings.borrow().kind.is_some() {
            let _ = self.tx.try_send((state.clone(), Origin::Daemon));
        }
    }

    /// An event from PipeWire (only needed when other mixers' changes are shown).
    pub fn event(&self, event: &Event) {
        let s = self.settings.borrow();
        if let (Event::App(state), Some(_), true) = (event, s.kind, s.other_mixers) {
            let _ = self.tx.try_send((state.clone(), Origin::Event));
        }
    }
}

/// Whether `new` is another mixer's change to `old`: same streams, other level or mute.
fn mixer_change(old: Option<&AppState>, new: &AppState) -> bool {
    let Some(old) = old else { return false };
    let ids = |s: &AppState| s.streams.iter().map(|s| s.id).collect::<Vec<_>>();
    new.volume.is_some()
        && ids(old) == ids(new)
        && (old.volume != new.volume || old.muted != new.muted)
}

/// Decides what to show from one batch of queued updates: the latest per app.
#[derive(Default)]
struct Batch {
    /// Each app's last known state, to recognise other mixers' changes.
    last: HashMap<String, AppState>,
}

impl Batch {
    fn take(&mut self, updates: Vec<(AppState, Origin)>) -> BTreeMap<String, Shown> {
        let mut due = BTreeMap::new();
        for (state, origin) in updates {
            let show = match origin {
                Origin::Daemon => true,
                Origin::Event => mixer_change(self.last.get(&state.app), &state),
            };
            if show {
                if let Some(s) = Shown::of(&state) {
                    due.insert(state.app.clone(), s);
                }
            }
            self.last.insert(state.app.clone(), state);
        }
        due
    }
}

async fn run(
    rx: Receiver<(AppState, Origin)>,
    settings: Rc<RefCell<Settings>>,
    ex: Rc<smol::LocalExecutor<'static>>,
) {
    let mut bus = bus::Bus::new(ex);
    let mut batch = Batch::default();
    while let Ok(first) = rx.recv().await {
        let mut updates = vec![first];
        while let Ok(u) = rx.try_recv() {
            updates.push(u);
        }
        let settings = settings.borrow().clone();
        let Some(kind) = settings.kind else { continue };
        for shown in batch.take(updates).into_values() {
            bus.show(kind, settings.timeout_ms, &shown).await;
        }
    }
}

#[cfg(test)]
mod tests;
