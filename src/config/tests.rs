//! Config parsing and loading.
use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/cfg.json"))
}

#[test]
fn empty_config_has_builtin_apps() {
    let c = parse("{}").unwrap();
    let names: Vec<&str> = c.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["music", "twitch", "vesktop", "youtube"]);
    assert_eq!(c.step, DEFAULT_STEP);
    assert_eq!(c.waybar_signal, Some(8));
    assert_eq!(c, Config::default());
}

#[test]
fn user_apps_override_and_extend() {
    let c = parse(
        r#"{
          "step": 2, "max_volume": 120, "waybar_signal": null,
          "apps": {
            "vesktop": { "match": [ { "application.name": "Vesktop" } ], "max_volume": 150 },
            "mpv": { "match": [ { "application.process.binary": "mpv" } ], "step": 10, "label": "Video" }
          }
        }"#,
    )
    .unwrap();
    assert_eq!(c.waybar_signal, None);
    let (_, v) = c.app("vesktop").unwrap();
    assert_eq!((v.max_volume, v.step, v.rules.len()), (150.0, 2.0, 1));
    let (_, m) = c.app("mpv").unwrap();
    assert_eq!(
        (m.max_volume, m.step, m.label.as_str()),
        (120.0, 10.0, "Video")
    );
    assert_eq!(c.app("youtube").unwrap().1.max_volume, 120.0);
}

#[test]
fn builtins_can_be_dropped() {
    let c = parse(r#"{"builtin_apps": false}"#).unwrap();
    assert!(c.apps.is_empty());
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn errors_name_file_line_and_column() {
    let e = err("{\n  \"step\": 0\n}");
    assert!(e.starts_with("/cfg.json:2:"), "{e}");
    assert!(e.contains("step"), "{e}");
    let e = err("{\n \"stepp\": 3 }");
    assert!(
        e.starts_with("/cfg.json:2:") && e.contains("unknown field"),
        "{e}"
    );
    let e = err("{ \"apps\": { \"@x\": { \"match\": [ {\"a\":\"b\"} ] } } }");
    assert!(e.contains("reserved"), "{e}");
    let e = err("{ \"apps\": { \"x\": { \"match\": [ {} ] } } }");
    assert!(e.contains("empty rule"), "{e}");
    let e = err("{ \"max_volume\": 1000 }");
    assert!(e.contains("max_volume"), "{e}");
    let e = err("{ \"waybar_signal\": 200 }");
    assert!(e.contains("waybar_signal"), "{e}");
    let e = err("{ \"step\": 5,");
    assert!(e.starts_with("/cfg.json:1:"), "{e}");
}

#[test]
fn only_regular_files_of_bounded_size_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.json");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Returns at once (a FIFO without writer would block a plain read forever).
    let e = Config::load(&fifo, true).unwrap_err().to_string();
    assert!(e.contains("FIFO"), "{e}");
    let e = Config::load(Path::new("/dev/zero"), true).unwrap_err();
    assert!(
        matches!(e, ConfigError::NotAFile { kind: "device", .. }),
        "{e}"
    );
    let e = Config::load(dir.path(), true).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::NotAFile {
                kind: "directory",
                ..
            }
        ),
        "{e}"
    );
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; MAX_CONFIG_BYTES as usize + 1]).unwrap();
    let e = Config::load(&big, true).unwrap_err();
    assert!(matches!(e, ConfigError::TooLarge { .. }), "{e}");
    // Exactly at the cap is read (and then parsed: all spaces is not JSON).
    std::fs::write(&big, vec![b' '; MAX_CONFIG_BYTES as usize]).unwrap();
    assert!(matches!(
        Config::load(&big, true),
        Err(ConfigError::Parse { .. })
    ));
    // A symlink to a regular file is how home-manager installs it.
    let real = dir.path().join("real.json");
    std::fs::write(&real, "{}").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(Config::load(&link, true).unwrap(), Config::default());
}

