//! State transitions without PipeWire: updates in, replies and actions out.

use super::*;
use crate::protocol::{ErrorKind, MuteState, Reply, Request, Response};
use crate::volume;
use crate::volume::linear_from_percent;
use view::round2;

pub(super) fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(super) fn stream(app_name: &str, client: u32) -> Props {
    props(&[
        ("media.class", "Stream/Output/Audio"),
        ("application.name", app_name),
        ("media.name", "WEBRTC VoiceEngine"),
        ("client.id", &client.to_string()),
    ])
}

pub(super) fn vol(pct: f64, mute: bool) -> Volume {
    Volume {
        channels: vec![linear_from_percent(pct); 2],
        mute,
    }
}

pub(super) struct T {
    pub(super) s: State,
    pub(super) now: Instant,
    next_waiter: WaiterId,
}

impl T {
    pub(super) fn new() -> T {
        let mut s = State::new(Config::default());
        s.set_connected();
        T {
            s,
            now: Instant::now(),
            next_waiter: 1,
        }
    }

    pub(super) fn add(&mut self, id: u32, p: Props, pct: f64) {
        self.s.apply(Update::Node { id, props: p }, self.now);
        self.report(id, vol(pct, false));
    }

    pub(super) fn report(&mut self, id: u32, v: Volume) {
        self.s.apply(
            Update::NodeVolume {
                id,
                channels: Some(v.channels),
                mute: Some(v.mute),
            },
            self.now,
        );
    }

    /// Sends a request; returns the waiter id (or the immediate reply).
    pub(super) fn req(&mut self, r: Request) -> Result<WaiterId, Reply> {
        let id = self.next_waiter;
        self.next_waiter += 1;
        match self.s.command(&r, id, self.now) {
            Some(reply) => Err(reply),
            None => Ok(id),
        }
    }

    /// Plays PipeWire: applies every pending action and reports it back.
    pub(super) fn pipewire_applies(&mut self) -> usize {
        let mut n = 0;
        loop {
            let actions = self.s.take_actions();
            if actions.is_empty() {
                return n;
            }
            for a in actions {
                n += 1;
                match a {
                    Action::SetNode { node, volume } => self.report(node, volume),
                    Action::SetRoute { .. } => panic!("unexpected route action"),
                }
            }
        }
    }

    pub(super) fn level(&self, id: u32) -> f64 {
        round2(volume::level(&self.s.reported(id).unwrap().channels))
    }
}

pub(super) fn up(app: &str) -> Request {
    Request::Up {
        app: app.into(),
        amount: None,
    }
}

pub(super) fn ok_app(reply: &Reply) -> &AppState {
    match reply {
        Ok(Response::App(a)) => a,
        other => panic!("expected an app reply, got {other:?}"),
    }
}

#[test]
fn streams_match_apps_through_node_or_client_props() {
    let mut t = T::new();
    t.s.apply(
        Update::Client {
            id: 7,
            props: props(&[("application.name", "spotify")]),
        },
        t.now,
    );
    t.add(
        50,
        props(&[
            ("media.class", "Stream/Output/Audio"),
            ("node.name", "audio-src"),
            ("client.id", "7"),
        ]),
        80.0,
    );
    t.add(51, stream("vesktop", 8), 60.0);
    // A capture stream of the same app is not what "Discord louder" means.
    let mut mic = stream("vesktop", 8);
    mic.insert("media.class".into(), "Stream/Input/Audio".into());
    t.add(52, mic, 60.0);

    let music = t.s.app_state(t.s.resolve("music").unwrap());
    assert_eq!(music.streams.iter().map(|s| s.id).collect::<Vec<_>>(), [50]);
    assert_eq!(music.volume, Some(80.0));
    let vesktop = t.s.app_state(t.s.resolve("vesktop").unwrap());
    assert_eq!(
        vesktop.streams.iter().map(|s| s.id).collect::<Vec<_>>(),
        [51]
    );
    assert_eq!(vesktop.label, "Discord");
}

#[test]
fn client_appearing_later_rematches() {
    let mut t = T::new();
    t.add(
        50,
        props(&[("media.class", "Stream/Output/Audio"), ("client.id", "7")]),
        80.0,
    );
    let key = t.s.resolve("music").unwrap();
    assert!(t.s.app_state(key).streams.is_empty());
    t.s.apply(
        Update::Client {
            id: 7,
            props: props(&[("application.process.binary", ".spotify-wrapped")]),
        },
        t.now,
    );
    assert_eq!(t.s.app_state(key).streams.len(), 1);
}

