//! The per-stream protocol's hard cases: a stream that stops answering (a stopped app),
//! a cancelled change that lands later, and pacing under a flood.

use super::tests::{ok_app, stream, up, vol, T};
use super::*;
use crate::protocol::{ErrorKind, Request};
use crate::volume;

fn set(app: &str, v: f64) -> Request {
    Request::Set {
        app: app.into(),
        volume: v,
    }
}

fn only_set_node(actions: Vec<Action>) -> (u32, Volume) {
    match actions.as_slice() {
        [Action::SetNode { node, volume }] => (*node, volume.clone()),
        other => panic!("expected one SetNode, got {other:?}"),
    }
}

#[test]
fn a_timed_out_change_fails_the_request_and_is_undone_if_it_lands_later() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    let w = t.req(set("vesktop", 30.0)).unwrap();
    let (_, sent) = only_set_node(t.s.take_actions()); // the app is stopped: no answer
    assert_eq!(t.s.next_deadline(), Some(t.now + CONFIRM_TIMEOUT));
    t.s.tick(t.now + CONFIRM_TIMEOUT);
    let done = t.s.take_completed();
    assert_eq!(done[0].0, w);
    let e = done[0].1.as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("cancelled"), "{e}");
    assert_eq!(t.s.next_deadline(), None);

    // While it stays silent, requests leave it alone: nothing queues up behind it.
    let e = t.req(up("vesktop")).unwrap_err().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotResponding);
    assert!(t.s.take_actions().is_empty());

    // It runs again and applies what it was sent: the old volume goes back at once.
    t.report(41, sent);
    let (node, restore) = only_set_node(t.s.take_actions());
    assert_eq!(node, 41);
    assert!(volume::same_channels(
        &restore.channels,
        &vol(50.0, false).channels
    ));
    t.report(41, restore);
    assert_eq!(t.level(41), 50.0);
    // And it is an ordinary stream again.
    t.req(up("vesktop")).unwrap();
    assert_eq!(t.pipewire_applies(), 1);
    assert_eq!(t.level(41), 55.0);
}

#[test]
fn a_stream_that_answers_late_with_something_else_is_not_overridden() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    t.req(set("vesktop", 30.0)).unwrap();
    t.s.take_actions();
    t.s.tick(t.now + CONFIRM_TIMEOUT);
    t.s.take_completed();
    // Another mixer's value arrives first: that is what the user did; keep it.
    t.report(41, vol(70.0, false));
    assert!(t.s.take_actions().is_empty());
    assert_eq!(t.level(41), 70.0);
}

#[test]
fn a_request_out_of_time_takes_its_coalesced_target_with_it() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    let a = t.req(up("vesktop")).unwrap();
    assert_eq!(t.s.take_actions().len(), 1);
    // A second press while the first is unanswered only moves the target.
    t.now += CONFIRM_TIMEOUT / 2;
    let b = t.req(up("vesktop")).unwrap();
    assert!(t.s.take_actions().is_empty());
    t.s.tick(t.now + CONFIRM_TIMEOUT / 2);
    let done = t.s.take_completed();
    let kinds: Vec<(WaiterId, ErrorKind)> = done
        .iter()
        .map(|(w, r)| (*w, r.as_ref().unwrap_err().kind))
        .collect();
    assert!(kinds.contains(&(a, ErrorKind::Timeout)), "{kinds:?}");
    assert!(kinds.contains(&(b, ErrorKind::Timeout)), "{kinds:?}");
    // Nothing is left to send later.
    t.s.tick(t.now + CONFIRM_TIMEOUT * 10);
    assert!(t.s.take_actions().is_empty());
}

#[test]
fn one_stopped_stream_does_not_hold_up_the_app_s_other_streams() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    t.add(42, stream("vesktop", 9), 50.0);
    let w = t.req(set("vesktop", 40.0)).unwrap();
    let actions = t.s.take_actions();
    assert_eq!(actions.len(), 2);
    // 42 answers, 41 does not.
    for a in actions {
        if let Action::SetNode { node: 42, volume } = a {
            t.report(42, volume);
        }
    }
    assert!(t.s.take_completed().is_empty());
    t.s.tick(t.now + CONFIRM_TIMEOUT);
    let done = t.s.take_completed();
    assert_eq!(done[0].0, w);
    // Partly done: the reply says which stream is where.
    let app = ok_app(&done[0].1);
    let by_id: Vec<(u32, Option<f64>)> = app.streams.iter().map(|s| (s.id, s.volume)).collect();
    assert_eq!(by_id, [(41, Some(50.0)), (42, Some(40.0))]);
    // Next press: only the live stream, answered without waiting for the stopped one.
    t.req(up("vesktop")).unwrap();
    let (node, v) = only_set_node(t.s.take_actions());
    assert_eq!(node, 42);
    t.report(42, v);
    assert!(t.s.take_completed()[0].1.is_ok());
}

