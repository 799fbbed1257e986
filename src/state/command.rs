//! Requests against the state, and the requests waiting for PipeWire.
//!
//! A volume request computes each stream's new volume from the stream's *target* (the
//! last requested value, not yet confirmed) or, when there is none, from what PipeWire
//! reported. That is what makes a burst of key repeats add up exactly. The targets then
//! go out through the per-stream protocol in `control.rs`. A request is answered when
//! each stream it touched has confirmed a generation at least as new as the one the
//! request created, has vanished, or had its change cancelled by a timeout. It fails
//! only when nothing it asked for happened.

use super::control::same;
use super::{AppKey, State, CONFIRM_TIMEOUT};
use crate::protocol::{Error, ErrorKind, MuteState, Reply, Request, Response};
use crate::volume::{self, Volume};
use std::time::Instant;

/// Identifies a request waiting for PipeWire; chosen by the caller.
pub type WaiterId = u64;

#[derive(Debug)]
struct Waiter {
    id: WaiterId,
    key: AppKey,
    /// Set when a reload removed the app while this request waited: what its reply needs.
    gone: Option<Gone>,
    needs: Vec<Need>,
    deadline: Instant,
}

/// A stream a request changed.
#[derive(Debug)]
struct Need {
    node: u32,
    /// The generation the stream must confirm.
    generation: u64,
    /// Set when a timeout cancelled it.
    cancelled: bool,
}

/// An app that a reload removed, as a waiting request still has to name it.
#[derive(Debug, Clone)]
struct Gone {
    name: String,
    label: String,
    max_volume: f64,
}

#[derive(Debug, Default)]
pub(super) struct Waiters {
    waiting: Vec<Waiter>,
    done: Vec<(WaiterId, Reply)>,
}

impl Waiters {
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.waiting.iter().map(|w| w.deadline).min()
    }

    /// (node, generation) of every change a request out of time still waits for.
    pub(super) fn overdue(&self, now: Instant) -> Vec<(u32, u64)> {
        self.waiting
            .iter()
            .filter(|w| w.deadline <= now)
            .flat_map(|w| w.needs.iter().filter(|n| !n.cancelled))
            .map(|n| (n.node, n.generation))
            .collect()
    }

    /// A timeout cancelled `node`'s generations in `after < g <= upto`.
    pub(super) fn cancel_needs(&mut self, node: u32, after: u64, upto: u64) {
        for n in self.waiting.iter_mut().flat_map(|w| w.needs.iter_mut()) {
            if n.node == node && n.generation > after && n.generation <= upto {
                n.cancelled = true;
            }
        }
    }

    /// Follows a config change: `remap` gives an app key's new value, `None` when the
    /// app was removed (then `removed` describes it for the reply).
    pub(super) fn remap(
        &mut self,
        remap: impl Fn(AppKey) -> Option<AppKey>,
        removed: impl Fn(AppKey) -> (String, String, f64),
    ) {
        for w in &mut self.waiting {
            if w.gone.is_some() {
                continue;
            }
            match remap(w.key) {
                Some(k) => w.key = k,
                None => {
                    let (name, label, max_volume) = removed(w.key);
                    w.gone = Some(Gone {
                        name,
                        label,
                        max_volume,
                    });
                }
            }
        }
    }

    /// Every app key a waiting request holds (for the reload invariants).
    #[cfg(test)]
    pub(super) fn keys(&self) -> Vec<AppKey> {
        self.waiting
            .iter()
            .filter(|w| w.gone.is_none())
            .map(|w| w.key)
            .collect()
    }

    pub(super) fn fail_all_disconnected(&mut self) {
        for w in self.waiting.drain(..) {
            self.done.push((
                w.id,
                Err(Error::new(
                    ErrorKind::PipewireUnavailable,
                    "lost the connection to PipeWire before it confirmed the change",
                )),
            ));
        }
    }
}

