//! Remembered volumes inside the state: when an app's volume is recorded, when it is
//! restored on a new stream, and the guard against WirePlumber's own restore.
//!
//! - **Record**: after every request that changes an app (its streams' new targets), and,
//!   for apps with `remember_other_mixers`, when another mixer changes one of its streams.
//! - **Restore**: a stream that appeared while the daemon was running (not one present at
//!   its start) gets its app's remembered level and mute as soon as its first Props
//!   report says how many channels it has, through the same per-stream change protocol as
//!   a request (coalescing, one `set_param` in flight), with no request waiting on it.
//! - **Guard**: WirePlumber's restore-stream also sets Props on new streams (0.5 always,
//!   0.4 when it has a value stored under the stream's key), racing ours. If another
//!   writer's change lands within [`RESTORE_GUARD`] of our restore, the remembered value
//!   is sent once more; that foreign change is not recorded either.

use super::control::same as same_volume;
use super::{AppKey, Class, State};
use crate::memory::{Memory, Remembered};
use crate::protocol::{Error, ErrorKind, Reply, Response};
use crate::volume::{self, Volume};
use std::time::{Duration, Instant};

/// How long after restoring a stream a different volume from elsewhere counts as
/// WirePlumber's restore racing ours. Both restores happen when the node appears (within
/// milliseconds of each other, even on a loaded machine); a second is far beyond that and
/// still short enough that a person moving the new stream in another mixer right away
/// is overruled at most once.
pub const RESTORE_GUARD: Duration = Duration::from_secs(1);

/// Where a stream stands with respect to remembered volumes.
#[derive(Debug, Clone, Default)]
pub(super) enum Restore {
    /// Leave it: present when the daemon started (its volume is whatever the user left),
    /// restored long enough ago, or changed by a request since.
    #[default]
    Leave,
    /// New: waiting for its first Props report and for a remembering app to match it.
    Pending,
    /// Restored to `volume`; a foreign change before `until` is undone once.
    Guard {
        volume: Volume,
        until: Instant,
        reasserted: bool,
    },
}

impl State {
    /// Starts with these remembered volumes (loaded from the state file).
    pub fn set_memory(&mut self, memory: Memory) {
        self.memory = memory;
    }

    /// The remembered volumes, when they changed since the last call (for the writer).
    pub fn take_memory(&mut self) -> Option<Memory> {
        std::mem::take(&mut self.memory_changed).then(|| self.memory.clone())
    }

    /// How a node that just appeared starts out: nodes reported by the daemon's very
    /// first sync are the user's as they are; anything later (also everything after a
    /// PipeWire restart, which re-creates every stream) is new.
    pub(super) fn initial_restore(&self) -> Restore {
        if self.synced_once {
            Restore::Pending
        } else {
            Restore::Leave
        }
    }

    /// The first app of a node that remembers volumes (apps are in name order, so a
    /// stream matching two remembering apps follows the first name, consistently).
    fn remembering_app(&self, id: u32) -> Option<usize> {
        let node = self.nodes.get(&id)?;
        node.apps
            .iter()
            .copied()
            .find(|&i| self.config.apps[i].remember)
    }

    /// Restores a pending node once its channels are known and it belongs to an app.
    pub(super) fn restore_if_due(&mut self, id: u32, now: Instant) {
        let Some(node) = self.nodes.get(&id) else {
            return;
        };
        if !matches!(node.restore, Restore::Pending)
            || !matches!(node.class, Class::StreamOut | Class::StreamIn)
        {
            return;
        }
        let Some(current) = node.reported.as_ref().filter(|v| !v.channels.is_empty()) else {
            return;
        };
        // Not (yet) an app's: a retitled stream may still join one later.
        let Some(i) = self.remembering_app(id) else {
            return;
        };
        let app = &self.config.apps[i];
        let target = self
            .memory
            .get(&app.name)
            .map(|r| r.apply_to(&current.channels, app.max_volume));
        let node = self.nodes.get_mut(&id).expect("checked above");
        let Some(target) = target else {
            node.restore = Restore::Leave;
            return;
        };
        node.restore = Restore::Guard {
            volume: target.clone(),
            until: now + RESTORE_GUARD,
            reasserted: false,
        };
        self.set_target(id, target, now);
    }

