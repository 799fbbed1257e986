//! The request service with a recording fake of the PipeWire side: what each request
//! reaches PipeWire as, and which side effects it has. `keys::tests` uses the same
//! fake to show that keys go the same way as socket requests.

use super::*;
use crate::config::OsdKind;
use crate::osd::Origin;
use crate::protocol::{AppState, Error, ErrorKind, MuteState};
use smol::channel::Receiver;
use std::collections::BTreeMap;

/// Records every command and answers requests like a tiny mixer: one stream per app,
/// 50 % to start, capped at 100; an app named `nothing` has no streams.
#[derive(Default)]
pub(crate) struct Fake {
    pub seen: RefCell<Vec<Request>>,
    volumes: RefCell<BTreeMap<String, (f64, bool)>>,
}

impl Fake {
    fn answer(&self, request: &Request) -> Reply {
        let app = match request {
            Request::Up { app, .. }
            | Request::Down { app, .. }
            | Request::Set { app, .. }
            | Request::Mute { app, .. }
            | Request::Get { app } => app.clone(),
            _ => return Ok(Response::Apps(Vec::new())),
        };
        if app == "nothing" {
            return Err(Error::new(ErrorKind::NoStreams, "nothing has no streams"));
        }
        let mut volumes = self.volumes.borrow_mut();
        let (volume, muted) = volumes.entry(app.clone()).or_insert((50.0, false));
        match request {
            Request::Up { amount, .. } => *volume = (*volume + amount.unwrap_or(5.0)).min(100.0),
            Request::Down { amount, .. } => *volume = (*volume - amount.unwrap_or(5.0)).max(0.0),
            Request::Set { volume: v, .. } => *volume = *v,
            Request::Mute { state, .. } => {
                *muted = match state {
                    MuteState::On => true,
                    MuteState::Off => false,
                    MuteState::Toggle => !*muted,
                }
            }
            _ => {}
        }
        Ok(Response::App(AppState {
            app,
            label: String::new(),
            volume: Some(*volume),
            muted: *muted,
            max_volume: 100.0,
            streams: Vec::new(),
            window: None,
        }))
    }
}

/// The fake behind an `Rc`, so a test keeps a handle on what it recorded.
pub(crate) struct Shared(pub Rc<Fake>);

impl Backend for Shared {
    fn send(&self, cmd: Command) -> bool {
        if let Command::Request { request, reply } = cmd {
            let answer = self.0.answer(&request);
            self.0.seen.borrow_mut().push(request);
            let _ = reply.try_send(answer);
        }
        true
    }
}

/// A service on `ex` with the fake behind it and the OSD on; what the OSD would show
/// arrives on the receiver.
pub(crate) fn service(
    ex: &Rc<smol::LocalExecutor<'static>>,
) -> (Rc<Service>, Rc<Fake>, Receiver<(AppState, Origin)>) {
    let fake = Rc::new(Fake::default());
    let (feedback, shown) = Feedback::recording(osd::Settings {
        kind: Some(OsdKind::Notify),
        timeout_ms: 1000,
        other_mixers: false,
    });
    let waybar = waybar::Signaller::spawn(None).unwrap();
    let s = Service::new(Box::new(Shared(fake.clone())), ex.clone(), feedback, waybar);
    (s, fake, shown)
}

/// (app, volume, muted) of everything the OSD was asked to show so far.
pub(crate) fn shown(rx: &Receiver<(AppState, Origin)>) -> Vec<(String, f64, bool)> {
    let mut out = Vec::new();
    while let Ok((s, origin)) = rx.try_recv() {
        assert_eq!(origin, Origin::Daemon);
        out.push((s.app, s.volume.unwrap_or(-1.0), s.muted));
    }
    out
}

fn up(app: &str, amount: Option<f64>) -> Request {
    Request::Up {
        app: app.into(),
        amount,
    }
}

#[test]
fn a_change_is_answered_and_shown_once() {
    let ex = Rc::new(smol::LocalExecutor::new());
    let (s, fake, rx) = service(&ex);
    let reply = smol::block_on(ex.run(s.call(up("vesktop", Some(10.0)))));
    assert!(matches!(reply, Ok(Response::App(ref a)) if a.volume == Some(60.0)));
    assert_eq!(*fake.seen.borrow(), vec![up("vesktop", Some(10.0))]);
    assert_eq!(shown(&rx), vec![("vesktop".into(), 60.0, false)]);
}

#[test]
fn a_read_shows_nothing_and_a_failure_shows_nothing() {
    let ex = Rc::new(smol::LocalExecutor::new());
    let (s, _, rx) = service(&ex);
    smol::block_on(ex.run(async {
        s.call(Request::Get {
            app: "vesktop".into(),
        })
        .await
        .unwrap();
        assert!(s.call(up("nothing", None)).await.is_err());
    }));
    assert_eq!(shown(&rx), vec![]);
}

#[test]
fn a_submitted_request_has_the_same_effects_and_its_failure_is_logged() {
    let ex = Rc::new(smol::LocalExecutor::new());
    let (s, fake, rx) = service(&ex);
    s.submit(up("vesktop", None));
    s.submit(up("nothing", None));
    while ex.try_tick() {}
    assert_eq!(
        *fake.seen.borrow(),
        vec![up("vesktop", None), up("nothing", None)]
    );
    assert_eq!(shown(&rx), vec![("vesktop".into(), 55.0, false)]);
    assert_eq!(
        *s.last_logged.borrow(),
        "key: no_streams: nothing has no streams"
    );
}

#[test]
fn a_gone_pipewire_side_is_an_error_not_a_hang() {
    struct Gone;
    impl Backend for Gone {
        fn send(&self, _: Command) -> bool {
            false
        }
    }
    let ex = Rc::new(smol::LocalExecutor::new());
    let (feedback, rx) = Feedback::recording(osd::Settings {
        kind: Some(OsdKind::Notify),
        timeout_ms: 1000,
        other_mixers: false,
    });
    let s = Service::new(
        Box::new(Gone),
        ex.clone(),
        feedback,
        waybar::Signaller::spawn(None).unwrap(),
    );
    let reply = smol::block_on(ex.run(s.call(up("vesktop", None))));
    assert_eq!(reply.unwrap_err().kind, ErrorKind::Busy);
    assert!(rx.try_recv().is_err());
}
