//! sway IPC decoding: framing, events, and what they mean for the focus.

use super::*;
use crate::keys::KeyCommand;
use crate::protocol::Request;

fn header(bytes: &[u8]) -> Result<(u32, u32), SwayError> {
    decode_header(bytes[..HEADER].try_into().unwrap())
}

#[test]
fn framing_round_trips_and_refuses_bad_headers() {
    let m = encode(SUBSCRIBE, br#"["window"]"#);
    assert_eq!(&m[..6], b"i3-ipc");
    assert_eq!(header(&m).unwrap(), (10, SUBSCRIBE));
    let mut bad = m.clone();
    bad[0] = b'x';
    assert!(matches!(header(&bad), Err(SwayError::BadMagic)));
    // A peer announcing 4 GiB gets an error, not an allocation.
    let mut huge = m.clone();
    huge[6..10].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert!(matches!(header(&huge), Err(SwayError::TooLarge(_))));
}

fn window(change: &str, id: i64, app_id: &str, title: &str, pid: i64) -> Vec<u8> {
    format!(
        r#"{{"change":"{change}","container":{{"id":{id},"type":"con","name":"{title}",
            "app_id":"{app_id}","pid":{pid},"focused":true,"nodes":[],"floating_nodes":[]}}}}"#
    )
    .into_bytes()
}

fn focus_of(out: &[Output]) -> Vec<Focus> {
    out.iter()
        .filter_map(|o| match o {
            Output::Focus(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn window_events_follow_the_focus() {
    let mut t = Tracker::default();
    let out = t
        .on_message(EVENT_WINDOW, &window("focus", 7, "foot", "w1", 100))
        .unwrap();
    assert_eq!(
        focus_of(&out),
        [Focus::Window(Window::new("foot", "w1", Some(100)))]
    );
    // A repeat changes nothing; a title change of the focused window is reported.
    assert!(t
        .on_message(EVENT_WINDOW, &window("focus", 7, "foot", "w1", 100))
        .unwrap()
        .is_empty());
    let out = t
        .on_message(EVENT_WINDOW, &window("title", 7, "foot", "w1 - vim", 100))
        .unwrap();
    assert_eq!(
        focus_of(&out),
        [Focus::Window(Window::new("foot", "w1 - vim", Some(100)))]
    );
    // Another window's title or close: not ours.
    assert!(t
        .on_message(EVENT_WINDOW, &window("title", 8, "x", "y", 1))
        .unwrap()
        .is_empty());
    assert!(t
        .on_message(EVENT_WINDOW, &window("close", 8, "x", "y", 1))
        .unwrap()
        .is_empty());
    // Closing the focused window, or an empty workspace getting the focus: nothing.
    let out = t
        .on_message(EVENT_WINDOW, &window("close", 7, "foot", "w1", 100))
        .unwrap();
    assert_eq!(focus_of(&out), [Focus::Nothing]);
    t.on_message(EVENT_WINDOW, &window("focus", 9, "foot", "w2", 101))
        .unwrap();
    let ws = br#"{"change":"focus","current":{"id":3,"type":"workspace","focus":[]}}"#;
    assert_eq!(
        focus_of(&t.on_message(EVENT_WORKSPACE, ws).unwrap()),
        [Focus::Nothing]
    );
}

#[test]
fn xwayland_windows_use_their_class() {
    let mut t = Tracker::default();
    let ev = br#"{"change":"focus","container":{"id":1,"type":"con","name":"Discord",
        "app_id":null,"pid":55,"window_properties":{"class":"discord","instance":"discord"}}}"#;
    assert_eq!(
        focus_of(&t.on_message(EVENT_WINDOW, ev).unwrap()),
        [Focus::Window(Window::new("discord", "Discord", Some(55)))]
    );
}

#[test]
fn the_tree_gives_the_focus_at_connect_time() {
    let tree = br#"{"id":1,"type":"root","nodes":[{"id":2,"type":"output","nodes":[
        {"id":3,"type":"workspace","nodes":[
            {"id":4,"type":"con","app_id":"foot","name":"a","pid":10,"focused":false},
            {"id":5,"type":"con","app_id":"foot","name":"b","pid":11,"focused":true}],
         "floating_nodes":[]}]}]}"#;
    let mut t = Tracker::default();
    assert_eq!(
        focus_of(&t.on_message(GET_TREE, tree).unwrap()),
        [Focus::Window(Window::new("foot", "b", Some(11)))]
    );
    let empty = br#"{"id":1,"type":"root","nodes":[{"id":3,"type":"workspace","focused":true}]}"#;
    assert_eq!(
        focus_of(&Tracker::default().on_message(GET_TREE, empty).unwrap()),
        [Focus::Nothing]
    );
}