#[test]
fn missing_default_file_means_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.json");
    assert_eq!(Config::load(&p, false).unwrap(), Config::default());
    assert!(matches!(
        Config::load(&p, true),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn remember_defaults_on_per_app_overrides_and_write_delay_is_checked() {
    let c = parse("{}").unwrap();
    assert!(c
        .apps
        .iter()
        .all(|a| a.remember && !a.remember_other_mixers));
    assert_eq!(
        c.state_write_delay,
        std::time::Duration::from_millis(DEFAULT_WRITE_DELAY_MS)
    );
    let c = parse(
        r#"{"remember": false, "remember_other_mixers": true, "state_write_delay_ms": 0,
            "apps": {"mpv": {"match": [{"application.name": "mpv"}], "remember": true,
                             "remember_other_mixers": false}}}"#,
    )
    .unwrap();
    let (_, mpv) = c.app("mpv").unwrap();
    assert!(mpv.remember && !mpv.remember_other_mixers);
    let (_, yt) = c.app("youtube").unwrap();
    assert!(!yt.remember && yt.remember_other_mixers);
    assert_eq!(c.state_write_delay, std::time::Duration::ZERO);
    for bad in [
        r#"{"state_write_delay_ms": -1}"#,
        r#"{"state_write_delay_ms": 60001}"#,
        r#"{"remember": "yes"}"#,
    ] {
        assert!(
            matches!(parse(bad), Err(ConfigError::Parse { .. })),
            "{bad}"
        );
    }
}

#[test]
fn keys_become_requests_with_holds() {
    let c = parse(
        r#"{ "keys": {
              "vesktop-up": { "app": "vesktop", "action": "up", "amount": 2 },
              "focused-down": { "app": "@focused", "action": "down", "hold": "once" },
              "sink-mute": { "app": "@sink", "action": "mute" }
            },
            "ramp": { "rate": 50, "update_hz": 60 } }"#,
    )
    .unwrap();
    use crate::protocol::{MuteState, Request};
    use keys::Hold;
    let k = |id: &str| c.keys.iter().find(|(k, _)| k.as_str() == id).unwrap().1;
    assert_eq!(
        k("vesktop-up").request,
        Request::Up {
            app: "vesktop".into(),
            amount: Some(2.0)
        }
    );
    assert_eq!(k("vesktop-up").hold, Hold::Ramp);
    assert_eq!(k("focused-down").hold, Hold::Once);
    assert_eq!(
        k("sink-mute").request,
        Request::Mute {
            app: "@sink".into(),
            state: MuteState::Toggle
        }
    );
    assert_eq!(
        (c.ramp.rate, c.ramp.update_hz, c.ramp.delay_ms),
        (50.0, 60, 250)
    );
}

#[test]
fn bad_keys_are_refused_with_the_key_named() {
    for (text, needle) in [
        (
            r#"{"keys":{"Up":{"app":"vesktop","action":"up"}}}"#,
            "key id \"Up\"",
        ),
        (
            r#"{"keys":{"a:b":{"app":"vesktop","action":"up"}}}"#,
            "key id",
        ),
        (
            r#"{"keys":{"x":{"app":"nope","action":"up"}}}"#,
            "keys.x: unknown app \"nope\"",
        ),
        (
            r#"{"keys":{"x":{"app":"vesktop","action":"get"}}}"#,
            "keys.x: action must be",
        ),
        (
            r#"{"keys":{"x":{"app":"vesktop","action":"up","amount":0}}}"#,
            "keys.x: amount",
        ),
        (
            r#"{"keys":{"x":{"app":"vesktop","action":"mute","hold":"ramp"}}}"#,
            "keys.x: hold",
        ),
        (
            r#"{"keys":{"x":{"app":"vesktop","action":"set"}}}"#,
            "keys.x: action \"set\" needs",
        ),
        (
            r#"{"keys":{"x":{"app":"vesktop","action":"up","extra":1}}}"#,
            "unknown field",
        ),
        (r#"{"ramp":{"rate":0}}"#, "ramp.rate"),
        (r#"{"ramp":{"update_hz":0}}"#, "ramp.update_hz"),
        (r#"{"ramp":{"delay_ms":9000}}"#, "ramp.delay_ms"),
    ] {
        let e = parse(text).unwrap_err().to_string();
        assert!(e.contains(needle), "{text}: {e}");
        assert!(e.starts_with("/cfg.json"), "{e}");
    }
}
