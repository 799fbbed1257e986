//! Volume control against a real PipeWire, checked through wpctl and pw-dump.

mod common;

use audio_daemon_ipc::{ErrorKind, MuteState, Request, Response};
use audio_daemon_testkit::wait_until;
use common::*;
use std::time::Duration;

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn up_down_set_mute_change_what_wpctl_sees() {
    let s = session();
    let p = vesktop("t-basic");
    let st = s.streams(1, &props(&p)).unwrap();
    let id = st.ids[0];
    let d = s.daemon("{}").unwrap();

    let a = app(call(&d, set("vesktop", 50.0)));
    assert_eq!(a.volume, Some(50.0));
    assert_eq!(a.streams[0].id, id);
    assert_wpctl(&s, id, 0.50, false);

    app(call(&d, up("vesktop", None)));
    assert_wpctl(&s, id, 0.55, false);
    app(call(&d, down("vesktop", Some(20.0))));
    assert_wpctl(&s, id, 0.35, false);

    let a = app(call(
        &d,
        Request::Mute {
            app: "vesktop".into(),
            state: MuteState::Toggle,
        },
    ));
    assert!(a.muted);
    assert_wpctl(&s, id, 0.35, true);
    app(call(
        &d,
        Request::Mute {
            app: "vesktop".into(),
            state: MuteState::Off,
        },
    ));
    assert_wpctl(&s, id, 0.35, false);

    // pw-dump agrees on the exact linear gain: (0.35)^3 on both channels.
    let (ch, mute) = s.dump_volume(id).unwrap();
    assert!(!mute);
    assert_eq!(ch.len(), 2);
    for c in ch {
        assert!((c - 0.042875).abs() < 1e-5, "{c}");
    }
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn all_streams_of_an_app_move_together_keeping_balance() {
    let s = session();
    let p = vesktop("t-multi");
    let st = s.streams(2, &props(&p)).unwrap();
    let other = s
        .streams(
            1,
            &[("application.name", "mpv"), ("media.role", "t-multi-other")],
        )
        .unwrap();
    let d = s.daemon("{}").unwrap();
    // Unbalance the first stream through another mixer: 0.8 left, 0.4 right (cubic).
    s.command("pw-cli")
        .args([
            "set-param",
            &st.ids[0].to_string(),
            "Props",
            "{ channelVolumes: [ 0.512, 0.064 ] }",
        ])
        .output()
        .unwrap();
    wait_wpctl(&s, st.ids[0], 0.80);

    let a = app(call(&d, down("vesktop", Some(10.0))));
    assert_eq!(a.streams.len(), 2);
    assert_wpctl(&s, st.ids[0], 0.70, false);
    assert_wpctl(&s, st.ids[1], 0.90, false);
    assert_wpctl(&s, other.ids[0], 1.0, false);
    let (ch, _) = s.dump_volume(st.ids[0]).unwrap();
    // Scaled by one factor: the right channel keeps its 1/8 ratio to the left.
    assert!((ch[1] / ch[0] - 0.125).abs() < 1e-3, "{ch:?}");
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn the_cap_is_never_exceeded() {
    let s = session();
    let p = vesktop("t-cap");
    let st = s.streams(1, &props(&p)).unwrap();
    let id = st.ids[0];
    let d = s
        .daemon(
            r#"{"apps":{"vesktop":{"match":[{"application.name":"vesktop"}],"max_volume":120}}}"#,
        )
        .unwrap();
    app(call(&d, set("vesktop", 110.0)));
    assert_wpctl(&s, id, 1.10, false);
    for _ in 0..5 {
        app(call(&d, up("vesktop", Some(5.0))));
    }
    assert_wpctl(&s, id, 1.20, false);
    let a = app(call(&d, set("vesktop", 400.0)));
    assert_eq!(a.volume, Some(120.0));
    assert_wpctl(&s, id, 1.20, false);
    // The default cap (100 %) applies to apps without their own.
    let _yt = s
        .streams(
            1,
            &[("media.name", "x - YouTube"), ("media.role", "t-cap-yt")],
        )
        .unwrap();
    wait_app(&d, "youtube", "the daemon to see the stream", |a| {
        a.volume.is_some()
    });
    assert_eq!(app(call(&d, up("youtube", None))).volume, Some(100.0));
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_burst_of_key_repeats_coalesces_and_lands_exactly() {
    let s = session();
    let p = vesktop("t-burst");
    let st = s.streams(1, &props(&p)).unwrap();
    let id = st.ids[0];
    let d = s.daemon(r#"{"step": 1}"#).unwrap();
    app(call(&d, set("vesktop", 20.0)));
    let before = match call(&d, Request::Stats) {
        Ok(Response::Stats(st)) => st,
        other => panic!("{other:?}"),
    };
    // 60 key presses from 60 processes at once, each its own connection.
    let handles: Vec<_> = (0..60)
        .map(|_| {
            let sock = d.socket.clone();
            std::thread::spawn(move || {
                audio_daemon_testkit::Client::connect(&sock)
                    .unwrap()
                    .call(&up("vesktop", None))
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().is_ok());
    }
    assert_wpctl(&s, id, 0.80, false);
    let after = match call(&d, Request::Stats) {
        Ok(Response::Stats(st)) => st,
        other => panic!("{other:?}"),
    };
    assert_eq!(after.waiting, 0, "nothing left queued");
    let sent = after.set_params - before.set_params;
    assert!(sent <= 60, "at most one set_param per request, got {sent}");
    eprintln!("60 requests, {sent} set_params");
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn external_changes_and_new_streams_are_tracked() {
    let s = session();
    let d = s.daemon("{}").unwrap();
    let p = vesktop("t-ext");
    assert_eq!(app(call(&d, get("vesktop"))).streams.len(), 0);
    let mut st = s.streams(1, &props(&p)).unwrap();
    let id = st.ids[0];
    wait_app(&d, "vesktop", "the daemon to see the stream", |a| {
        a.streams.len() == 1
    });
    s.wpctl_set_volume(id, "0.3").unwrap();
    wait_app(&d, "vesktop", "the daemon to see wpctl's change", |a| {
        a.volume == Some(30.0)
    });
    // The next step starts from the outside value.
    app(call(&d, up("vesktop", None)));
    assert_wpctl(&s, id, 0.35, false);
    st.remove(id).unwrap();
    wait_app(&d, "vesktop", "the daemon to see the stream vanish", |a| {
        a.streams.is_empty()
    });
    let e = call(&d, up("vesktop", None)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoStreams);
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn a_stream_vanishing_mid_command_gets_a_clear_error() {
    let s = session();
    let p = vesktop("t-vanish");
    let st = s.streams(1, &props(&p)).unwrap();
    let d = s.daemon("{}").unwrap();
    app(call(&d, set("vesktop", 50.0)));
    // Freeze the app so it cannot confirm, send the request, then kill the app.
    st.proc.signal(libc::SIGSTOP);
    let mut c = connect(&d);
    c.send_raw(b"{\"action\":\"up\",\"app\":\"vesktop\"}\n")
        .unwrap();
    // The request is in flight: the daemon counts it as waiting.
    wait_until(
        Duration::from_secs(5),
        "the request to be in flight",
        || matches!(call(&d, Request::Stats), Ok(Response::Stats(x)) if x.waiting == 1),
    )
    .unwrap();
    st.proc.signal(libc::SIGKILL);
    let line = c.read_line().unwrap().unwrap();
    let reply = audio_daemon_ipc::reply_from_line(&line).unwrap();
    assert_eq!(reply.unwrap_err().kind, ErrorKind::StreamVanished, "{line}");
}

#[test]
#[cfg_attr(pw_tests_off, ignore = "needs PipeWire (AUDIO_DAEMON_PW_TESTS=0)")]
fn music_matches_through_the_client_and_sink_is_the_default() {
    let s = session();
    // Like Spotify, whose node is only `audio-src`: the rule needs a property that only
    // the *client* carries (application.process.binary is not copied to stream nodes).
    let st = s
        .streams(1, &[("node.name", "audio-src"), ("media.role", "t-music")])
        .unwrap();
    // A glob, as for any binary: a Nix-wrapped helper would run as
    // `.audio-daemon-streams-wrapped`.
    let cfg = r#"{"apps":{"music":{"match":[{"node.name":"audio-src","application.process.binary":"*audio-daemon-streams*"}]}}}"#;
    let d = s.daemon(cfg).unwrap();
    let a = app(call(&d, get("music")));
    assert_eq!(a.streams.iter().map(|x| x.id).collect::<Vec<_>>(), st.ids);

    let a = app(call(&d, set("@sink", 40.0)));
    assert_eq!(a.streams[0].id, s.sink_id);
    assert_wpctl(&s, s.sink_id, 0.40, false);
}