impl State {
    /// Handles a request. `Some(reply)` answers it now; `None` means it waits for
    /// PipeWire and its reply will come out of [`State::take_completed`] under `waiter`.
    /// Actions to send are collected by [`State::take_actions`].
    pub fn command(&mut self, req: &Request, waiter: WaiterId, now: Instant) -> Option<Reply> {
        // Remembered volumes are the daemon's own: no PipeWire needed to drop them.
        if let Request::Forget { app } = req {
            return Some(self.forget(app.as_deref()));
        }
        if !self.connected {
            return Some(Err(Error::new(
                ErrorKind::PipewireUnavailable,
                "not connected to PipeWire (is it running? the daemon keeps retrying)",
            )));
        }
        let name = match req {
            Request::List | Request::Subscribe | Request::Stats | Request::Forget { .. } => {
                let apps = self.all_keys().into_iter().map(|k| self.app_state(k));
                return Some(Ok(Response::Apps(apps.collect())));
            }
            other => other.app().unwrap_or_default(),
        };
        let Some(key) = self.resolve(name) else {
            let known: Vec<&str> = self.config.apps.iter().map(|a| a.name.as_str()).collect();
            return Some(Err(Error::new(
                ErrorKind::UnknownApp,
                format!(
                    "unknown app {name:?} (known: {}, @sink, @source, @focused)",
                    known.join(", ")
                ),
            )));
        };
        if key == AppKey::Focused {
            if let Some(e) = self.focus_error(req.changes_volume()) {
                return Some(Err(e));
            }
        }
        if !req.changes_volume() {
            return Some(Ok(Response::App(self.app_state(key))));
        }
        let planned = self.plan(req, key, waiter, now);
        if planned.is_ok() {
            self.after_request(key);
        }
        match planned {
            Ok(true) => None,
            Ok(false) => Some(Ok(Response::App(self.app_state(key)))),
            Err(e) => Some(Err(e)),
        }
    }

    /// Moves targets and sends what can be sent. Ok(true) when the request must wait.
    fn plan(
        &mut self,
        req: &Request,
        key: AppKey,
        waiter: WaiterId,
        now: Instant,
    ) -> Result<bool, Error> {
        let (cap, step) = self.limits(key);
        let name = self.key_name(key).0.to_owned();
        // Each stream's starting point: its pending target, else what PipeWire reported.
        // Streams that stopped answering are left alone (see `control.rs`).
        let mut unresponsive = 0;
        // `@focused` holds each stream to its own cap; an app's streams share the app's.
        let cap_of = |s: &Self, id: u32| match key {
            AppKey::Focused => s.stream_cap(id),
            _ => cap,
        };
        let bases: Vec<(u32, Volume, f64)> = self
            .members(key)
            .into_iter()
            .filter_map(|id| {
                let n = &self.nodes[&id];
                let base = n
                    .control
                    .target
                    .clone()
                    .or_else(|| self.reported(id).cloned())?;
                if n.control.unresponsive {
                    unresponsive += 1;
                    return None;
                }
                (!base.channels.is_empty()).then_some((id, base, cap_of(self, id)))
            })
            .collect();
        if bases.is_empty() && unresponsive > 0 {
            return Err(Error::new(
                ErrorKind::NotResponding,
                format!(
                    "{name}'s streams are not responding (is the app stopped or hung?); \
                     nothing was changed"
                ),
            ));
        }
        if bases.is_empty() {
            return Err(Error::new(ErrorKind::NoStreams, self.why_no_streams(key)));
        }
        // One decision for the whole app, so its streams move together.
        let mute_all = match req {
            Request::Mute { state, .. } => Some(match state {
                MuteState::On => true,
                MuteState::Off => false,
                MuteState::Toggle => bases.iter().any(|(_, v, _)| !v.mute),
            }),
            _ => None,
        };
        let mut needs = Vec::new();
        for (id, base, cap) in bases {
            let mut next = base.clone();
            match req {
                Request::Up { amount, .. } => {
                    next.channels = volume::step(&base.channels, amount.unwrap_or(step), cap)
                }
                Request::Down { amount, .. } => {
                    next.channels = volume::step(&base.channels, -amount.unwrap_or(step), cap)
                }
                Request::Set { volume: v, .. } => {
                    next.channels = volume::set(&base.channels, *v, cap)
                }
                Request::Mute { .. } => next.mute = mute_all.unwrap_or(base.mute),
                Request::Get { .. }
                | Request::List
                | Request::Subscribe
                | Request::Stats
                | Request::Forget { .. } => {}
            }
            if same(&next, &base) {
                continue;
            }
            let Some(node) = self.nodes.get_mut(&id) else {
                continue;
            };
            node.control.generation += 1;
            needs.push(Need {
                node: id,
                generation: node.control.generation,
                cancelled: false,
            });
            node.control.target = Some(next);
        }
        // After the waiter exists: a target that needs no send settles it at once.
        let ids: Vec<u32> = needs.iter().map(|n| n.node).collect();
        if needs.is_empty() {
            return Ok(false);
        }
        self.waiters.waiting.push(Waiter {
            id: waiter,
            key,
            gone: None,
            needs,
            deadline: now + CONFIRM_TIMEOUT,
        });
        for id in ids {
            self.dispatch(id, now);
        }
        Ok(true)
    }

