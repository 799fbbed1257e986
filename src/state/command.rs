//! Requests against the state, and the per-stream change protocol.
//!
//! A volume request computes each stream's new volume from the stream's *target* (the
//! last requested value, not yet confirmed) or, when there is none, from what PipeWire
//! reported. That is what makes a burst of key repeats add up exactly. A stream with a
//! change in flight only gets its target moved; the target is sent when PipeWire confirms
//! the in-flight change. A request is answered when every stream it touched has confirmed
//! a generation at least as new as the one the request created, or has vanished.

use super::{Action, AppKey, Inflight, State, CONFIRM_TIMEOUT};
use crate::protocol::{Error, ErrorKind, MuteState, Reply, Request, Response};
use crate::volume::{self, Volume};
use std::time::Instant;

/// Identifies a request waiting for PipeWire; chosen by the caller.
pub type WaiterId = u64;

#[derive(Debug)]
struct Waiter {
    id: WaiterId,
    key: AppKey,
    /// (node, generation it must confirm)
    needs: Vec<(u32, u64)>,
    deadline: Instant,
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

fn same(a: &Volume, b: &Volume) -> bool {
    a.mute == b.mute && volume::same_channels(&a.channels, &b.channels)
}

impl State {
    /// Handles a request. `Some(reply)` answers it now; `None` means it waits for
    /// PipeWire and its reply will come out of [`State::take_completed`] under `waiter`.
    /// Actions to send are collected by [`State::take_actions`].
    pub fn command(&mut self, req: &Request, waiter: WaiterId, now: Instant) -> Option<Reply> {
        if !self.connected {
            return Some(Err(Error::new(
                ErrorKind::PipewireUnavailable,
                "not connected to PipeWire (is it running? the daemon keeps retrying)",
            )));
        }
        let name = match req {
            Request::List | Request::Subscribe | Request::Stats => {
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
                    "unknown app {name:?} (known: {}, @sink, @source)",
                    known.join(", ")
                ),
            )));
        };
        if !req.changes_volume() {
            return Some(Ok(Response::App(self.app_state(key))));
        }
        match self.plan(req, key, waiter, now) {
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
        // Each stream's starting point: its pending target, else what PipeWire reported.
        let bases: Vec<(u32, Volume)> = self
            .members(key)
            .into_iter()
            .filter_map(|id| {
                let n = &self.nodes[&id];
                let base = n
                    .control
                    .target
                    .clone()
                    .or_else(|| self.reported(id).cloned())?;
                (!base.channels.is_empty()).then_some((id, base))
            })
            .collect();
        if bases.is_empty() {
            return Err(Error::new(ErrorKind::NoStreams, self.why_no_streams(key)));
        }
        // One decision for the whole app, so its streams move together.
        let mute_all = match req {
            Request::Mute { state, .. } => Some(match state {
                MuteState::On => true,
                MuteState::Off => false,
                MuteState::Toggle => bases.iter().any(|(_, v)| !v.mute),
            }),
            _ => None,
        };
        let mut needs = Vec::new();
        for (id, base) in bases {
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
                Request::Get { .. } | Request::List | Request::Subscribe | Request::Stats => {}
            }
            if same(&next, &base) {
                continue;
            }
            let node = self.nodes.get_mut(&id).expect("member exists");
            node.control.generation += 1;
            let generation = node.control.generation;
            node.control.target = Some(next.clone());
            needs.push((id, generation));
            if node.control.inflight.is_none() {
                self.send(id, next, generation, now);
            }
        }
        if needs.is_empty() {
            return Ok(false);
        }
        self.waiters.waiting.push(Waiter {
            id: waiter,
            key,
            needs,
            deadline: now + CONFIRM_TIMEOUT,
        });
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

    /// Queues a set_param for a node (on its device route when it has one).
    fn send(&mut self, id: u32, volume: Volume, generation: u64, now: Instant) {
        let action = match self.route_of(id) {
            Some(r) => Action::SetRoute {
                device: r.device,
                index: r.index,
                route_device: r.route_device,
                volume: volume.clone(),
            },
            None => Action::SetNode {
                node: id,
                volume: volume.clone(),
            },
        };
        self.outbox.push(action);
        if let Some(node) = self.nodes.get_mut(&id) {
            node.control.inflight = Some(Inflight {
                volume,
                generation,
                since: now,
            });
        }
    }

    /// PipeWire reported a (possibly) new volume for a node.
    pub(super) fn reported_changed(&mut self, id: u32, now: Instant) {
        self.touch(id);
        let reported = self.reported(id).cloned();
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let c = &mut node.control;
        match &c.inflight {
            Some(f) if reported.as_ref().is_some_and(|r| same(r, &f.volume)) => {
                c.confirmed = f.generation;
                c.inflight = None;
                self.send_pending(id, now);
            }
            // Not (yet) our change: another mixer, or an older event. Keep waiting;
            // the deadline covers a confirmation that never comes.
            Some(_) => {}
            None => {
                // Another mixer moved the stream: future steps start from there.
                c.target = None;
                c.confirmed = c.generation;
            }
        }
        self.settle_waiters();
    }

    /// After a confirmation: sends the coalesced target, if a newer one is waiting.
    fn send_pending(&mut self, id: u32, now: Instant) {
        let reported = self.reported(id).cloned();
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let c = &mut node.control;
        if c.generation == c.confirmed {
            c.target = None;
            return;
        }
        let target = c.target.clone().expect("a newer generation has a target");
        if reported.as_ref().is_some_and(|r| same(r, &target)) {
            // Already there (the burst came back to where it started): PipeWire may not
            // report an unchanged value, so settle without sending.
            c.confirmed = c.generation;
            c.target = None;
            return;
        }
        let generation = c.generation;
        self.send(id, target, generation, now);
    }

    /// Answers every waiter whose streams all confirmed or vanished.
    pub(super) fn settle_waiters(&mut self) {
        let mut i = 0;
        while i < self.waiters.waiting.len() {
            let w = &self.waiters.waiting[i];
            let mut vanished = 0;
            let ready = w
                .needs
                .iter()
                .all(|&(id, generation)| match self.nodes.get(&id) {
                    None => {
                        vanished += 1;
                        true
                    }
                    Some(n) => n.control.confirmed >= generation,
                });
            if !ready {
                i += 1;
                continue;
            }
            let w = self.waiters.waiting.swap_remove(i);
            let reply = if vanished == w.needs.len() {
                Err(Error::new(
                    ErrorKind::StreamVanished,
                    format!(
                        "the streams of {} vanished before PipeWire confirmed the change",
                        self.key_name(w.key).0
                    ),
                ))
            } else {
                Ok(Response::App(self.app_state(w.key)))
            };
            self.waiters.done.push((w.id, reply));
        }
    }

    /// Replies for requests that finished waiting.
    pub fn take_completed(&mut self) -> Vec<(WaiterId, Reply)> {
        std::mem::take(&mut self.waiters.done)
    }

    /// Fails requests and gives up on changes that PipeWire did not confirm in time.
    pub fn expire(&mut self, now: Instant) {
        let (late, waiting): (Vec<Waiter>, Vec<Waiter>) = std::mem::take(&mut self.waiters.waiting)
            .into_iter()
            .partition(|w| w.deadline <= now);
        self.waiters.waiting = waiting;
        for w in late {
            self.waiters.done.push((
                w.id,
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "PipeWire did not confirm the change to {} within {} s",
                        self.key_name(w.key).0,
                        CONFIRM_TIMEOUT.as_secs()
                    ),
                )),
            ));
        }
        for node in self.nodes.values_mut() {
            let c = &mut node.control;
            if c.inflight
                .as_ref()
                .is_some_and(|f| f.since + CONFIRM_TIMEOUT <= now)
            {
                // Give up on this change; the next request starts from what PipeWire says.
                c.inflight = None;
                c.target = None;
                c.confirmed = c.generation;
            }
        }
        self.settle_waiters();
    }
}
