//! What the feedback task decides to show, without D-Bus.

use super::*;
use crate::protocol::StreamState;

fn state(app: &str, volume: Option<f64>, muted: bool, ids: &[u32]) -> AppState {
    AppState {
        app: app.into(),
        label: format!("{app} label"),
        volume,
        muted,
        max_volume: 100.0,
        streams: ids
            .iter()
            .map(|&id| StreamState {
                id,
                name: "s".into(),
                volume,
                muted,
            })
            .collect(),
        window: None,
    }
}

#[test]
fn a_held_key_is_one_update_with_the_last_level() {
    let mut b = Batch::default();
    let burst = (0..30)
        .map(|i| {
            (
                state("vesktop", Some(f64::from(i)), false, &[41]),
                Origin::Daemon,
            )
        })
        .collect();
    let due = b.take(burst);
    assert_eq!(due.len(), 1);
    assert_eq!(due["vesktop"].volume, 29.0);
    assert_eq!(due["vesktop"].label, "vesktop label");
}

#[test]
fn each_app_gets_its_own() {
    let mut b = Batch::default();
    let due = b.take(vec![
        (state("vesktop", Some(40.0), false, &[41]), Origin::Daemon),
        (state("music", Some(70.0), true, &[50]), Origin::Daemon),
    ]);
    assert_eq!(due.keys().collect::<Vec<_>>(), ["music", "vesktop"]);
    assert!(due["music"].muted);
}

#[test]
fn other_mixers_show_only_as_changes_of_the_same_streams() {
    let mut b = Batch::default();
    // The first sight of an app, streams appearing or vanishing: not a mixer's doing.
    assert!(b
        .take(vec![(
            state("music", Some(50.0), false, &[50]),
            Origin::Event
        )])
        .is_empty());
    assert!(b
        .take(vec![(
            state("music", Some(80.0), false, &[50, 51]),
            Origin::Event
        )])
        .is_empty());
    // Same streams, another level or mute: someone moved it.
    let due = b.take(vec![(
        state("music", Some(60.0), false, &[50, 51]),
        Origin::Event,
    )]);
    assert_eq!(due["music"].volume, 60.0);
    let due = b.take(vec![(
        state("music", Some(60.0), true, &[50, 51]),
        Origin::Event,
    )]);
    assert!(due["music"].muted);
    // Unchanged: nothing.
    assert!(b
        .take(vec![(
            state("music", Some(60.0), true, &[50, 51]),
            Origin::Event
        )])
        .is_empty());
    // No streams left: nothing to show.
    assert!(b
        .take(vec![(state("music", None, false, &[]), Origin::Daemon)])
        .is_empty());
}

#[test]
fn a_failing_bus_is_left_alone_for_longer_each_time_until_it_works() {
    use bus::Backoff;
    use std::time::{Duration, Instant};
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let mut b = Backoff::default();
    assert!(!b.resting(t0));
    // Failures in a row: rests of 1, 2, 4, ... s, each from its failure, up to MAX.
    let mut at = t0;
    for rest in [1, 2, 4, 8, 16, 30, 30] {
        b.failed(at);
        assert!(b.resting(at + s(rest) - Duration::from_millis(1)), "{rest}");
        assert!(!b.resting(at + s(rest)), "{rest}");
        at += s(rest);
    }
    // One success: the next failure rests the first rest again.
    b.succeeded();
    assert!(!b.resting(at));
    b.failed(at);
    assert!(!b.resting(at + Backoff::FIRST));
    assert!(b.resting(at + Backoff::FIRST - Duration::from_millis(1)));
    assert_eq!(Backoff::MAX, s(30));
}
