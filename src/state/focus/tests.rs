//! `@focused` without a compositor: focus facts and client lineages in, streams out.

use super::super::tests::{ok_app, props, stream, up, T};
use super::*;
use crate::procs::ProcId;
use crate::protocol::{MatchedBy, Request};
use crate::state::Update;

/// A client whose process is `pid` with the given ancestors (nearest first).
fn client(t: &mut T, id: u32, pid: u32, ancestors: &[u32]) {
    let pid_s = pid.to_string();
    t.s.apply(
        Update::Client {
            id,
            props: props(&[("application.process.id", &pid_s)]),
        },
        t.now,
    );
    let mut pids = vec![proc_id(pid)];
    pids.extend(ancestors.iter().map(|&p| proc_id(p)));
    t.s.apply(Update::ClientLineage { id, pids }, t.now);
}

/// The test's processes: each pid started at a time of its own.
fn proc_id(pid: u32) -> ProcId {
    ProcId {
        pid,
        start: u64::from(pid) * 10,
    }
}

/// A focus whose pid names the process `proc_id` gives it (as `WindowPids` would).
fn focus(t: &mut T, class: &str, title: &str, pid: Option<u32>) {
    t.s.set_focus(Focus::Window(
        Window::new(class, title, pid).identified(pid.map(proc_id)),
    ));
}

fn focused(t: &mut T) -> crate::protocol::AppState {
    let r = t
        .req(Request::Get {
            app: "@focused".into(),
        })
        .unwrap_err();
    ok_app(&r).clone()
}

#[test]
fn candidate_pids_skip_pipewire_pulse_itself() {
    let native = props(&[
        ("application.process.id", "200"),
        ("pipewire.sec.pid", "300"),
    ]);
    assert_eq!(candidate_pids(&native), vec![200, 300]);
    let pulse = props(&[
        ("application.process.id", "200"),
        ("pipewire.sec.pid", "77"),
        ("client.api", "pipewire-pulse"),
    ]);
    assert_eq!(candidate_pids(&pulse), vec![200]);
    let junk = props(&[("application.process.id", "-3"), ("pipewire.sec.pid", "0")]);
    assert!(candidate_pids(&junk).is_empty());
}

#[test]
fn pid_mapping_takes_the_process_and_its_descendants() {
    let l = |pids: &[u32]| pids.iter().map(|&p| proc_id(p)).collect::<Vec<_>>();
    let (a, b, c) = (l(&[500, 400, 1]), l(&[400, 1]), l(&[600, 1])); // 500: a child of 400
    let streams = [
        (3, Some(a.as_slice())),
        (1, Some(b.as_slice())),
        (2, Some(c.as_slice())),
        (4, None),
    ];
    assert_eq!(streams_of_process(proc_id(400), streams), vec![1, 3]);
    assert_eq!(streams_of_process(proc_id(600), streams), vec![2]);
    assert!(streams_of_process(proc_id(700), streams).is_empty());
    // pid 400 recycled: a new process with that pid is not the one the streams descend
    // from.
    let recycled = ProcId {
        pid: 400,
        start: 99_999,
    };
    assert!(streams_of_process(recycled, streams).is_empty());
}

#[test]
fn without_a_compositor_focused_is_a_clear_error_and_not_listed() {
    let mut t = T::new();
    t.add(10, stream("vesktop", 1), 50.0);
    let r = t.req(up("@focused")).unwrap_err();
    let e = r.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoCompositor);
    assert!(e.message.contains("SWAYSOCK"), "{}", e.message);
    assert!(t.s.all_keys().iter().all(|k| *k != AppKey::Focused));
    assert!(t.s.take_changes().iter().all(|c| c.app != "@focused"));
    t.s.set_focus(Focus::Lost { compositor: "sway" });
    let e = t.req(up("@focused")).unwrap_err().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoCompositor);
    assert!(e.message.contains("sway"), "{}", e.message);
}

#[test]
fn only_the_focused_windows_streams_change() {
    let mut t = T::new();
    client(&mut t, 1, 400, &[100, 1]); // the window's own process
    client(&mut t, 2, 501, &[500, 400, 100, 1]); // a grandchild, as browsers do
    client(&mut t, 3, 600, &[100, 1]); // another window
    t.add(10, stream("a", 1), 50.0);
    t.add(11, stream("a-child", 2), 40.0);
    t.add(12, stream("b", 3), 30.0);
    focus(&mut t, "foot", "w1", Some(400));
    let w = t.req(up("@focused")).unwrap();
    t.pipewire_applies();
    let done = t.s.take_completed();
    assert_eq!(done[0].0, w);
    let app = ok_app(&done[0].1);
    assert_eq!(app.app, "@focused");
    assert_eq!(
        app.streams.iter().map(|s| s.id).collect::<Vec<_>>(),
        [10, 11]
    );
    let win = app.window.as_ref().unwrap();
    assert_eq!((win.class.as_str(), win.pid), ("foot", Some(400)));
    assert_eq!(win.matched_by, Some(MatchedBy::Pid));
    assert_eq!((t.level(10), t.level(11), t.level(12)), (55.0, 45.0, 30.0));

    focus(&mut t, "foot", "w2", Some(600));
    t.req(up("@focused")).unwrap();
    t.pipewire_applies();
    assert_eq!((t.level(10), t.level(11), t.level(12)), (55.0, 45.0, 35.0));
}

