//! Protocol parsing and wire-format tests.
use super::*;

#[test]
fn seed_requests_parse() {
    assert_eq!(
        Request::parse(r#"{"app":"vesktop","action":"up"}"#),
        Ok(Request::Up {
            app: "vesktop".into(),
            amount: None
        })
    );
    assert_eq!(
        Request::parse(r#"{"app":"vesktop","action":"down","amount":2.5}"#),
        Ok(Request::Down {
            app: "vesktop".into(),
            amount: Some(2.5)
        })
    );
    assert_eq!(
        Request::parse(r#"{"app":"music","action":"mute"}"#),
        Ok(Request::Mute {
            app: "music".into(),
            state: MuteState::Toggle
        })
    );
    assert_eq!(
        Request::parse(r#"{"app":"music","action":"get"}"#),
        Ok(Request::Get {
            app: "music".into()
        })
    );
}

#[test]
fn other_requests_parse() {
    assert_eq!(
        Request::parse(r#"{"action":"set","app":"@sink","amount":40}"#),
        Ok(Request::Set {
            app: "@sink".into(),
            volume: 40.0
        })
    );
    assert_eq!(
        Request::parse(r#"{"action":"mute","app":"x","state":"off"}"#),
        Ok(Request::Mute {
            app: "x".into(),
            state: MuteState::Off
        })
    );
    assert_eq!(Request::parse(r#"{"action":"list"}"#), Ok(Request::List));
    assert_eq!(
        Request::parse(r#"{"action":"subscribe"}"#),
        Ok(Request::Subscribe)
    );
}

fn kind(line: &str) -> ErrorKind {
    Request::parse(line).unwrap_err().kind
}

#[test]
fn only_objects_are_requests_and_serde_leniencies_are_refused() {
    // serde reads a struct from an array too: the protocol does not.
    assert_eq!(kind(r#"["list"]"#), ErrorKind::BadRequest);
    assert_eq!(kind(r#"["stats",null]"#), ErrorKind::BadRequest);
    assert_eq!(kind(r#"  ["up","x"]"#), ErrorKind::BadRequest);
    assert_eq!(kind(r#""list""#), ErrorKind::BadRequest);
    assert_eq!(kind("null"), ErrorKind::BadRequest);
    assert_eq!(kind(""), ErrorKind::BadRequest);
    // Duplicate fields are ambiguous: refused, not last-wins.
    assert_eq!(
        kind(r#"{"action":"up","action":"down","app":"x"}"#),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(r#"{"action":"up","app":"x","app":"y"}"#),
        ErrorKind::BadRequest
    );
    // An optional field is absent or has a value; null is not a third spelling.
    assert_eq!(
        kind(r#"{"action":"up","app":"x","amount":null}"#),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(r#"{"action":"list","app":null}"#),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(r#"{"action":"mute","app":"x","state":null}"#),
        ErrorKind::BadRequest
    );
    // Case matters, trailing garbage is refused, and so is a request split in two.
    assert_eq!(
        kind(r#"{"action":"mute","app":"x","state":"On"}"#),
        ErrorKind::BadRequest
    );
    assert_eq!(kind(r#"{"action":"list"} x"#), ErrorKind::BadRequest);
    assert_eq!(
        kind(r#"{"action":"list"}{"action":"list"}"#),
        ErrorKind::BadRequest
    );
    // Whitespace around an object is JSON's business and fine.
    assert_eq!(
        Request::parse(" \t{\"action\":\"list\"} "),
        Ok(Request::List)
    );
}

#[test]
fn bad_requests_get_kinds() {
    assert_eq!(kind("not json"), ErrorKind::BadRequest);
    assert_eq!(kind("[1,2]"), ErrorKind::BadRequest);
    assert_eq!(kind(r#"{"app":"x"}"#), ErrorKind::BadRequest);
    assert_eq!(kind(r#"{"action":"up"}"#), ErrorKind::BadRequest);
    assert_eq!(kind(r#"{"action":"up","app":""}"#), ErrorKind::BadRequest);
    assert_eq!(
        kind(r#"{"action":"up","app":"x","volume":3}"#),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(r#"{"action":"up","app":"x","amount":"5"}"#),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(r#"{"action":"list","app":"x"}"#),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(r#"{"action":"louder","app":"x"}"#),
        ErrorKind::UnknownAction
    );
    assert_eq!(
        kind(r#"{"action":"mute","app":"x","state":"maybe"}"#),
        ErrorKind::BadRequest
    );
}

#[test]
fn absurd_amounts_are_refused() {
    for amount in ["-5", "0", "100.5", "1e308", "1e999"] {
        let line = format!(r#"{{"action":"up","app":"x","amount":{amount}}}"#);
        let k = kind(&line);
        assert!(
            k == ErrorKind::BadAmount || k == ErrorKind::BadRequest,
            "{amount}: {k:?}"
        );
    }
    assert_eq!(
        kind(r#"{"action":"set","app":"x","amount":-1}"#),
        ErrorKind::BadAmount
    );
    assert_eq!(
        kind(r#"{"action":"set","app":"x","amount":1000.1}"#),
        ErrorKind::BadAmount
    );
    assert_eq!(kind(r#"{"action":"set","app":"x"}"#), ErrorKind::BadAmount);
    assert!(check_step(f64::NAN).is_err());
    assert!(check_step(f64::INFINITY).is_err());
    assert!(check_set(f64::NAN).is_err());
}

#[test]
fn requests_round_trip_through_the_wire() {
    let all = [
        Request::Up {
            app: "a".into(),
            amount: Some(3.0),
        },
        Request::Down {
            app: "a".into(),
            amount: None,
        },
        Request::Set {
            app: "a".into(),
            volume: 0.0,
        },
        Request::Mute {
            app: "a".into(),
            state: MuteState::On,
        },
        Request::Get { app: "a".into() },
        Request::List,
        Request::Subscribe,
        Request::Stats,
        Request::Forget { app: None },
        Request::Forget {
            app: Some("a".into()),
        },
    ];
    for r in all {
        assert_eq!(Request::parse(&r.to_line()), Ok(r));
    }
}

fn sample_app() -> AppState {
    AppState {
        app: "vesktop".into(),
        label: "Discord".into(),
        volume: Some(45.0),
        muted: false,
        max_volume: 150.0,
        streams: vec![StreamState {
            id: 41,
            name: "WEBRTC VoiceEngine".into(),
            volume: Some(45.0),
            muted: false,
        }],
        window: None,
    }
}

#[test]
fn focused_replies_carry_the_window() {
    let mut app = sample_app();
    app.app = FOCUSED_TARGET.into();
    app.window = Some(Box::new(WindowInfo {
        class: "vesktop".into(),
        title: "Discord | #general".into(),
        pid: Some(4242),
        matched_by: Some(MatchedBy::Pid),
    }));
    let ok: Reply = Ok(Response::App(app));
    let line = reply_to_line(&ok);
    assert!(
        line.contains(r#""window":{"class":"vesktop","title":"Discord | #general","pid":4242,"matched_by":"pid"}"#),
        "{line}"
    );
    assert_eq!(reply_from_line(&line).unwrap(), ok);
    // Other apps' replies do not mention a window at all.
    assert!(!reply_to_line(&Ok(Response::App(sample_app()))).contains("window"));
    let e = Error::new(ErrorKind::NoCompositor, "x");
    assert!(reply_to_line(&Err(e)).contains(r#""error":"no_compositor""#));
}

#[test]
fn replies_round_trip_and_are_flat() {
    let ok: Reply = Ok(Response::App(sample_app()));
    let line = reply_to_line(&ok);
    assert!(line.starts_with(r#"{"ok":true,"#), "{line}");
    assert!(line.contains(r#""app":"vesktop""#), "{line}");
    assert!(line.contains(r#""volume":45.0"#), "{line}");
    assert_eq!(reply_from_line(&line).unwrap(), ok);

    let err: Reply = Err(Error::new(ErrorKind::UnknownApp, "unknown app \"x\""));
    let line = reply_to_line(&err);
    assert_eq!(
        line,
        r#"{"ok":false,"error":"unknown_app","message":"unknown app \"x\""}"#
    );
    assert_eq!(reply_from_line(&line).unwrap(), err);

    let stats = Stats {
        connected: true,
        nodes: 3,
        requests: 10,
        set_params: 4,
        waiting: 0,
        rate_limit: Some(60),
    };
    for r in [
        Ok(Response::Apps(vec![sample_app()])),
        Ok(Response::Subscribed),
        Ok(Response::Stats(stats)),
        Ok(Response::Forgotten(vec!["youtube".into()])),
        Ok(Response::Forgotten(Vec::new())),
    ] {
        assert_eq!(reply_from_line(&reply_to_line(&r)).unwrap(), r);
    }
}

#[test]
fn events_are_tagged() {
    let line = Event::App(sample_app()).to_line();
    assert!(
        line.starts_with(r#"{"event":"app","app":"vesktop""#),
        "{line}"
    );
    let line = Event::Pipewire { connected: false }.to_line();
    assert_eq!(line, r#"{"event":"pipewire","connected":false}"#);
}

#[test]
fn waybar_lines() {
    let mut s = sample_app();
    let w = WaybarLine::from_state(&s);
    assert_eq!(w.text, "45%");
    assert_eq!(w.class, "unmuted");
    assert_eq!(w.percentage, 45);
    assert_eq!(w.tooltip, "Discord: 45% (1 stream)");
    assert_eq!(w.alt, "unmuted");
    s.muted = true;
    let w = WaybarLine::from_state(&s);
    assert_eq!((w.class.as_str(), w.alt.as_str()), ("muted", "muted"));
    s.volume = None;
    s.streams.clear();
    let w = WaybarLine::from_state(&s);
    assert_eq!((w.class.as_str(), w.percentage), ("inactive", 0));
    assert_eq!(w.alt, "inactive");
    let json: serde_json::Value = serde_json::from_str(&w.to_line()).unwrap();
    for key in ["text", "tooltip", "class", "alt", "percentage"] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

#[test]
fn socket_paths_must_fit_a_socket_address() {
    let ok = format!("/{}", "a".repeat(MAX_SOCKET_PATH - 1));
    assert_eq!(check_socket_path(std::path::Path::new(&ok)), Ok(()));
    let long = format!("/{}", "a".repeat(MAX_SOCKET_PATH));
    let e = check_socket_path(std::path::Path::new(&long)).unwrap_err();
    assert!(e.to_string().contains("too long (108 bytes"), "{e}");
}

#[test]
fn forget_takes_an_optional_app_and_nothing_else() {
    assert_eq!(
        Request::parse(r#"{"action":"forget"}"#),
        Ok(Request::Forget { app: None })
    );
    assert_eq!(
        Request::parse(r#"{"action":"forget","app":"youtube"}"#),
        Ok(Request::Forget {
            app: Some("youtube".into())
        })
    );
    for bad in [
        r#"{"action":"forget","app":""}"#,
        r#"{"action":"forget","app":null}"#,
        r#"{"action":"forget","amount":1}"#,
        r#"{"action":"forget","state":"on"}"#,
    ] {
        let e = Request::parse(bad).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest, "{bad}: {e}");
    }
    let line = reply_to_line(&Ok(Response::Forgotten(vec!["youtube".into()])));
    assert_eq!(line, r#"{"ok":true,"forgotten":["youtube"]}"#);
}

#[test]
fn error_kind_names_are_the_wire_names() {
    use ErrorKind::*;
    // Every variant (ErrorKind::as_str's match is exhaustive; add new ones here too).
    for k in [
        BadRequest,
        UnknownAction,
        UnknownApp,
        BadAmount,
        LineTooLong,
        NoStreams,
        StreamVanished,
        Timeout,
        NotResponding,
        PipewireUnavailable,
        NoCompositor,
        NoFocus,
        Busy,
        Internal,
    ] {
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str(), "{k:?}");
        assert_eq!(k.to_string(), k.as_str());
    }
}
