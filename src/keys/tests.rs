//! Keys against the request service's recording fake: a key's press, its ramp and its
//! release reach PipeWire as the same requests, with the same side effects (the OSD),
//! as the equivalent socket requests.

use super::*;
use crate::service::tests::{service, shown, Fake};
use std::path::Path;
use std::time::Duration;

const CONFIG: &str = r#"{
  "keys": {
    "vesktop-up": { "app": "vesktop", "action": "up", "amount": 2 },
    "vesktop-mute": { "app": "vesktop", "action": "mute" }
  },
  "ramp": { "rate": 40, "update_hz": 60, "delay_ms": 250 }
}"#;

type Seen = (Vec<Request>, Vec<(String, f64, bool)>);

/// Runs `drive` on keys over a fresh service; returns what reached the fake and what
/// the OSD was asked to show.
fn through_keys(drive: impl FnOnce(&Rc<Keys>)) -> Seen {
    let ex = Rc::new(smol::LocalExecutor::new());
    let (s, fake, rx) = service(&ex);
    let config = Config::parse(CONFIG, Path::new("test.json")).unwrap();
    let keys = Keys::new(s, ex.clone(), &config);
    drive(&keys);
    // Until every ramp has ended and every request task has run.
    smol::block_on(ex.run(async {
        while !keys.held.borrow().is_empty() {
            smol::future::yield_now().await;
        }
    }));
    while ex.try_tick() {}
    (seen(&fake), shown(&rx))
}

/// The same requests, as a socket connection makes them (one after the other).
fn through_socket(requests: &[Request]) -> Seen {
    let ex = Rc::new(smol::LocalExecutor::new());
    let (s, fake, rx) = service(&ex);
    smol::block_on(ex.run(async {
        for r in requests {
            let _ = s.call(r.clone()).await;
        }
    }));
    (seen(&fake), shown(&rx))
}

fn seen(fake: &Fake) -> Vec<Request> {
    fake.seen.borrow().clone()
}

fn up(amount: f64) -> Request {
    Request::Up {
        app: "vesktop".into(),
        amount: Some(amount),
    }
}

#[test]
fn a_sway_command_is_a_socket_request() {
    let cmd = command::parse("nop audio-daemon up vesktop 3").unwrap();
    let keys = through_keys(|k| k.command(cmd, Instant::now()));
    assert_eq!(keys, through_socket(&[up(3.0)]));
    assert_eq!(keys.1, vec![("vesktop".into(), 53.0, false)]);
}

#[test]
fn a_press_ramp_and_release_are_the_socket_requests_of_a_ramp() {
    // Held for 1 s: the press's step (2), then 40 points a second from 250 ms on.
    let keys = through_keys(|k| {
        let now = Instant::now();
        k.press("vesktop-up", now - Duration::from_secs(1));
        k.release("vesktop-up", now);
    });
    assert_eq!(keys, through_socket(&[up(2.0), up(30.0)]));
    // One OSD update per request, all for the one app (the OSD task replaces its one
    // notification in place); the last shows where the ramp ended.
    assert_eq!(
        keys.1,
        vec![
            ("vesktop".into(), 52.0, false),
            ("vesktop".into(), 82.0, false)
        ]
    );
}

#[test]
fn a_once_key_is_its_request() {
    let keys = through_keys(|k| {
        let now = Instant::now();
        k.command(Ok(KeyCommand::Press("vesktop-mute".into())), now);
        k.command(Ok(KeyCommand::Release("vesktop-mute".into())), now);
    });
    let mute = Request::Mute {
        app: "vesktop".into(),
        state: crate::protocol::MuteState::Toggle,
    };
    assert_eq!(keys, through_socket(&[mute]));
}

#[test]
fn repeated_presses_and_stray_releases_send_nothing_more() {
    let keys = through_keys(|k| {
        let now = Instant::now();
        k.release("vesktop-up", now);
        k.press("vesktop-up", now);
        // The compositor's key repeat: the ramp already running covers it.
        k.press("vesktop-up", now);
        k.press("vesktop-up", now);
        k.release("vesktop-up", now);
        k.release("vesktop-up", now);
    });
    assert_eq!(keys, through_socket(&[up(2.0)]));
}

#[test]
fn a_lost_compositor_ends_every_ramp() {
    let keys = through_keys(|k| {
        k.press("vesktop-up", Instant::now() - Duration::from_secs(2));
        k.release_all();
    });
    // Released "now", 2 s after the press: 2 + 40 x 1.75, within a tick of now.
    assert_eq!(keys.0.len(), 2);
    assert_eq!(keys.0[0], up(2.0));
    let Request::Up {
        amount: Some(a), ..
    } = keys.0[1]
    else {
        panic!("{:?}", keys.0[1]);
    };
    assert!((70.0..71.0).contains(&a), "{a}");
}

#[test]
fn an_unknown_key_or_a_bad_binding_sends_nothing() {
    let keys = through_keys(|k| {
        k.press("nope", Instant::now());
        k.command(
            command::parse("nop audio-daemon up vesktop loud").unwrap(),
            Instant::now(),
        );
    });
    assert_eq!(keys, (vec![], vec![]));
}
