//! Keys pressed in the compositor, turned into requests: one-off commands (sway's
//! `nop audio-daemon up vesktop`) and held keys (Hyprland global shortcuts, sway
//! `press`/`release` binds) that ramp while held.
//!
//! An entrance like the socket: every request, a ramp's updates included, goes to the
//! one request service (`service`), which has all of a request's side effects (the
//! OSD, logging a failure). Requests reach the PipeWire thread like a client's, so
//! coalescing applies: a ramp tick only moves each stream's target and at most one
//! `set_param` per stream is in flight. The compositors (`compositor`) sit above and
//! only translate their events into [`KeyCommand`]s; a reload pushes new keys down
//! ([`Keys::set_config`]).

pub mod command;
pub mod ramp;

pub use command::{CommandError, KeyCommand};

use crate::config::keys::{Hold, Key, RampConfig};
use crate::config::Config;
use crate::logs;
use crate::protocol::Request;
use crate::service::Service;
use ramp::Ramp;
use smol::channel::{Receiver, Sender};
use smol::future::FutureExt;
use smol::Timer;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Instant;

/// The keys of the current config, and the ones held right now.
pub struct Keys {
    service: Rc<Service>,
    ex: Rc<smol::LocalExecutor<'static>>,
    keys: RefCell<BTreeMap<String, Key>>,
    ramp: RefCell<RampConfig>,
    /// Held ramping keys: the sender takes the release time. The number tells a ramp
    /// from a later one of the same key (press, release, press again).
    held: RefCell<HashMap<String, (u64, Sender<Instant>)>>,
    presses: std::cell::Cell<u64>,
}

impl Keys {
    pub fn new(
        service: Rc<Service>,
        ex: Rc<smol::LocalExecutor<'static>>,
        config: &Config,
    ) -> Rc<Keys> {
        let k = Rc::new(Keys {
            service,
            ex,
            keys: RefCell::default(),
            ramp: RefCell::new(config.ramp),
            held: RefCell::default(),
            presses: Default::default(),
        });
        k.set_config(config);
        k
    }

    /// Follows a reload. Held keys keep ramping with the settings they started with.
    pub fn set_config(&self, config: &Config) {
        *self.keys.borrow_mut() = config
            .keys
            .iter()
            .map(|(id, k)| (id.as_str().to_owned(), k.clone()))
            .collect();
        *self.ramp.borrow_mut() = config.ramp;
    }

    /// (id, description) of every key, for registering them as global shortcuts.
    pub fn described(&self) -> Vec<(String, String)> {
        self.keys
            .borrow()
            .iter()
            .map(|(id, k)| (id.clone(), describe(&k.request)))
            .collect()
    }

    /// A bound command arrived at `at`.
    pub fn command(self: &Rc<Self>, cmd: Result<KeyCommand, CommandError>, at: Instant) {
        match cmd {
            Ok(KeyCommand::Request(r)) => self.send(r),
            Ok(KeyCommand::Press(id)) => self.press(&id, at),
            Ok(KeyCommand::Release(id)) => self.release(&id, at),
            Err(e) => self.log(format!("ignoring a binding: {e}")),
        }
    }

    /// A key went down: its action now, and a ramp while it stays down.
    pub fn press(self: &Rc<Self>, id: &str, at: Instant) {
        let Some(key) = self.keys.borrow().get(id).cloned() else {
            self.log(format!("no key {id:?} in the config's \"keys\""));
            return;
        };
        if key.hold == Hold::Once {
            self.send(key.request);
            return;
        }
        // Compositors repeat a held key's press (sway's key repeat, Hyprland's
        // repeating binds): the ramp already running covers it.
        if self.held.borrow().contains_key(id) {
            return;
        }
        self.send(key.request.clone());
        let (tx, rx) = smol::channel::bounded(1);
        let n = self.presses.get() + 1;
        self.presses.set(n);
        self.held.borrow_mut().insert(id.to_owned(), (n, tx));
        let ramp = Ramp::new(at, &self.ramp.borrow());
        let me = self.clone();
        let id = id.to_owned();
        self.ex
            .spawn(async move {
                me.run_ramp(key.request, ramp, rx).await;
                let mut held = me.held.borrow_mut();
                if held.get(&id).is_some_and(|(m, _)| *m == n) {
                    held.remove(&id);
                }
            })
            .detach();
    }

    /// A key went up at `at`: its ramp stops there.
    pub fn release(&self, id: &str, at: Instant) {
        if let Some((_, tx)) = self.held.borrow_mut().remove(id) {
            let _ = tx.try_send(at);
        }
    }

    /// The compositor went away: no release will come for keys held now.
    pub fn release_all(&self) {
        let now = Instant::now();
        for (_, (_, tx)) in self.held.borrow_mut().drain() {
            let _ = tx.try_send(now);
        }
    }

    async fn run_ramp(
        self: &Rc<Self>,
        first: Request,
        mut ramp: Ramp,
        released: Receiver<Instant>,
    ) {
        let step = |amount: f64| match &first {
            Request::Up { app, .. } => Request::Up {
                app: app.clone(),
                amount: Some(amount),
            },
            Request::Down { app, .. } => Request::Down {
                app: app.clone(),
                amount: Some(amount),
            },
            other => other.clone(),
        };
        let mut now = Instant::now();
        loop {
            let tick = ramp.next_tick(now);
            let release = async { released.recv().await.ok() }
                .or(async {
                    Timer::at(tick).await;
                    None
                })
                .await;
            now = Instant::now();
            let (t, last) = match release {
                Some(at) => (at.min(now), true),
                None if released.is_closed() => (now, true),
                None => (now, ramp.expired(now)),
            };
            if let Some(amount) = ramp.advance(t) {
                self.send(step(amount));
            }
            if last {
                return;
            }
        }
    }

    /// A key's request: to the request service, which logs a failure (nobody waits).
    fn send(&self, request: Request) {
        self.service.submit(request);
    }

    /// What a binding or shortcut got wrong (a peer can send any number of them).
    fn log(&self, message: String) {
        self.service.log(logs::Kind::Binding, message);
    }
}

/// What a key does, for the compositor's list of shortcuts (`hyprctl globalshortcuts`).
fn describe(r: &Request) -> String {
    let w = r.to_wire();
    let app = w.app.unwrap_or_default();
    match w.amount {
        Some(a) => format!("audio-daemon: {} {app} {a}", w.action),
        None => format!("audio-daemon: {} {app}", w.action),
    }
}

#[cfg(test)]
mod tests;