#[test]
fn a_flood_is_paced_per_stream_and_the_last_value_lands_exactly() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 10.0);
    let mut sent = 0;
    let start = t.now;
    // 200 requests over 0.5 s, PipeWire confirming each send at once.
    for i in 0..200 {
        t.now = start + std::time::Duration::from_micros(2500 * i);
        t.s.tick(t.now);
        sent += t.pipewire_applies();
        let _ = t.req(set("vesktop", 10.0 + (i % 80) as f64));
        sent += t.pipewire_applies();
    }
    // Until nothing is held back any more.
    while let Some(at) = t.s.next_deadline() {
        t.now = t.now.max(at);
        t.s.tick(t.now);
        sent += t.pipewire_applies();
    }
    let elapsed = (t.now - start).as_secs_f64();
    let allowed = PACE_BURST + elapsed * crate::config::DEFAULT_RATE_LIMIT;
    assert!(
        (sent as f64) <= allowed + 1.0,
        "{sent} set_params in {elapsed} s (allowed {allowed})"
    );
    assert!(sent >= 20, "{sent}: paced, not starved");
    assert_eq!(
        t.level(41),
        10.0 + (199 % 80) as f64,
        "the last value is exact"
    );
    // Every request was answered.
    assert!(t.s.take_completed().iter().all(|(_, r)| r.is_ok()));
}

#[test]
fn key_presses_are_never_held_back() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 10.0);
    // Key repeat at 30/s: each press goes out at once.
    for i in 0..15 {
        t.now += std::time::Duration::from_millis(33);
        t.req(up("vesktop")).unwrap();
        assert_eq!(t.s.take_actions().len(), 1, "press {i}");
        t.report(41, vol((10.0 + 5.0 * (i + 1) as f64).min(100.0), false));
        t.s.take_completed();
    }
}

#[test]
fn pacing_can_be_turned_off() {
    let mut t = T::new();
    t.s.set_config(Config::parse(r#"{"rate_limit":null}"#, std::path::Path::new("x")).unwrap());
    t.add(41, stream("vesktop", 8), 10.0);
    for i in 0..100 {
        t.req(set("vesktop", 20.0 + (i % 2) as f64)).unwrap();
        assert_eq!(t.pipewire_applies(), 1);
    }
}

#[test]
fn a_request_past_its_deadline_cancels_a_change_sent_for_it_late() {
    let mut t = T::new();
    t.add(41, stream("vesktop", 8), 50.0);
    let start = t.now;
    let a = t.req(set("vesktop", 60.0)).unwrap();
    let (_, first) = only_set_node(t.s.take_actions());
    t.now = start + CONFIRM_TIMEOUT / 20;
    let b = t.req(set("vesktop", 70.0)).unwrap();
    // The first change is confirmed just in time; b's goes out only now.
    t.now = start + CONFIRM_TIMEOUT * 19 / 20;
    t.report(41, first);
    let (_, second) = only_set_node(t.s.take_actions());
    let done = t.s.take_completed();
    assert_eq!((done[0].0, done[0].1.is_ok()), (a, true));
    // b's deadline passes before its change's own: b fails, and its change is cancelled.
    t.now = start + CONFIRM_TIMEOUT * 21 / 20;
    t.s.tick(t.now);
    let done = t.s.take_completed();
    assert_eq!(done[0].0, b);
    assert_eq!(done[0].1.as_ref().unwrap_err().kind, ErrorKind::Timeout);
    // When it lands after all, 60 (a's, confirmed) is put back.
    t.report(41, second);
    let (_, restore) = only_set_node(t.s.take_actions());
    t.report(41, restore);
    assert_eq!(t.level(41), 60.0);
}