    /// The reason an app has nothing to change. A missing default is worth saying so:
    /// with no microphone WirePlumber 0.5 sets no default source at all (0.4 picked a
    /// sink's monitor), and "no streams" alone would look like a daemon fault.
    fn why_no_streams(&self, key: AppKey) -> String {
        let name = self.key_name(key).0;
        let default = match key {
            AppKey::Named(_) => {
                return format!("{name} has no streams with a known volume right now")
            }
            AppKey::Focused => return self.focused_no_streams(),
            AppKey::DefaultSink => &self.default_sink,
            AppKey::DefaultSource => &self.default_source,
        };
        let what = if key == AppKey::DefaultSink {
            "sink"
        } else {
            "source"
        };
        match default {
            None => format!(
                "{name}: there is no default {what} (WirePlumber has chosen none{})",
                if what == "source" {
                    "; no microphone?"
                } else {
                    ""
                }
            ),
            Some(device) => format!(
                "{name}: the default {what} {device:?} has no node with a known volume right now"
            ),
        }
    }

    /// Answers every waiter whose streams all confirmed, vanished or were cancelled.
    pub(super) fn settle_waiters(&mut self) {
        let mut i = 0;
        while i < self.waiters.waiting.len() {
            let w = &self.waiters.waiting[i];
            let (mut vanished, mut cancelled) = (0, 0);
            let ready = w.needs.iter().all(|n| match self.nodes.get(&n.node) {
                None => {
                    vanished += 1;
                    true
                }
                Some(_) if n.cancelled => {
                    cancelled += 1;
                    true
                }
                Some(node) => node.control.confirmed >= n.generation,
            });
            if !ready {
                i += 1;
                continue;
            }
            let w = self.waiters.waiting.swap_remove(i);
            let name = self.waiter_name(&w).to_owned();
            let reply = if vanished == w.needs.len() {
                Err(Error::new(
                    ErrorKind::StreamVanished,
                    format!("the streams of {name} vanished before PipeWire confirmed the change"),
                ))
            } else if vanished + cancelled == w.needs.len() {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "PipeWire did not confirm the change to {name} within {} s \
                         (is the app stopped or hung?); the change was cancelled",
                        CONFIRM_TIMEOUT.as_secs()
                    ),
                ))
            } else {
                // Some streams changed: the reply shows each one as it is.
                Ok(Response::App(match &w.gone {
                    None => self.app_state(w.key),
                    Some(g) => {
                        let ids = w.needs.iter().map(|n| n.node).collect();
                        self.state_of(&g.name, &g.label, g.max_volume, ids)
                    }
                }))
            };
            self.waiters.done.push((w.id, reply));
        }
    }

    fn waiter_name<'a>(&'a self, w: &'a Waiter) -> &'a str {
        match &w.gone {
            Some(g) => &g.name,
            None => self.key_name(w.key).0,
        }
    }

    /// Replies for requests that finished waiting.
    pub fn take_completed(&mut self) -> Vec<(WaiterId, Reply)> {
        std::mem::take(&mut self.waiters.done)
    }
}
