//! The per-stream change protocol: what goes to PipeWire, when, and what a timeout means.
//!
//! - At most one `set_param` is in flight per stream; newer requests move its *target*,
//!   sent when the in-flight one is confirmed by the stream's own Props event.
//! - Sends are paced per stream (a token bucket: [`PACE_BURST`] back to back, then
//!   `rate_limit` a second). A key press or repeat is never held back; a flood is, and
//!   the last target still lands exactly. WirePlumber saves state on every change a
//!   stream reports, so an unpaced flood costs it far more than it costs us.
//! - A change PipeWire does not confirm within [`CONFIRM_TIMEOUT`] is *cancelled*: the
//!   request fails and nothing may change because of it. But PipeWire cannot take a
//!   `set_param` back: a stopped stream client applies it when it runs again. So the
//!   stream is marked unresponsive (requests leave it alone until it reports anything),
//!   and if the cancelled value shows up later, the volume it had before is sent back.

use super::{Action, State, CONFIRM_TIMEOUT, PACE_BURST};
use crate::volume::{self, Volume};
use std::time::{Duration, Instant};

/// The change protocol's bookkeeping for one stream.
#[derive(Debug, Clone, Default)]
pub(super) struct Control {
    /// Bumped for every new target.
    pub(super) generation: u64,
    /// Highest generation settled: confirmed by PipeWire, overtaken, or cancelled.
    pub(super) confirmed: u64,
    /// Where the stream should end up, while that is not yet confirmed.
    pub(super) target: Option<Volume>,
    /// What was sent and not yet confirmed.
    pub(super) inflight: Option<Inflight>,
    /// A change timed out and the stream has reported nothing since.
    pub(super) unresponsive: bool,
    /// A cancelled change PipeWire may still deliver.
    late: Option<Late>,
    pace: Pace,
}

#[derive(Debug, Clone)]
pub(super) struct Inflight {
    pub(super) volume: Volume,
    pub(super) generation: u64,
    pub(super) since: Instant,
}

/// A cancelled change, and what to put back if it lands after all.
#[derive(Debug, Clone)]
struct Late {
    sent: Volume,
    restore: Volume,
}

/// A token bucket: `tokens` as of `at`.
#[derive(Debug, Clone, Default)]
struct Pace {
    tokens: f64,
    at: Option<Instant>,
}

impl Pace {
    fn tokens(&self, now: Instant, rate: f64) -> f64 {
        match self.at {
            None => PACE_BURST,
            Some(at) => (self.tokens + now.saturating_duration_since(at).as_secs_f64() * rate)
                .min(PACE_BURST),
        }
    }

    /// When the next send may go out (now or earlier: at once).
    fn ready_at(&self, now: Instant, rate: Option<f64>) -> Instant {
        let Some(rate) = rate else { return now };
        let missing = 1.0 - self.tokens(now, rate);
        if missing <= 0.0 {
            now
        } else {
            now + Duration::from_secs_f64(missing / rate)
        }
    }

    fn spend(&mut self, now: Instant, rate: Option<f64>) {
        if let Some(rate) = rate {
            self.tokens = self.tokens(now, rate) - 1.0;
            self.at = Some(now);
        }
    }
}

pub(super) fn same(a: &Volume, b: &Volume) -> bool {
    a.mute == b.mute && volume::same_channels(&a.channels, &b.channels)
}

impl State {
    /// Sends a stream's target if nothing is in flight and pacing allows; otherwise it
    /// goes out on the confirmation, or at the time [`State::next_deadline`] reports.
    pub(super) fn dispatch(&mut self, id: u32, now: Instant) {
        let rate = self.config.rate_limit;
        let reported = self.reported(id).cloned();
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let c = &mut node.control;
        if c.inflight.is_some() {
            return;
        }
        if c.generation == c.confirmed {
            c.target = None;
            return;
        }
        let Some(target) = c.target.clone() else {
            return;
        };
        if reported.as_ref().is_some_and(|r| same(r, &target)) {
            // Already there (a burst came back to where it started): PipeWire may not
            // report an unchanged value, so settle without sending.
            c.confirmed = c.generation;
            c.target = None;
            self.settle_waiters();
            return;
        }
        if c.pace.ready_at(now, rate) > now {
            return;
        }
        c.pace.spend(now, rate);
        c.inflight = Some(Inflight {
            volume: target.clone(),
            generation: c.generation,
            since: now,
        });
        let action = match self.route_of(id) {
            Some(r) => Action::SetRoute {
                device: r.device,
                index: r.index,
                route_device: r.route_device,
                volume: target,
            },
            None => Action::SetNode {
                node: id,
                volume: target,
            },
        };
        self.outbox.push(action);
    }

