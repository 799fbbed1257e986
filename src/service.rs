//! The request service: the one way into the daemon.
//!
//! Every entrance turns its input into a [`Request`] and hands it here, and does no
//! more than that and turning the reply into its own output:
//! - a socket connection (`server`) awaits the reply with [`Service::call`];
//! - a sway `nop` binding, a Hyprland global shortcut's press and release, and each
//!   update of a held key's ramp (`compositor` → `keys`) have nobody to answer, so they
//!   use [`Service::submit`].
//!
//! Everything a request causes besides its reply happens here, once per request,
//! whichever entrance it came from:
//! - on-screen feedback for a volume change (the feedback task coalesces by app, so a
//!   ramp's updates replace one notification in place instead of stacking);
//! - a failure nobody waits for is logged (one line per distinct message in a row, so
//!   a held key on an app without streams does not flood the journal).
//!
//! What follows from a change in PipeWire, whoever made it, also lives here
//! ([`Service::publish`]): subscribers' event streams, the waybar signal and, with
//! `osd_other_mixers`, other mixers' changes on screen. Remembering an app's volume
//! happens in the PipeWire thread's state, which sees every change.
//!
//! The PipeWire side is behind [`Backend`], so the service and the entrances above it
//! are unit-tested with a recording fake (see the tests here and in `keys`).

use crate::config::Config;
use crate::logs;
use crate::osd::{self, Feedback};
use crate::protocol::{Event, Reply, Request, Response};
use crate::pw::{self, Command, PipewireThread};
use crate::state::Focus;
use crate::waybar;
use smol::channel::{Sender, TrySendError};
use std::cell::RefCell;
use std::rc::Rc;

/// Where requests go: the PipeWire thread, or a test's recording fake.
pub trait Backend {
    /// Hands `cmd` over; `false` when the other side is gone.
    fn send(&self, cmd: Command) -> bool;
}

impl Backend for PipewireThread {
    fn send(&self, cmd: Command) -> bool {
        PipewireThread::send(self, cmd).is_ok()
    }
}

/// The one request service (see the module docs).
pub struct Service {
    backend: Box<dyn Backend>,
    ex: Rc<smol::LocalExecutor<'static>>,
    feedback: Feedback,
    waybar: waybar::Signaller,
    subscribers: RefCell<Vec<Sender<Rc<str>>>>,
    /// The last message handed to the log (written or counted by `logs`).
    #[cfg(test)]
    last_logged: RefCell<String>,
}

impl Service {
    pub fn new(
        backend: Box<dyn Backend>,
        ex: Rc<smol::LocalExecutor<'static>>,
        feedback: Feedback,
        waybar: waybar::Signaller,
    ) -> Rc<Service> {
        Rc::new(Service {
            backend,
            ex,
            feedback,
            waybar,
            subscribers: RefCell::default(),
            #[cfg(test)]
            last_logged: RefCell::default(),
        })
    }

    /// Runs `request` and waits for its reply, with every side effect it has.
    pub async fn call(&self, request: Request) -> Reply {
        let changes = request.changes_volume();
        let (tx, rx) = smol::channel::bounded(1);
        if !self.backend.send(Command::Request { request, reply: tx }) {
            return pw::unavailable();
        }
        let reply = rx.recv().await.unwrap_or_else(|_| pw::unavailable());
        if let (true, Ok(Response::App(state))) = (changes, &reply) {
            // Also at the cap or the floor, where nothing moved: the level is shown
            // again, so the key visibly did something.
            self.feedback.daemon_changed(state);
        }
        reply
    }

    /// Runs `request` for an entrance that has nobody to answer (a key): the same as
    /// [`Service::call`], with a failure logged instead of returned.
    pub fn submit(self: &Rc<Self>, request: Request) {
        let me = self.clone();
        self.ex
            .spawn(async move {
                if let Err(e) = me.call(request).await {
                    me.log(logs::Kind::KeyRequest, format!("key: {e}"));
                }
            })
            .detach();
    }

    /// Logs what an entrance could not turn into a request, or a failure nobody waits
    /// for: rate-limited per kind (`logs`), as a peer can cause any number of them.
    pub fn log(&self, kind: logs::Kind, message: String) {
        #[cfg(test)]
        self.last_logged.replace(message.clone());
        logs::warn(kind, move || message);
    }

    /// What the compositor says has the focus (for `@focused`).
    pub fn focus(&self, focus: Focus) {
        self.backend.send(Command::Focus(focus));
    }

    /// A reload: each part below takes its new settings.
    pub fn configure(&self, config: &Config) {
        self.waybar.set_offset(config.waybar_signal);
        self.feedback.configure(osd::Settings::of(config));
        self.backend
            .send(Command::SetConfig(Box::new(config.clone())));
    }

    /// Asks the PipeWire side to stop (after its last change is handed over).
    pub fn shutdown(&self) {
        self.backend.send(Command::Shutdown);
    }

    /// A subscriber's queue: it gets every event from now on, and is dropped when its
    /// bounded queue is full (it fell behind).
    pub fn subscribe(&self, queue: Sender<Rc<str>>) {
        self.subscribers.borrow_mut().push(queue);
    }

    /// A change in PipeWire, whoever made it: to waybar, the OSD (other mixers' changes)
    /// and every subscriber.
    pub fn publish(&self, event: &Event) {
        if matches!(event, Event::App(_)) {
            self.waybar.notify();
        }
        self.feedback.event(event);
        if self.subscribers.borrow().is_empty() {
            return;
        }
        let line: Rc<str> = event.to_line().into();
        self.subscribers
            .borrow_mut()
            .retain(|s| match s.try_send(line.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    logs::warn(logs::Kind::Subscriber, || {
                        "dropping a subscriber that stopped reading".into()
                    });
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            });
    }
}

#[cfg(test)]
pub(crate) mod tests;
