//! Remembered volumes in the state: recording, restoring, the WirePlumber guard, forget.

use super::tests::{ok_app, props, vol, T};
use super::*;
use crate::protocol::{ErrorKind, MuteState, Reply, Request, Response};
use crate::volume::{self, linear_from_percent};
use view::round2;

fn set(app: &str, v: f64) -> Request {
    Request::Set {
        app: app.into(),
        volume: v,
    }
}

fn yt(title: &str, client: u32) -> Props {
    props(&[
        ("media.class", "Stream/Output/Audio"),
        ("application.name", "Firefox"),
        ("media.name", title),
        ("client.id", &client.to_string()),
    ])
}

fn config(text: &str) -> Config {
    Config::parse(text, std::path::Path::new("test.json")).unwrap()
}

impl T {
    /// A request that PipeWire then applies; panics unless it succeeds.
    fn done(&mut self, r: Request) {
        let w = self.req(r).unwrap();
        self.pipewire_applies();
        let completed = self.s.take_completed();
        assert!(completed.iter().any(|(id, r)| *id == w && r.is_ok()));
    }

    /// Pending set_param volumes, by node.
    fn sent(&mut self) -> Vec<(u32, f64, bool)> {
        self.s
            .take_actions()
            .into_iter()
            .map(|a| match a {
                Action::SetNode { node, volume } => {
                    (node, round2(volume::level(&volume.channels)), volume.mute)
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }
}

/// youtube at 40 %, recorded from a request on a stream that then goes away.
fn remembered_youtube() -> T {
    let mut t = T::new();
    t.add(41, yt("a - YouTube", 8), 100.0);
    t.done(set("youtube", 40.0));
    t.s.apply(Update::NodeRemoved(41), t.now);
    t
}

#[test]
fn a_new_stream_gets_the_remembered_volume_at_its_first_props() {
    let mut t = remembered_youtube();
    assert!(
        t.s.take_memory().is_some(),
        "the change is handed to the writer"
    );
    t.s.apply(
        Update::Node {
            id: 42,
            props: yt("b - YouTube", 8),
        },
        t.now,
    );
    assert!(t.sent().is_empty(), "nothing before the channels are known");
    t.report(42, vol(100.0, false));
    assert_eq!(t.sent(), [(42, 40.0, false)]);
    t.report(42, vol(40.0, false));
    assert_eq!(t.level(42), 40.0);
    assert!(t.s.take_completed().is_empty(), "no request was waiting");
    // Restoring is not a change to remember.
    assert!(t.s.take_memory().is_none());
}

#[test]
fn streams_present_at_start_are_left_alone() {
    let mut s = State::new(Config::default());
    let mut m = crate::memory::Memory::default();
    m.record("youtube", crate::memory::Remembered::of(&vol(40.0, false)));
    s.set_memory(m);
    s.apply(
        Update::Node {
            id: 41,
            props: yt("a - YouTube", 8),
        },
        Instant::now(),
    );
    s.apply(
        Update::NodeVolume {
            id: 41,
            channels: Some(vol(100.0, false).channels),
            mute: Some(false),
        },
        Instant::now(),
    );
    s.set_connected();
    assert!(s.take_actions().is_empty());
}

#[test]
fn balance_and_mute_come_back() {
    let mut t = T::new();
    t.add(41, yt("a - YouTube", 8), 100.0);
    // Another mixer unbalanced it: 80 % left, 40 % right.
    t.report(
        41,
        Volume {
            channels: vec![linear_from_percent(80.0), linear_from_percent(40.0)],
            mute: false,
        },
    );
    t.done(set("youtube", 60.0));
    t.done(Request::Mute {
        app: "youtube".into(),
        state: MuteState::On,
    });
    t.s.apply(Update::NodeRemoved(41), t.now);
    t.add(42, yt("b - YouTube", 8), 100.0);
    let a = t.s.take_actions();
    let Some(Action::SetNode { volume, .. }) = a.first() else {
        panic!("{a:?}")
    };
    assert!(volume.mute);
    assert_eq!(round2(volume::level(&volume.channels)), 60.0);
    assert!((volume.channels[1] / volume.channels[0] - 0.125).abs() < 1e-5);
}

#[test]
fn wireplumber_overwriting_after_us_is_undone_once() {
    let mut t = remembered_youtube();
    t.add(42, yt("b - YouTube", 8), 100.0);
    assert_eq!(t.sent(), [(42, 40.0, false)]);
    t.report(42, vol(40.0, false));
    // WirePlumber restores its own (per-role) value right after.
    t.report(42, vol(100.0, false));
    assert_eq!(t.sent(), [(42, 40.0, false)]);
    t.report(42, vol(40.0, false));
    // A second overwrite inside the window is left alone: once, not a fight.
    t.report(42, vol(70.0, false));
    assert!(t.sent().is_empty());
    // Not remembered either: the app's memory is still 40.
    assert_eq!(t.s.memory.get("youtube").unwrap().volume, 40.0);
}

#[test]
fn wireplumber_landing_before_us_needs_nothing_more() {
    let mut t = remembered_youtube();
    t.add(42, yt("b - YouTube", 8), 100.0);
    assert_eq!(t.sent(), [(42, 40.0, false)]);
    // WirePlumber's value is reported while ours is in flight, then ours lands.
    t.report(42, vol(70.0, false));
    t.report(42, vol(40.0, false));
    assert!(t.sent().is_empty());
    assert_eq!(t.level(42), 40.0);
}

#[test]
fn after_the_guard_other_mixers_are_followed_and_optionally_remembered() {
    for (follow, expect) in [(false, 40.0), (true, 75.0)] {
        let mut t = remembered_youtube();
        if follow {
            let c = config(r#"{"remember_other_mixers":true}"#);
            t.s.set_config(c);
        }
        t.add(42, yt("b - YouTube", 8), 100.0);
        t.pipewire_applies();
        t.now += RESTORE_GUARD;
        t.report(42, vol(75.0, false));
        assert!(t.sent().is_empty());
        assert_eq!(t.s.memory.get("youtube").unwrap().volume, expect);
    }
}

#[test]
fn the_cap_applies_and_the_memory_stays() {
    let mut t = remembered_youtube();
    t.s.set_config(config(
        r#"{"apps":{"youtube":{"match":[{"media.name":"*youtube*"}],"max_volume":30}}}"#,
    ));
    t.add(42, yt("b - YouTube", 8), 100.0);
    assert_eq!(t.sent(), [(42, 30.0, false)]);
    assert_eq!(t.s.memory.get("youtube").unwrap().volume, 40.0);
}

#[test]
fn apps_of_one_client_keep_their_own_volumes() {
    // youtube and twitch: two tabs of one Firefox (one client, one media.role).
    let mut t = T::new();
    t.add(41, yt("a - YouTube", 8), 100.0);
    t.add(51, yt("b - Twitch", 8), 100.0);
    t.done(set("youtube", 30.0));
    t.done(set("twitch", 70.0));
    t.s.apply(Update::NodeRemoved(41), t.now);
    t.s.apply(Update::NodeRemoved(51), t.now);
    t.add(42, yt("c - YouTube", 8), 100.0);
    t.add(52, yt("d - Twitch", 8), 100.0);
    t.pipewire_applies();
    assert_eq!((t.level(42), t.level(52)), (30.0, 70.0));
}

#[test]
fn a_stream_joining_an_app_later_is_restored_then() {
    let mut t = remembered_youtube();
    t.add(42, yt("Mozilla Firefox", 8), 100.0);
    assert!(t.sent().is_empty());
    // Firefox retitles the stream once the page has loaded.
    t.s.apply(
        Update::Node {
            id: 42,
            props: yt("c - YouTube", 8),
        },
        t.now,
    );
    assert_eq!(t.sent(), [(42, 40.0, false)]);
}

#[test]
fn remember_can_be_turned_off_globally_or_per_app() {
    for text in [
        r#"{"remember":false}"#,
        r#"{"apps":{"youtube":{"match":[{"media.name":"*youtube*"}],"remember":false}}}"#,
    ] {
        let mut t = T::new();
        t.s.set_config(config(text));
        t.add(41, yt("a - YouTube", 8), 100.0);
        t.done(set("youtube", 40.0));
        assert!(t.s.take_memory().is_none(), "{text}");
    }
    // A per-app `true` wins over a global `false`.
    let mut t = T::new();
    t.s.set_config(config(
        r#"{"remember":false,"apps":{"youtube":{"match":[{"media.name":"*youtube*"}],"remember":true}}}"#,
    ));
    t.add(41, yt("a - YouTube", 8), 100.0);
    t.done(set("youtube", 40.0));
    assert!(t.s.take_memory().is_some());
}

#[test]
fn devices_are_never_remembered() {
    let mut t = T::new();
    t.s.apply(
        Update::Default {
            sink: true,
            name: Some("out".into()),
        },
        t.now,
    );
    t.add(
        30,
        props(&[("media.class", "Audio/Sink"), ("node.name", "out")]),
        100.0,
    );
    t.done(set("@sink", 40.0));
    assert!(t.s.take_memory().is_none());
}

#[test]
fn a_request_during_the_guard_ends_it() {
    let mut t = remembered_youtube();
    t.add(42, yt("b - YouTube", 8), 100.0);
    t.pipewire_applies();
    t.done(set("youtube", 55.0));
    // Another writer now is just another mixer: not undone.
    t.report(42, vol(90.0, false));
    assert!(t.sent().is_empty());
}

#[test]
fn memory_survives_a_pipewire_restart_and_applies_after_it() {
    let mut t = remembered_youtube();
    t.s.apply(Update::Disconnected, t.now);
    // Everything after a reconnect is a new stream, even during the sync.
    t.add(42, yt("b - YouTube", 8), 100.0);
    t.s.set_connected();
    assert_eq!(t.sent(), [(42, 40.0, false)]);
}

#[test]
fn forget_one_or_all() {
    let mut t = remembered_youtube();
    t.add(51, yt("b - Twitch", 8), 100.0);
    t.done(set("twitch", 70.0));
    t.s.take_memory();
    let forgotten = |r: Option<Reply>| match r {
        Some(Ok(Response::Forgotten(a))) => a,
        other => panic!("{other:?}"),
    };
    let forget = |app: Option<&str>| Request::Forget {
        app: app.map(str::to_owned),
    };
    assert_eq!(
        forgotten(t.s.command(&forget(Some("youtube")), 1, t.now)),
        ["youtube"]
    );
    assert!(t.s.take_memory().is_some());
    assert!(forgotten(t.s.command(&forget(Some("youtube")), 2, t.now)).is_empty());
    assert!(t.s.take_memory().is_none());
    for (name, kind) in [
        ("nope", ErrorKind::UnknownApp),
        ("@sink", ErrorKind::UnknownApp),
    ] {
        let r = t.s.command(&forget(Some(name)), 3, t.now).unwrap();
        assert_eq!(r.unwrap_err().kind, kind);
    }
    assert_eq!(forgotten(t.s.command(&forget(None), 4, t.now)), ["twitch"]);
    // Without PipeWire too: the memory is the daemon's own.
    t.s.apply(Update::Disconnected, t.now);
    assert!(forgotten(t.s.command(&forget(None), 5, t.now)).is_empty());
    // A forgotten app's new stream keeps its own volume.
    t.s.set_connected();
    t.add(43, yt("c - YouTube", 8), 100.0);
    assert!(t.sent().is_empty());
    let a = t.s.app_state(t.s.resolve("youtube").unwrap());
    assert_eq!(ok_app(&Ok(Response::App(a))).volume, Some(100.0));
}

#[test]
fn a_pending_stream_is_not_restored_by_a_later_report() {
    let mut t = remembered_youtube();
    // A stream of no app (yet); someone moves it in another mixer.
    t.add(42, yt("Mozilla Firefox", 8), 100.0);
    t.report(42, vol(60.0, false));
    // A reload makes it a youtube stream; the next report is still another mixer's.
    t.s.set_config(config(
        r#"{"apps":{"youtube":{"match":[{"application.name":"Firefox"}]}}}"#,
    ));
    t.report(42, vol(65.0, false));
    assert!(t.sent().is_empty(), "the user's 65 % stays");
}