    /// PipeWire reported a (possibly) new volume for a node.
    pub(super) fn reported_changed(&mut self, id: u32, now: Instant) {
        self.touch(id);
        let reported = self.reported(id).cloned();
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let c = &mut node.control;
        // Whatever it says, the stream is alive again.
        c.unresponsive = false;
        match &c.inflight {
            Some(f) if reported.as_ref().is_some_and(|r| same(r, &f.volume)) => {
                c.confirmed = f.generation;
                c.inflight = None;
                // Sent after the cancelled change, on the same connection: had that one
                // landed, it would have been reported first.
                c.late = None;
            }
            // Not (yet) our change: another mixer, or an older event. Keep waiting;
            // the deadline covers a confirmation that never comes.
            Some(_) => {}
            None => {
                let late = c.late.take();
                match late {
                    Some(l) if reported.as_ref().is_some_and(|r| same(r, &l.sent)) => {
                        // A cancelled change landed after all: undo it, unless a newer
                        // request already set a target of its own.
                        if c.target.is_none() {
                            c.generation += 1;
                            c.target = Some(l.restore);
                        }
                    }
                    other => {
                        c.late = other;
                        // Another mixer moved the stream: future steps start from there.
                        c.target = None;
                        c.confirmed = c.generation;
                    }
                }
            }
        }
        self.dispatch(id, now);
        self.settle_waiters();
    }

    /// Gives up on a stream's unconfirmed changes: see the module docs.
    pub(super) fn cancel(&mut self, id: u32) {
        let reported = self.reported(id).cloned();
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let c = &mut node.control;
        if let Some(f) = c.inflight.take() {
            c.unresponsive = true;
            // Keep the oldest restore point: that is the volume before any of this.
            let restore = c.late.take().map(|l| l.restore).or(reported);
            c.late = restore.map(|restore| Late {
                sent: f.volume,
                restore,
            });
        }
        c.target = None;
        let (after, upto) = (c.confirmed, c.generation);
        c.confirmed = c.generation;
        self.waiters.cancel_needs(id, after, upto);
    }

    /// Runs what is due at `now`: cancels changes and fails requests that PipeWire did
    /// not confirm in time, and sends targets that pacing held back.
    pub fn tick(&mut self, now: Instant) {
        let late: Vec<u32> = self
            .nodes
            .iter()
            .filter(|(_, n)| {
                n.control
                    .inflight
                    .as_ref()
                    .is_some_and(|f| f.since + CONFIRM_TIMEOUT <= now)
            })
            .map(|(&id, _)| id)
            .collect();
        for id in late {
            self.cancel(id);
        }
        // A request out of time takes its streams' pending changes with it, so that
        // nothing it asked for can land after its error reply.
        for (id, generation) in self.waiters.overdue(now) {
            if self
                .nodes
                .get(&id)
                .is_some_and(|n| n.control.confirmed < generation)
            {
                self.cancel(id);
            }
        }
        self.settle_waiters();
        let held: Vec<u32> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.control.inflight.is_none() && n.control.target.is_some())
            .map(|(&id, _)| id)
            .collect();
        for id in held {
            self.dispatch(id, now);
        }
    }

    /// When [`State::tick`] must run next, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        let rate = self.config.rate_limit;
        let mut next = self.waiters.next_deadline();
        for n in self.nodes.values() {
            let c = &n.control;
            let due = match &c.inflight {
                Some(f) => Some(f.since + CONFIRM_TIMEOUT),
                // Held back by pacing: due when a token is there. Its time is in the past
                // only if the stream could have been sent to already, which `dispatch`
                // does at once; so this never asks for a busy loop.
                None if c.target.is_some() => c.pace.at.map(|at| c.pace.ready_at(at, rate)),
                None => None,
            };
            next = match (next, due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        next
    }
}