#[test]
fn up_waits_for_pipewire_then_replies() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    let w = t.req(up("vesktop")).unwrap();
    let actions = t.s.take_actions();
    assert_eq!(actions.len(), 1);
    let Action::SetNode { node, volume } = &actions[0] else {
        panic!()
    };
    assert_eq!(*node, 41);
    assert_eq!(round2(volume::level(&volume.channels)), 55.0);
    assert!(
        t.s.take_completed().is_empty(),
        "no reply before PipeWire confirms"
    );
    t.report(41, volume.clone());
    let done = t.s.take_completed();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, w);
    assert_eq!(ok_app(&done[0].1).volume, Some(55.0));
}

#[test]
fn bursts_coalesce_and_land_exactly() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    let waiters: Vec<WaiterId> = (0..10).map(|_| t.req(up("vesktop")).unwrap()).collect();
    // At the cap already (as a target): nothing more to do, answered at once.
    assert!(t.req(up("vesktop")).is_err());
    // Only the first change goes out; the other 9 just move the target.
    assert_eq!(t.s.take_actions().len(), 1);
    t.report(41, vol(55.0, false));
    // The confirmation releases exactly one more set_param, carrying the final target.
    let actions = t.s.take_actions();
    assert_eq!(actions.len(), 1);
    let Action::SetNode { volume, .. } = &actions[0] else {
        panic!()
    };
    assert_eq!(round2(volume::level(&volume.channels)), 100.0);
    t.report(41, volume.clone());
    let done = t.s.take_completed();
    assert_eq!(done.len(), waiters.len());
    assert!(done.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(t.level(41), 100.0, "capped at the default 100 %");
}

#[test]
fn all_streams_of_an_app_move_together_with_balance() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    t.s.apply(
        Update::Node {
            id: 42,
            props: stream("vesktop", 8),
        },
        t.now,
    );
    let unbalanced = Volume {
        channels: vec![linear_from_percent(40.0), linear_from_percent(20.0)],
        mute: false,
    };
    t.report(42, unbalanced.clone());
    t.req(Request::Down {
        app: "vesktop".into(),
        amount: Some(10.0),
    })
    .unwrap();
    assert_eq!(t.pipewire_applies(), 2);
    assert_eq!(t.level(41), 40.0);
    assert_eq!(t.level(42), 30.0);
    let ch = &t.s.reported(42).unwrap().channels;
    let before = unbalanced.channels[1] / unbalanced.channels[0];
    assert!((ch[1] / ch[0] - before).abs() < 1e-5);
}

#[test]
fn mute_toggle_is_one_decision_for_the_app() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    t.add(42, stream("vesktop", 8), 50.0);
    t.report(42, vol(50.0, true));
    let mute = |state| Request::Mute {
        app: "vesktop".into(),
        state,
    };
    // One stream unmuted: toggle mutes all.
    t.req(mute(MuteState::Toggle)).unwrap();
    t.pipewire_applies();
    let key = t.s.resolve("vesktop").unwrap();
    assert!(t.s.app_state(key).muted);
    t.req(mute(MuteState::Toggle)).unwrap();
    t.pipewire_applies();
    assert!(t.s.app_state(key).streams.iter().all(|s| !s.muted));
    // Explicit off when already off: nothing to do, immediate reply.
    let reply = t.req(mute(MuteState::Off)).unwrap_err();
    assert!(!ok_app(&reply).muted);
    assert!(t.s.take_actions().is_empty());
}

#[test]
fn errors_change_nothing() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    let kind = |r: Result<WaiterId, Reply>| r.unwrap_err().unwrap_err().kind;
    assert_eq!(kind(t.req(up("nope"))), ErrorKind::UnknownApp);
    assert_eq!(kind(t.req(up("youtube"))), ErrorKind::NoStreams);
    assert!(t.s.take_actions().is_empty());
    assert_eq!(t.level(41), 50.0);

    let mut off = State::new(Config::default());
    let r = off.command(&up("vesktop"), 1, t.now).unwrap();
    assert_eq!(r.unwrap_err().kind, ErrorKind::PipewireUnavailable);
}

#[test]
fn a_stream_vanishing_mid_command_is_reported() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    t.req(up("vesktop")).unwrap();
    t.s.apply(Update::NodeRemoved(41), t.now);
    let done = t.s.take_completed();
    assert_eq!(
        done[0].1.as_ref().unwrap_err().kind,
        ErrorKind::StreamVanished
    );

    // With a second stream surviving, the request succeeds for what is left. (The new
    // streams come back at vesktop's remembered 55 %, the target of the first request.)
    t.add(43, stream("vesktop", 8), 50.0);
    t.add(44, stream("vesktop", 8), 50.0);
    t.pipewire_applies();
    t.req(up("vesktop")).unwrap();
    t.s.apply(Update::NodeRemoved(43), t.now);
    assert!(t.s.take_completed().is_empty());
    t.pipewire_applies();
    let done = t.s.take_completed();
    let app = ok_app(&done[0].1);
    assert_eq!(app.streams.len(), 1);
    assert_eq!(app.volume, Some(60.0));
}