#[test]
fn focus_changes_are_announced_once_with_the_window() {
    let mut t = T::new();
    client(&mut t, 1, 400, &[1]);
    t.add(10, stream("a", 1), 50.0);
    t.s.take_changes();
    focus(&mut t, "foot", "w1", Some(400));
    let c = t.s.take_changes();
    let f: Vec<_> = c.iter().filter(|s| s.app == "@focused").collect();
    assert_eq!(f.len(), 1, "{c:?}");
    assert_eq!(f[0].volume, Some(50.0));
    assert_eq!(f[0].window.as_ref().unwrap().title, "w1");
    // The same focus again (Hyprland repeats events on title changes): nothing new.
    focus(&mut t, "foot", "w1", Some(400));
    assert!(t.s.take_changes().is_empty());
    // A change to the focused stream is announced under @focused too.
    t.report(10, super::super::tests::vol(60.0, false));
    let c = t.s.take_changes();
    assert!(
        c.iter()
            .any(|s| s.app == "@focused" && s.volume == Some(60.0)),
        "{c:?}"
    );
    // Nothing focused: announced, listed, no window; changes are refused.
    t.s.set_focus(Focus::Nothing);
    let c = t.s.take_changes();
    let f = c.iter().find(|s| s.app == "@focused").unwrap();
    assert!(f.window.is_none() && f.volume.is_none());
    assert_eq!(focused(&mut t).streams.len(), 0);
    let e = t.req(up("@focused")).unwrap_err().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoFocus);
}

/// A new window whose pid was recycled from a player that has quit while its child
/// plays on: it controls nothing (it moved the player's stream before).
#[test]
fn a_window_with_a_recycled_pid_controls_nothing() {
    let mut t = T::new();
    client(&mut t, 1, 501, &[400, 1]); // the child; its parent, the player 400, is gone
    t.add(10, stream("a", 1), 50.0);
    let new_process = ProcId {
        pid: 400,
        start: 123_456,
    };
    t.s.set_focus(Focus::Window(
        Window::new("foot", "new", Some(400)).identified(Some(new_process)),
    ));
    let e = t.req(up("@focused")).unwrap_err().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoStreams);
    // A pid not trusted for the window (pid 1, the compositor's): no process, no match.
    t.s.set_focus(Focus::Window(Window::new("foot", "x", Some(1))));
    let e = t.req(up("@focused")).unwrap_err().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoStreams);
    assert_eq!(t.level(10), 50.0);
}

#[test]
fn a_window_without_streams_is_named_in_no_streams() {
    let mut t = T::new();
    client(&mut t, 1, 400, &[1]);
    t.add(10, stream("a", 1), 50.0);
    focus(&mut t, "foot", "just a shell", Some(999));
    let e = t.req(up("@focused")).unwrap_err().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoStreams);
    assert!(
        e.message.contains("foot") && e.message.contains("\"just a shell\""),
        "{}",
        e.message
    );
    let app = focused(&mut t);
    assert!(app.streams.is_empty());
    assert_eq!(app.window.unwrap().matched_by, None);
}

#[test]
fn class_fallback_when_pids_say_nothing() {
    let mut t = T::new();
    // A Flatpak Vesktop: its pulse client reports pid 2 from its own namespace.
    client(&mut t, 1, 2, &[]);
    t.add(10, stream("vesktop", 1), 50.0);
    t.add(11, stream("something-else", 1), 50.0);
    focus(&mut t, "vesktop", "Discord", Some(4000));
    let app = focused(&mut t);
    assert_eq!(app.streams.iter().map(|s| s.id).collect::<Vec<_>>(), [10]);
    assert_eq!(app.window.unwrap().matched_by, Some(MatchedBy::Class));
    assert_eq!(app.label, "Discord");
    assert_eq!(app.max_volume, 100.0);
    // A class no rule names positively matches nothing (a `null` or `!x` rule would
    // otherwise match every window).
    focus(&mut t, "org.gnome.Nautilus", "Files", Some(4001));
    assert!(focused(&mut t).streams.is_empty());
}

#[test]
fn each_stream_of_the_window_keeps_its_own_cap() {
    let text = r#"{"apps":{"loud":{"match":[{"application.name":"loud"}],"max_volume":150},
                          "quiet":{"match":[{"application.name":"quiet"}],"max_volume":10}}}"#;
    let config = crate::config::Config::parse(text, std::path::Path::new("t")).unwrap();
    let mut t = T::new();
    t.s.set_config(config);
    client(&mut t, 1, 400, &[1]);
    t.add(10, stream("loud", 1), 80.0);
    t.add(11, stream("quiet", 1), 10.0);
    focus(&mut t, "x", "y", Some(400));
    let change = |t: &mut T, req: Request| {
        t.req(req).unwrap();
        t.pipewire_applies();
        (t.level(10), t.level(11))
    };
    let at = |v: f64| Request::Set {
        app: "@focused".into(),
        volume: v,
    };
    let quieter = Request::Down {
        app: "@focused".into(),
        amount: Some(5.0),
    };
    let louder = Request::Up {
        app: "@focused".into(),
        amount: Some(5.0),
    };
    // One small step is one small step for the loud stream (it was 80 -> 10).
    assert_eq!(change(&mut t, quieter), (75.0, 5.0));
    assert_eq!(change(&mut t, louder), (80.0, 10.0));
    assert_eq!(change(&mut t, at(120.0)), (120.0, 10.0));
    assert_eq!(t.s.app_state(AppKey::Focused).max_volume, 150.0);
}

#[test]
fn window_texts_are_bounded() {
    let long = "é".repeat(1000);
    let w = Window::new(&long, &long, Some(0));
    assert!(w.class.len() <= MAX_WINDOW_TEXT && w.title.len() <= MAX_WINDOW_TEXT);
    assert_eq!(w.pid, None);
}