    /// After a Props report. `had_channels`: the node had reported channel volumes
    /// before (a new stream's first Props has none); `foreign`: no change of ours was in
    /// flight, so this one came from elsewhere.
    pub(super) fn after_report(
        &mut self,
        id: u32,
        had_channels: bool,
        foreign: bool,
        now: Instant,
    ) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if matches!(node.restore, Restore::Pending) {
            // Only its first channels: a later report is someone moving the stream, and
            // a stream that joins an app later is restored by the props update that
            // made it join (see `apply`), not at whatever report comes next.
            if !had_channels {
                self.restore_if_due(id, now);
            }
            return;
        }
        if !foreign || !had_channels {
            return;
        }
        let reported = node.reported.clone();
        if let Restore::Guard {
            volume,
            until,
            reasserted,
        } = &mut node.restore
        {
            if now < *until {
                let overwritten = reported.as_ref().is_some_and(|r| !same_volume(r, volume));
                if overwritten && !*reasserted {
                    *reasserted = true;
                    let v = volume.clone();
                    self.set_target(id, v, now);
                }
                return;
            }
            node.restore = Restore::Leave;
        }
        if let Some(i) = self.remembering_app(id) {
            if self.config.apps[i].remember_other_mixers {
                self.record(AppKey::Named(i));
            }
        }
    }

    /// A request changed `key`: remember where its streams are headed, and stop guarding
    /// or restoring them (the user's latest word wins over the remembered one).
    pub(super) fn after_request(&mut self, key: AppKey) {
        for id in self.members(key) {
            if let Some(n) = self.nodes.get_mut(&id) {
                n.restore = Restore::Leave;
            }
        }
        if let AppKey::Named(i) = key {
            if self.config.apps[i].remember {
                self.record(key);
            }
        }
    }

    /// Records an app's level (its loudest stream), balance and mute (all muted), from
    /// each stream's pending target or else its reported volume.
    fn record(&mut self, key: AppKey) {
        let AppKey::Named(i) = key else { return };
        let volumes: Vec<&Volume> = self
            .members(key)
            .into_iter()
            .filter_map(|id| {
                let n = self.nodes.get(&id)?;
                n.control.target.as_ref().or(n.reported.as_ref())
            })
            .filter(|v| !v.channels.is_empty())
            .collect();
        let Some(loudest) = volumes
            .iter()
            .max_by(|a, b| volume::level(&a.channels).total_cmp(&volume::level(&b.channels)))
        else {
            return;
        };
        let mut value = Remembered::of(loudest);
        value.muted = volumes.iter().all(|v| v.mute);
        let name = self.config.apps[i].name.clone();
        self.memory_changed |= self.memory.record(&name, value);
    }

    /// Moves a node's target through the change protocol, with no request waiting on it.
    fn set_target(&mut self, id: u32, target: Volume, now: Instant) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if node
            .reported
            .as_ref()
            .is_some_and(|r| same_volume(r, &target))
        {
            return;
        }
        let c = &mut node.control;
        c.generation += 1;
        c.target = Some(target);
        // Sent now unless a change is in flight or pacing holds it (then it goes out on
        // the confirmation, or at the next tick).
        self.dispatch(id, now);
    }

    /// The `forget` request: drops one app's remembered volume, or every app's.
    pub(super) fn forget(&mut self, app: Option<&str>) -> Reply {
        let forgotten = match app {
            None => self.memory.forget_all(),
            Some(name) if name.starts_with('@') => {
                return Err(Error::new(
                    ErrorKind::UnknownApp,
                    format!("{name} is never remembered (WirePlumber keeps device volumes)"),
                ));
            }
            Some(name) => {
                if self.config.app(name).is_none() && self.memory.get(name).is_none() {
                    return Err(Error::new(
                        ErrorKind::UnknownApp,
                        format!("unknown app {name:?}: neither configured nor remembered"),
                    ));
                }
                if self.memory.forget(name) {
                    vec![name.to_owned()]
                } else {
                    Vec::new()
                }
            }
        };
        self.memory_changed |= !forgotten.is_empty();
        Ok(Response::Forgotten(forgotten))
    }
}