#[test]
fn external_changes_reset_the_base() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    t.req(up("vesktop")).unwrap();
    t.pipewire_applies();
    // wpctl set-volume 41 0.2
    t.report(41, vol(20.0, false));
    t.req(up("vesktop")).unwrap();
    t.pipewire_applies();
    assert_eq!(t.level(41), 25.0);
}

#[test]
fn disconnect_fails_waiters_and_forgets_everything() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    t.req(up("vesktop")).unwrap();
    t.s.apply(Update::Disconnected, t.now);
    let done = t.s.take_completed();
    assert_eq!(
        done[0].1.as_ref().unwrap_err().kind,
        ErrorKind::PipewireUnavailable
    );
    assert!(!t.s.connected());
    assert_eq!(t.s.node_count(), 0);
}

#[test]
fn default_sink_and_its_device_route() {
    let mut t = T::new();
    let sink = props(&[
        ("media.class", "Audio/Sink"),
        ("node.name", "alsa_output.pci"),
        ("device.id", "30"),
        ("card.profile.device", "4"),
    ]);
    t.s.apply(
        Update::Node {
            id: 60,
            props: sink,
        },
        t.now,
    );
    t.s.apply(
        Update::Default {
            sink: true,
            name: Some("alsa_output.pci".into()),
        },
        t.now,
    );
    t.s.apply(
        Update::Route {
            device: 30,
            index: 2,
            route_device: 4,
            volume: vol(70.0, false),
        },
        t.now,
    );
    let state = t.s.app_state(AppKey::DefaultSink);
    assert_eq!(state.app, "@sink");
    assert_eq!(state.volume, Some(70.0));
    t.req(Request::Set {
        app: "@sink".into(),
        volume: 30.0,
    })
    .unwrap();
    let actions = t.s.take_actions();
    let Action::SetRoute {
        device,
        index,
        route_device,
        volume,
    } = &actions[0]
    else {
        panic!("{actions:?}")
    };
    assert_eq!((*device, *index, *route_device), (30, 2, 4));
    t.s.apply(
        Update::Route {
            device: 30,
            index: 2,
            route_device: 4,
            volume: volume.clone(),
        },
        t.now,
    );
    let done = t.s.take_completed();
    assert_eq!(ok_app(&done[0].1).volume, Some(30.0));
}

#[test]
fn changes_are_announced_once() {
    let mut t = T::new();
    t.s.take_changes();
    t.add(41, stream("vesktop", 8), 50.0);
    let changes = t.s.take_changes();
    assert_eq!(
        changes.iter().map(|c| c.app.as_str()).collect::<Vec<_>>(),
        ["vesktop"]
    );
    t.report(41, vol(50.0, false));
    assert!(
        t.s.take_changes().is_empty(),
        "same volume again is no change"
    );
    t.report(41, vol(60.0, false));
    assert_eq!(t.s.take_changes()[0].volume, Some(60.0));
    t.s.apply(Update::NodeRemoved(41), t.now);
    assert!(t.s.take_changes()[0].streams.is_empty());
}

#[test]
fn reload_rematches_streams() {
    let mut t = T::new();
    t.add(41, stream("mpv", 8), 50.0);
    let cfg = Config::parse(
        r#"{"apps":{"video":{"match":[{"application.name":"mpv"}]}}}"#,
        std::path::Path::new("x"),
    )
    .unwrap();
    t.s.set_config(cfg);
    let key = t.s.resolve("video").unwrap();
    assert_eq!(t.s.app_state(key).streams.len(), 1);
    assert!(t.s.take_changes().iter().any(|c| c.app == "video"));
}

#[test]
fn a_missing_default_is_named_in_the_error() {
    // WirePlumber 0.5 with no microphone sets no default source at all.
    let mut t = T::new();
    let error = |r: Result<WaiterId, Reply>| r.unwrap_err().unwrap_err();
    let e = error(t.req(up("@source")));
    assert_eq!(e.kind, ErrorKind::NoStreams);
    assert!(e.message.contains("no default source"), "{}", e.message);
    let e = error(t.req(up("@sink")));
    assert!(e.message.contains("no default sink"), "{}", e.message);
    // A default whose node has gone is a different situation, and says so.
    t.s.apply(
        Update::Default {
            sink: false,
            name: Some("mic".into()),
        },
        t.now,
    );
    let e = error(t.req(up("@source")));
    assert_eq!(e.kind, ErrorKind::NoStreams);
    assert!(e.message.contains("\"mic\" has no node"), "{}", e.message);
    assert!(t.s.take_actions().is_empty());
}
