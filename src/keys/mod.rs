//! Keys pressed in the compositor, turned into requests: one-off commands (sway's
//! `nop audio-daemon up vesktop`) and held keys (Hyprland global shortcuts, sway
//! `press`/`release` binds) that ramp while held.
//!
//! Requests go to the PipeWire thread like a client's, so coalescing applies: a ramp
//! tick only moves each stream's target and at most one `set_param` per stream is in
//! flight. Nobody waits for the replies (a key has no one to answer); a small task per
//! request logs a failure, once per distinct message in a row, so a held key on an app
//! without streams does not flood the journal.

pub mod ramp;

use crate::compositor::nop::{KeyCommand, NopError};
use crate::config::keys::{Hold, Key, RampConfig};
use crate::config::Config;
use crate::protocol::Request;
use crate::pw::Command;
use crate::server::Hub;
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
    hub: Rc<Hub>,
    ex: Rc<smol::LocalExecutor<'static>>,
    keys: RefCell<BTreeMap<String, Key>>,
    ramp: RefCell<RampConfig>,
    /// Held ramping keys: the sender takes the release time. The number tells a ramp
    /// from a later one of the same key (press, release, press again).
    held: RefCell<HashMap<String, (u64, Sender<Instant>)>>,
    presses: std::cell::Cell<u64>,
    last_error: RefCell<String>,
    /// Hyprland's global shortcuts, when the daemon registers them (see `shortcuts`).
    shortcuts: RefCell<Option<crate::shortcuts::Handle>>,
}

impl Keys {
    pub fn new(hub: Rc<Hub>, ex: Rc<smol::LocalExecutor<'static>>, config: &Config) -> Rc<Keys> {
        let k = Rc::new(Keys {
            hub,
            ex,
            keys: RefCell::default(),
            ramp: RefCell::new(config.ramp),
            held: RefCell::default(),
            presses: Default::default(),
            last_error: RefCell::default(),
            shortcuts: RefCell::default(),
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
        if let Some(h) = self.shortcuts.borrow().as_ref() {
            h.set_keys(self.described());
        }
    }

    /// (id, description) of every key, for registering them as global shortcuts.
    pub fn described(&self) -> Vec<(String, String)> {
        self.keys
            .borrow()
            .iter()
            .map(|(id, k)| (id.clone(), describe(&k.request)))
            .collect()
    }

    /// Keeps the shortcut registrations in step with the config from now on.
    pub fn set_shortcuts(&self, handle: crate::shortcuts::Handle) {
        *self.shortcuts.borrow_mut() = Some(handle);
    }

    /// A bound command arrived at `at`.
    pub fn command(self: &Rc<Self>, cmd: Result<KeyCommand, NopError>, at: Instant) {
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

    /// Sends a request to the PipeWire thread; a failure is logged, not answered.
    fn send(self: &Rc<Self>, request: Request) {
        let (tx, rx) = smol::channel::bounded(1);
        if !self.hub.send(Command::Request { request, reply: tx }) {
            return;
        }
        let me = self.clone();
        self.ex
            .spawn(async move {
                if let Ok(Err(e)) = rx.recv().await {
                    me.log(format!("key: {e}"));
                }
            })
            .detach();
    }

    fn log(&self, message: String) {
        let mut last = self.last_error.borrow_mut();
        if *last != message {
            eprintln!("audio-daemon: {message}");
            *last = message;
        }
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
