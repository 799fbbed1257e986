//! Reloads as state transitions: apps added, removed and reordered while streams, changes
//! in flight, waiting requests and a subscriber (`take_changes`) exist.

use super::tests::{ok_app, props, stream, up, T};
use super::*;
use crate::protocol::{ErrorKind, Reply, Request};
use audio_daemon_testkit::rng::Rng;
use std::collections::HashMap;

fn config(text: &str) -> Config {
    Config::parse(text, std::path::Path::new("test.json")).unwrap()
}

/// An extra app whose name sorts before every built-in one (the issue's crash).
const WITH_AAA: &str = r#"{"apps":{"aaa":{"match":[{"media.name":"*aaa*"}]}}}"#;

fn youtube() -> Props {
    props(&[
        ("media.class", "Stream/Output/Audio"),
        ("media.name", "youtube - a video"),
    ])
}

#[test]
fn removing_an_app_before_the_others_keeps_every_index_valid() {
    let mut t = T::new();
    t.s.set_config(config(WITH_AAA));
    t.add(41, youtube(), 50.0);
    t.s.take_changes();
    t.s.set_config(Config::default());
    t.s.check_app_indices();
    // This is where the daemon used to panic: announcing apps by stale indices.
    let changes = t.s.take_changes();
    assert!(changes.iter().all(|c| c.app != "aaa"), "{changes:?}");
    let key = t.s.resolve("youtube").unwrap();
    assert_eq!(t.s.app_state(key).streams.len(), 1);
    // And the app still works.
    t.req(up("youtube")).unwrap();
    assert_eq!(t.pipewire_applies(), 1);
    assert_eq!(t.level(41), 55.0);
}

#[test]
fn a_request_waiting_across_a_reload_is_answered_under_its_app() {
    let mut t = T::new();
    t.s.set_config(config(WITH_AAA));
    t.add(41, youtube(), 50.0);
    t.add(
        42,
        props(&[
            ("media.class", "Stream/Output/Audio"),
            ("media.name", "aaa"),
        ]),
        50.0,
    );
    let w_yt = t.req(up("youtube")).unwrap();
    let w_aaa = t.req(up("aaa")).unwrap();
    // Reload while both wait: youtube's index shifts, aaa disappears.
    t.s.set_config(Config::default());
    t.s.check_app_indices();
    t.pipewire_applies();
    let done: HashMap<WaiterId, Reply> = t.s.take_completed().into_iter().collect();
    let yt = ok_app(&done[&w_yt]);
    assert_eq!((yt.app.as_str(), yt.volume), ("youtube", Some(55.0)));
    // The change to aaa's stream happened; its reply says so, under the old name.
    let aaa = ok_app(&done[&w_aaa]);
    assert_eq!((aaa.app.as_str(), aaa.volume), ("aaa", Some(55.0)));
    assert_eq!(aaa.streams[0].id, 42);
}

#[test]
fn a_timeout_across_a_reload_names_the_removed_app() {
    let mut t = T::new();
    t.s.set_config(config(WITH_AAA));
    t.add(
        42,
        props(&[
            ("media.class", "Stream/Output/Audio"),
            ("media.name", "aaa"),
        ]),
        50.0,
    );
    t.req(up("aaa")).unwrap();
    t.s.set_config(Config::default());
    t.s.tick(t.now + CONFIRM_TIMEOUT);
    let done = t.s.take_completed();
    let e = done[0].1.as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("aaa"), "{e}");
}

#[test]
fn unchanged_apps_are_not_announced_again_and_changed_ones_are() {
    let mut t = T::new();
    t.add(41, youtube(), 50.0);
    t.add(43, stream("vesktop", 8), 50.0);
    // A subscriber has seen every app once.
    t.s.set_config(Config::default());
    assert_eq!(t.s.take_changes().len(), 6);
    t.s.set_config(config(
        r#"{"apps":{"aaa":{"match":[{"media.name":"*aaa*"}]},
                     "youtube":{"match":[{"media.name":"*youtube*"}],"label":"YT"}}}"#,
    ));
    let names: Vec<String> = t.s.take_changes().into_iter().map(|c| c.app).collect();
    // youtube's label changed, aaa is new; vesktop, music, twitch and the defaults did not.
    assert_eq!(names, ["aaa", "youtube"]);
}

const CONFIGS: &[&str] = &[
    "{}",
    WITH_AAA,
    r#"{"builtin_apps":false,"apps":{"mmm":{"match":[{"media.name":"*youtube*"}]}}}"#,
    r#"{"apps":{"aab":{"match":[{"application.name":"vesktop"}]},
              "zzz":{"match":[{"media.name":"*aaa*"}]}}}"#,
    r#"{"builtin_apps":false}"#,
];

const NAMES: &[&str] = &[
    "aaa", "aab", "mmm", "zzz", "youtube", "vesktop", "music", "@sink",
];

#[test]
fn random_reloads_keep_the_state_consistent_and_answer_every_request_once() {
    for seed in 1..=40u64 {
        let mut rng = Rng::new(seed);
        let mut t = T::new();
        let mut waiting: Vec<WaiterId> = Vec::new();
        let mut answered: Vec<WaiterId> = Vec::new();
        let mut next_id = 100u32;
        for _step in 0..300 {
            match rng.below(9) {
                0 => {
                    let p = match rng.below(3) {
                        0 => youtube(),
                        1 => stream("vesktop", 8),
                        _ => props(&[
                            ("media.class", "Stream/Output/Audio"),
                            ("media.name", "aaa"),
                        ]),
                    };
                    t.add(next_id, p, 50.0);
                    next_id += 1;
                }
                1 => {
                    if let Some(&id) = t.s.nodes.keys().nth(rng.below(t.s.nodes.len().max(1))) {
                        t.s.apply(Update::NodeRemoved(id), t.now);
                    }
                }
                2 | 3 => {
                    let app = NAMES[rng.below(NAMES.len())];
                    let r = if rng.below(2) == 0 {
                        up(app)
                    } else {
                        Request::Set {
                            app: app.into(),
                            volume: rng.below(120) as f64,
                        }
                    };
                    if let Ok(w) = t.req(r) {
                        waiting.push(w);
                    }
                }
                4 => {
                    // PipeWire confirms some of what was sent (possibly nothing).
                    for a in t.s.take_actions() {
                        if rng.below(2) == 0 {
                            if let Action::SetNode { node, volume } = a {
                                t.report(node, volume);
                            }
                        }
                    }
                }
                5 | 6 => t.s.set_config(config(CONFIGS[rng.below(CONFIGS.len())])),
                7 => {
                    // The subscriber reads what changed: every name must be a current app.
                    for c in t.s.take_changes() {
                        assert!(
                            c.app.starts_with('@') || t.s.config.app(&c.app).is_some(),
                            "announced {} which is not configured",
                            c.app
                        );
                    }
                }
                _ => {
                    t.now += CONFIRM_TIMEOUT / 3;
                    t.s.tick(t.now);
                }
            }
            t.s.check_app_indices();
            answered.extend(t.s.take_completed().into_iter().map(|(id, _)| id));
        }
        // Drain: everything confirms, then time runs out for what cannot.
        t.pipewire_applies();
        t.now += CONFIRM_TIMEOUT * 2;
        t.s.tick(t.now);
        answered.extend(t.s.take_completed().into_iter().map(|(id, _)| id));
        let _ = t.s.take_changes();
        t.s.check_app_indices();
        answered.sort_unstable();
        waiting.sort_unstable();
        assert_eq!(
            answered, waiting,
            "seed {seed}: every request answered once"
        );
    }
}