#[test]
fn a_tree_that_does_not_parse_means_nothing_focused_not_disconnected() {
    for junk in [&b"not json"[..], b"[]", b"{\"nodes\":5}"] {
        assert_eq!(
            focus_of(&Tracker::default().on_message(GET_TREE, junk).unwrap()),
            [Focus::Nothing],
            "{}",
            String::from_utf8_lossy(junk)
        );
    }
}

/// A root whose children are `empty` empty containers and then `window`.
fn tree_with(empty: usize, window: &str) -> Vec<u8> {
    let mut nodes = vec!["{}"; empty];
    nodes.push(window);
    format!(r#"{{"id":1,"type":"root","nodes":[{}]}}"#, nodes.join(",")).into_bytes()
}

#[test]
fn a_tree_of_too_many_containers_is_refused_and_a_real_one_is_not() {
    let focused = r#"{"id":7,"type":"con","app_id":"foot","name":"t","pid":70,"focused":true}"#;
    let window = Focus::Window(Window::new("foot", "t", Some(70)));
    let mut t = Tracker::default();
    // 4 MiB of empty containers with the focused window last, as an attacker's sway
    // sends: refused (nothing known to be focused), not parsed to the end.
    let huge = tree_with(1_390_000, focused);
    assert!(huge.len() > 4_000_000 && huge.len() <= MAX_PAYLOAD as usize);
    assert_eq!(
        focus_of(&t.on_message(GET_TREE, &huge).unwrap()),
        [Focus::Nothing]
    );
    // A big desktop's tree, on the same tracker (each message has its own budget).
    let big = tree_with(MAX_CONTAINERS - 1, focused);
    assert_eq!(focus_of(&t.on_message(GET_TREE, &big).unwrap()), [window]);
    // Nested containers count too: 40 levels (within serde_json's depth limit) of
    // 300 each.
    let mut deep = String::from(focused);
    for _ in 0..40 {
        deep = format!(
            r#"{{"type":"con","nodes":[{},{}]}}"#,
            vec!["{}"; 300].join(","),
            deep
        );
    }
    let deep = format!(r#"{{"id":1,"type":"root","nodes":[{deep}]}}"#);
    assert_eq!(
        focus_of(
            &Tracker::default()
                .on_message(GET_TREE, deep.as_bytes())
                .unwrap()
        ),
        [Focus::Nothing]
    );
}

#[test]
fn bindings_that_start_with_nop_audio_daemon_become_commands() {
    let mut t = Tracker::default();
    let ev = br#"{"change":"run","binding":{"command":"nop audio-daemon up vesktop 2",
        "event_state_mask":["Mod4"],"input_code":0,"symbol":"F1","input_type":"keyboard"}}"#;
    assert_eq!(
        t.on_message(EVENT_BINDING, ev).unwrap(),
        [Output::Command(Ok(KeyCommand::Request(Request::Up {
            app: "vesktop".into(),
            amount: Some(2.0)
        })))]
    );
    let other = br#"{"change":"run","binding":{"command":"exec foot"}}"#;
    assert!(t.on_message(EVENT_BINDING, other).unwrap().is_empty());
}

#[test]
fn malformed_messages_mean_nothing_and_never_panic() {
    let mut t = Tracker::default();
    for kind in [
        EVENT_WINDOW,
        EVENT_WORKSPACE,
        EVENT_BINDING,
        GET_TREE,
        0x8000_0007,
    ] {
        for payload in [
            &b""[..],
            b"null",
            b"[]",
            b"{\"change\":5}",
            b"\xff\xfe",
            br#"{"change":"focus","container":{"pid":-5,"id":"x"}}"#,
        ] {
            assert!(t.on_message(kind, payload).is_ok());
        }
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(t.on_message(GET_TREE, deep.as_bytes()).unwrap().is_empty());
    assert!(matches!(
        t.on_message(SUBSCRIBE, br#"{"success":false}"#),
        Err(SwayError::SubscribeRefused)
    ));
    assert!(matches!(
        t.on_message(EVENT_SHUTDOWN, b"{}"),
        Err(SwayError::Shutdown)
    ));
}

#[test]
fn a_hung_sway_is_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sway-ipc.sock");
    let _jam = crate::compositor::socket::jammed(&path);
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.clone();
    std::thread::spawn(move || {
        let _ = tx.send(smol::block_on(find_socket(Some(&p), None)));
    });
    let found = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("find_socket blocked (a hung sway would freeze every key)");
    assert_eq!(found, None);
}
