//! The state file: format, bad files, atomic replacement.

use super::*;
use crate::volume::{linear_from_percent, Volume};
use std::ffi::OsString;

fn sample() -> Memory {
    let mut m = Memory::default();
    let v = |p: &[f64], mute| Volume {
        channels: p.iter().map(|&x| linear_from_percent(x)).collect(),
        mute,
    };
    m.record("youtube", Remembered::of(&v(&[42.0, 21.0], false)));
    m.record("vesktop", Remembered::of(&v(&[80.0, 80.0], true)));
    m
}

fn p() -> &'static Path {
    Path::new("/state/volumes.json")
}

#[test]
fn round_trips() {
    let m = sample();
    let text = render(&m);
    assert!(text.contains("\"version\": 1"), "{text}");
    assert_eq!(parse(&text, p()).unwrap(), m);
    assert_eq!(
        parse(r#"{"version":1,"apps":{}}"#, p()).unwrap(),
        Memory::default()
    );
}

#[test]
fn every_truncation_is_refused() {
    // What a non-atomic write cut short would leave: never taken for a smaller memory.
    let text = render(&sample());
    let trimmed = text.trim_end();
    for n in 0..trimmed.len() {
        assert!(
            parse(&trimmed[..n], p()).is_err(),
            "accepted {:?}",
            &trimmed[..n]
        );
    }
}

#[test]
fn bad_files_name_the_file_and_the_reason() {
    let cases = [
        (r#"{"version":2,"apps":{}}"#, "version 2 is newer"),
        (r#"{"version":2,"whatever":[1,2]}"#, "version 2 is newer"),
        (r#"{"apps":{}}"#, "missing field `version`"),
        (r#"{"version":1,"apps":{},"x":1}"#, "unknown field `x`"),
        (r#"[1, {}]"#, "not a JSON object"),
        (r#"{"version":1,"apps":[]}"#, "invalid type"),
        (
            r#"{"version":1,"apps":{"a":{"volume":400,"ratios":[1],"muted":false}}}"#,
            "volume must be from 0 to 300",
        ),
        (
            r#"{"version":1,"apps":{"a":{"volume":40,"ratios":[],"muted":false}}}"#,
            "1 to 64 channels",
        ),
        (
            r#"{"version":1,"apps":{"a":{"volume":40,"ratios":[1.5],"muted":false}}}"#,
            "ratio must be from 0 to 1",
        ),
        (
            r#"{"version":1,"apps":{"@sink":{"volume":40,"ratios":[1],"muted":false}}}"#,
            "app name",
        ),
    ];
    for (text, want) in cases {
        let e = parse(text, p()).unwrap_err().to_string();
        assert!(e.starts_with("/state/volumes.json"), "{e}");
        assert!(e.contains(want), "{text}: {e}");
    }
}

#[test]
fn state_dir_prefers_systemd_then_xdg_then_home() {
    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }
    let all = [
        ("STATE_DIRECTORY", "/sd/audio-daemon:/sd/other"),
        ("XDG_STATE_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ];
    assert_eq!(state_dir_from(env(&all)), Some("/sd/audio-daemon".into()));
    assert_eq!(
        state_dir_from(env(&all[1..])),
        Some("/xdg/audio-daemon".into())
    );
    assert_eq!(
        state_dir_from(env(&all[2..])),
        Some("/home/u/.local/state/audio-daemon".into())
    );
    // Relative values are invalid by the basedir spec and ignored.
    let rel = [("XDG_STATE_HOME", "state"), ("HOME", "/h")];
    assert_eq!(
        state_dir_from(env(&rel)),
        Some("/h/.local/state/audio-daemon".into())
    );
    assert_eq!(state_dir_from(env(&[])), None);
}

#[test]
fn writes_replace_the_file_and_leave_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("nested/audio-daemon");
    write_atomic(&sub, &sample()).unwrap();
    write_atomic(&sub, &Memory::default()).unwrap();
    assert_eq!(load(&sub.join(FILE_NAME)).unwrap(), Some(Memory::default()));
    let names: Vec<_> = std::fs::read_dir(&sub)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [FILE_NAME]);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sub), 0o700);
    assert_eq!(mode(&sub.join(FILE_NAME)), 0o600);
}

#[test]
fn open_moves_a_bad_file_aside_and_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join(FILE_NAME), "{\"version\":1,\"apps\":{\"you").unwrap();
    std::fs::write(d.join(format!("{TEMP_PREFIX}abc123")), "half").unwrap();
    assert_eq!(open(d), Memory::default());
    assert!(!d.join(FILE_NAME).exists());
    assert_eq!(
        std::fs::read_to_string(d.join(BAD_NAME)).unwrap(),
        "{\"version\":1,\"apps\":{\"you"
    );
    assert!(!d.join(format!("{TEMP_PREFIX}abc123")).exists());
    // A good file is read, a missing one is empty memory.
    write_atomic(d, &sample()).unwrap();
    assert_eq!(open(d), sample());
    std::fs::remove_file(d.join(FILE_NAME)).unwrap();
    assert_eq!(open(d), Memory::default());
}

#[test]
fn a_directory_or_a_huge_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::create_dir(&path).unwrap();
    assert!(matches!(load(&path), Err(StateFileError::NotAFile { .. })));
    std::fs::remove_dir(&path).unwrap();
    std::fs::write(&path, vec![b' '; MAX_STATE_BYTES as usize + 1]).unwrap();
    assert!(matches!(load(&path), Err(StateFileError::TooLarge { .. })));
    std::fs::write(&path, [0xff, 0xfe]).unwrap();
    assert!(matches!(load(&path), Err(StateFileError::NotUtf8 { .. })));
}
